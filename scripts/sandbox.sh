#!/usr/bin/env bash
# The sandbox demo: installs what is missing, builds, then runs Marina on a local cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ " $* " != *" --containers "* ]]; then
  bash scripts/setup.sh
  exec node packages/sandbox/dist/sandbox.js "$@"
fi
# --containers: a container engine first (Docker, or Podman set up here; see
# scripts/containers-env.sh), stopped again once the sandbox has removed its containers.
bash scripts/setup.sh --containers
# shellcheck source=scripts/containers-env.sh
source scripts/containers-env.sh
trap marina_containers_stop EXIT
marina_containers_setup
node packages/sandbox/dist/sandbox.js "$@"
