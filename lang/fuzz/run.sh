#!/usr/bin/env bash
# Runs the language's fuzz targets (all, or those named) for N seconds each
# (default 30) through tests/fuzz/run.sh, which runs every target of the
# project and documents the settings (see docs/fuzzing.md):
#   lang/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
seconds="${1:-30}"
shift || true
if [ "$#" -eq 0 ]; then
  mapfile -t targets < <(cd "$fuzz_dir/.." && RUSTC_BOOTSTRAP=1 cargo fuzz list)
  set -- "${targets[@]}"
fi
exec "$fuzz_dir/../../tests/fuzz/run.sh" "$seconds" "$@"
