#!/usr/bin/env bash
# Evaluation throughput over a fixed fact snapshot: mlpol against regorus (a
# Rust Rego interpreter) running an equivalent Rego policy over the same
# data.
#
# What is compared: the checklist's `docker.compose.isolation` check (memory
# and CPU limits, read-only root file system, non-root user, not privileged,
# for every service of every compose file) and a Rego policy that reports
# the same violations. Both read the same services:
#   - mlpol: `mlpol eval --facts facts.json --only docker.compose.isolation`
#     over a snapshot taken once by `mlpol facts` (no file is read while
#     evaluating; the bundled checklist is still parsed and type-checked);
#   - regorus: `regorus eval -d isolation.rego -i input.json
#     data.bench.violations`, where input.json holds the parsed compose files.
# Each runs at two sizes (SMALL and LARGE services); the per-service cost is
# the difference of the two times divided by the difference in services,
# which takes process start-up, policy parsing and the fixed part of loading
# out of both. Both report the number of violations, which must agree.
#
# regorus: cargo install regorus --example regorus --locked --root /tmp/regorus-inst
# Environment: REGORUS (default /tmp/regorus-inst/bin/regorus, else on
# PATH), RUNS (default 5), SMALL (default 100), LARGE (default 5000), KEEP=1
# keeps the generated targets and snapshots.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-5}
SMALL=${SMALL:-100}
LARGE=${LARGE:-5000}
REGORUS=${REGORUS:-/tmp/regorus-inst/bin/regorus}
[ -x "$REGORUS" ] || REGORUS=$(command -v regorus || true)
[ -n "$REGORUS" ] || { echo "regorus not found: cargo install regorus --example regorus --locked" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlpol-regorus-bench.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; fi

(cd "$ROOT" && cargo build --release -q -p mlpol)
MLPOL=${CARGO_TARGET_DIR:-$ROOT/target}/release/mlpol

cat > "$WORK/isolation.rego" <<'EOF'
package bench

import rego.v1

root_users := {"root", "0", "0:0", "root:root"}

services contains [f.path, name, svc] if {
	some f in input.composes
	some name, svc in f.services
}

violations contains sprintf("%s: service `%s` has no memory limit", [path, name]) if {
	some [path, name, svc] in services
	not svc.mem_limit
	not svc.deploy.resources.limits.memory
}

violations contains sprintf("%s: service `%s` has no CPU limit", [path, name]) if {
	some [path, name, svc] in services
	not svc.cpus
	not svc.deploy.resources.limits.cpus
}

violations contains sprintf("%s: service `%s` does not use a read-only root file system", [path, name]) if {
	some [path, name, svc] in services
	not svc.read_only == true
}

violations contains sprintf("%s: service `%s` runs as root", [path, name]) if {
	some [path, name, svc] in services
	root_users[svc.user]
}

violations contains sprintf("%s: service `%s` is privileged", [path, name]) if {
	some [path, name, svc] in services
	svc.privileged == true
}
EOF

# A target with N services in compose files of 25 services each, and the
# same services as regorus input.
gen() {
  python3 - "$1" "$2" <<'PY'
import json, os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(root, exist_ok=True)
composes = []
for f in range((n + 24) // 25):
    services = {}
    for j in range(min(25, n - f * 25)):
        i = f * 25 + j
        svc = {"image": f"registry.example.com/ml/s{i}:1.{i % 10}", "read_only": i % 3 != 0}
        if i % 2:
            svc["deploy"] = {"resources": {"limits": {"memory": "2g", "cpus": "1.0"}}}
        elif i % 5:
            svc["mem_limit"] = "1g"
        if i % 7 == 0:
            svc["user"] = "root"
        elif i % 4:
            svc["user"] = "10001"
        if i % 11 == 0:
            svc["privileged"] = True
        services[f"s{i}"] = svc
    rel = f"stack{f:04d}/docker-compose.yml"
    os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
    with open(os.path.join(root, rel), "w") as out:
        json.dump({"services": services}, out, indent=2)  # JSON is YAML
    composes.append({"path": rel, "services": services})
with open(os.path.join(root, "..", os.path.basename(root) + ".input.json"), "w") as out:
    json.dump({"composes": composes}, out)
PY
}

median() { python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

declare -A T V
for n in "$SMALL" "$LARGE"; do
  dir=$WORK/t$n
  gen "$dir" "$n"
  "$MLPOL" facts "$dir" --offline --only docker.compose.isolation --out "$WORK/facts$n.json" > /dev/null 2>&1
  m=$( "$MLPOL" eval "$dir" --facts "$WORK/facts$n.json" --only docker.compose.isolation --format json 2> /dev/null \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(len(c.get("findings", [])) for c in r["checks"]))' ) || true
  r=$( "$REGORUS" eval -d "$WORK/isolation.rego" -i "$dir.input.json" data.bench.violations \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); v=r["result"][0]["expressions"][0]["value"]; print(len(v))' ) || true
  V[mlpol$n]=$m; V[regorus$n]=$r
  for tool in mlpol regorus; do
    ts=()
    for _ in $(seq "$RUNS"); do
      if [ $tool = mlpol ]; then
        /usr/bin/time -f '%e %U %S %M' -o "$WORK/t" "$MLPOL" eval "$dir" --facts "$WORK/facts$n.json" \
          --only docker.compose.isolation --format json > /dev/null 2>&1 || true
      else
        /usr/bin/time -f '%e %U %S %M' -o "$WORK/t" "$REGORUS" eval -d "$WORK/isolation.rego" \
          -i "$dir.input.json" data.bench.violations > /dev/null 2>&1 || true
      fi
      ts+=("$(tail -1 "$WORK/t")")
    done
    T[$tool$n]=$(printf '%s\n' "${ts[@]}" | python3 -c '
import sys, statistics
t = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(statistics.median(x[0] for x in t), statistics.median(x[1] + x[2] for x in t), int(max(x[3] for x in t)))')
  done
done

echo "regorus: $("$REGORUS" --version 2>/dev/null || echo "(version: see Cargo install log)")"
printf '%-8s %9s %12s %9s %9s %10s\n' tool services violations "wall (s)" "CPU (s)" "peak RSS"
for tool in mlpol regorus; do
  for n in "$SMALL" "$LARGE"; do
    read -r w c m <<< "${T[$tool$n]}"
    printf '%-8s %9d %12s %9.3f %9.3f %7d MB\n' $tool "$n" "${V[$tool$n]}" "$w" "$c" $((m / 1024))
  done
done
python3 - "${T[mlpol$SMALL]}" "${T[mlpol$LARGE]}" "${T[regorus$SMALL]}" "${T[regorus$LARGE]}" "$SMALL" "$LARGE" <<'PY'
import sys
ms, ml, rs, rl = (list(map(float, a.split())) for a in sys.argv[1:5])
small, large = int(sys.argv[5]), int(sys.argv[6])
d = large - small
for label, i in (("wall", 0), ("CPU", 1)):
    m = (ml[i] - ms[i]) / d * 1e6
    r = (rl[i] - rs[i]) / d * 1e6
    print(f"per service ({label}): mlpol {m:.1f} µs, regorus {r:.1f} µs -> mlpol {r / m if m > 0 else float('nan'):.2f}x regorus' throughput")
PY
echo "(cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg); median of $RUNS runs)"
