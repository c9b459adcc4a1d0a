#!/usr/bin/env bash
# Every benchmark of docs/performance.md, one after the other, in one run
# (so their figures share the machine's load). Environment variables are
# passed through to each script (RUNS, KEEP, PEERS, …).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
echo "## load: $(uptime)"
echo "## secret scanner"; bash "$ROOT/tests/bench/secrets.sh"
echo "## monorepo: full offline checklist, peers, watch mode"; bash "$ROOT/tests/bench/monorepo.sh"
echo "## evaluation throughput against regorus"
if command -v regorus > /dev/null || [ -x /tmp/regorus-inst/bin/regorus ]; then
  LARGE=${LARGE:-20000} bash "$ROOT/tests/bench/regorus.sh"
else
  echo "regorus not installed: cargo install regorus --example regorus --locked --root /tmp/regorus-inst"
fi
echo "## language server latency"; (cd "$ROOT" && cargo bench -p mlpol-lsp --bench latency)
echo "## parse and check"; (cd "$ROOT" && cargo bench -p mlpol-lang --bench parse_check)
echo "## load: $(uptime)"
