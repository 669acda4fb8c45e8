#!/usr/bin/env bash
# The sandbox demo: installs what is missing, builds, then runs Marina on a local cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node packages/sandbox/dist/sandbox.js "$@"
