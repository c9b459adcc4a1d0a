#!/usr/bin/env bash
# Runs every fuzz target for N seconds each (default 30):
#   lang/fuzz/run.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz uses nightly
# features; RUSTC_BOOTSTRAP=1 enables them on a stable toolchain.
#
# The language forbids unsafe code, so AddressSanitizer (cargo-fuzz's
# default) finds nothing the plain build would not, at a third of the speed:
# the default here is no sanitizer (FUZZ_SANITIZER=address to have it). An
# input that runs longer than FUZZ_TIMEOUT seconds (default 10) is a
# failure: super-linear parsing is a bug.
#
# The seeds in corpus/<target>/ are read but never written: what the fuzzer
# finds goes to a working corpus under target/ (ignored by git). Crashes are
# written to artifacts/<target>/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none <target> fuzz/artifacts/<target>/<file>
# from lang/, then add the input to the regressions in lang/tests/hostile.rs.
set -euo pipefail

seconds="${1:-30}"
shift || true
fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir/.."
export RUSTC_BOOTSTRAP=1

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

status=0
for target in "${targets[@]}"; do
  work="$fuzz_dir/target/corpus/$target"
  mkdir -p "$work" "$fuzz_dir/artifacts/$target"
  echo "=== $target: ${seconds}s"
  if ! cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-none}" "$target" "$work" "$fuzz_dir/corpus/$target" -- \
      -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -dict="$fuzz_dir/mlpol.dict" \
      -print_final_stats=1; then
    echo "=== $target: FAILED (see $fuzz_dir/artifacts/$target)"
    status=1
  fi
done
exit "$status"
