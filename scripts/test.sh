#!/usr/bin/env bash
# The test command: bootstraps what it needs, then lint, typecheck, schema freshness and
# every test (unit and integration on real servers). Fails if a lab process is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] lint";      pnpm -s lint
echo "[test] typecheck"; pnpm -s typecheck
echo "[test] vitest"
status=0
# Tag this run's labs (/tmp/marina-lab-<run>-*) so only their processes are checked.
export MARINA_LAB_RUN="t$(date +%s)$$"
results=$(mktemp /tmp/marina-vitest-XXXXXX.json)
pnpm -s exec vitest run --reporter=default --reporter=json --outputFile="$results" "$@" || status=$?
leftover=$(pgrep -af "marina-lab-$MARINA_LAB_RUN-" | grep -v pgrep || true)
if [[ -n $leftover ]]; then
  echo "[test] error: processes started by the lab are still running:" >&2
  echo "$leftover" >&2
  status=1
fi
# One plain closing line: "vitest: N passed, N failed[, N skipped]".
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" 2>/dev/null || echo "vitest: no results (the run did not complete)"
rm -f "$results"
exit $status
