#!/usr/bin/env bash
# pnpm bench <name> [args]: runs bench/src/<name>.ts, compiled to bench/dist/<name>.js.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-}
list() { ls bench/src/*.ts 2>/dev/null | xargs -rn1 basename | sed 's/\.ts$//' | sort | tr '\n' ' '; }
if [[ -z $name ]]; then echo "usage: pnpm bench <name>; available: $(list)" >&2; exit 2; fi
shift
if [[ ! -f bench/src/$name.ts ]]; then echo "no benchmark named '$name'; available: $(list)" >&2; exit 2; fi
bash scripts/setup.sh >/dev/null
MARINA_ROOT=$PWD exec node "bench/dist/$name.js" "$@"
