#!/usr/bin/env bash
# `pnpm test:containers`: the chosen end-to-end tests on the lab's containers backend
# (MARINA_LAB_BACKEND=containers) — the same test files the native run uses. With Docker
# it uses the official images; without, it sets up Podman and local images first
# (scripts/containers-env.sh). Fails if a lab container, network or process is left.
# Extra arguments go to vitest (e.g. a single file of the list, or -t NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --containers

# Replication shapes, faults on the servers, kill -9 failover with a writer (no
# acknowledged write lost), SIGSTOP failover and the fence on thaw (pause/unpause),
# switchover, rejoin; and the backend's own checks.
TESTS=(
  packages/lab/test/containers.int.test.ts
  packages/lab/test/shapes.int.test.ts
  packages/lab/test/primary-replicas.int.test.ts
  packages/sandbox/test/failover.int.test.ts
  packages/sandbox/test/failover-sigstop.int.test.ts
  packages/sandbox/test/fence-thaw.int.test.ts
  packages/sandbox/test/switchover.int.test.ts
  packages/sandbox/test/rejoin.int.test.ts
)

# shellcheck source=scripts/containers-env.sh
source scripts/containers-env.sh
trap marina_containers_stop EXIT
marina_containers_setup

export MARINA_LAB_RUN="c$(date +%s)$$"
files=("${TESTS[@]}")
if (($#)) && [[ $1 != -* ]]; then files=(); fi
status=0
start=$(date +%s)
# One file at a time: every file starts several containers on a 2-core machine.
pnpm -s exec vitest run --project integration --maxWorkers=1 "${files[@]}" "$@" || status=$?
echo "[test:containers] vitest took $(($(date +%s) - start)) s"

engine_cli=docker
[[ -n $MARINA_PODMAN_PID ]] && engine_cli=podman
left_containers=$($engine_cli ps -a --filter label=org.marina.lab --format '{{.Names}}' || true)
left_networks=$($engine_cli network ls --format '{{.Name}}' | grep '^marina-lab-' || true)
# The lab's own processes (a run's temp trees), and Podman's container monitors (conmon).
left_processes=$(pgrep -af "marina-lab-$MARINA_LAB_RUN-|conmon .*-n marina-lab-" | grep -v pgrep || true)
if [[ -n $left_containers$left_networks$left_processes ]]; then
  echo "[test:containers] error: left behind:" >&2
  [[ -n $left_containers ]] && echo "containers: $left_containers" >&2
  [[ -n $left_networks ]] && echo "networks: $left_networks" >&2
  [[ -n $left_processes ]] && echo "processes: $left_processes" >&2
  status=1
fi
exit $status
