#!/usr/bin/env bash
# pnpm bench <name> [args]: runs the benchmark compiled to */*/dist/bench/<name>.js.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-}
list() { ls packages/*/src/bench/*.ts services/*/src/bench/*.ts 2>/dev/null | xargs -rn1 basename | sed 's/\.ts$//' | sort -u | tr '\n' ' '; }
if [[ -z $name ]]; then echo "usage: pnpm bench <name>; available: $(list)" >&2; exit 2; fi
shift
bash scripts/setup.sh >/dev/null
file=$(ls packages/*/dist/bench/"$name".js services/*/dist/bench/"$name".js 2>/dev/null | head -n1 || true)
if [[ -z $file ]]; then echo "no benchmark named '$name'; available: $(list)" >&2; exit 2; fi
MARINA_ROOT=$PWD exec node "$file" "$@"
