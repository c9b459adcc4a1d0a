#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, one after the other, then adds
# to its committed corpus the inputs that found new coverage:
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     (default 60 s per target)
#
# SECONDS=0 only merges the working corpora into the committed ones.
#
# Targets: those of lang/fuzz (the language) and stdlib/fuzz (the document
# parsers and the evaluator); `cargo fuzz list` in lang/ or stdlib/ names
# them. See docs/fuzzing.md.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz uses nightly
# compiler flags; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
#
# Environment:
#   FUZZ_SANITIZER  cargo-fuzz sanitizer (default none: the crates forbid
#                   unsafe code, so AddressSanitizer finds nothing more, at a
#                   third of the speed)
#   FUZZ_TIMEOUT    seconds one input may take before it is a failure
#                   (default 10: super-linear parsing is a bug)
#   FUZZ_RSS_MB     memory limit in MB (default 2048)
#   FUZZ_JOBS       parallel fuzzing jobs per target (default 1)
#   FUZZ_MERGE      0 to leave the committed corpora alone (default 1)
#
# Builds are release builds with debug assertions (arithmetic overflow
# panics, as in the tests). The fuzzer's working corpus is
# <crate>/fuzz/target/corpus/<target> (ignored by git); the committed seeds
# are <crate>/fuzz/corpus/<target>. After a run, inputs of the working
# corpus that cover what the seeds do not are added to them (see merge
# below); the hand-written seeds are kept. A crash is written to
# <crate>/fuzz/artifacts/<target>/; reproduce it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -a <target> fuzz/artifacts/<target>/<file>
# from lang/ or stdlib/, fix it, and add the input to
# lang/tests/fuzz_regressions.rs or stdlib/tests/fuzz_regressions.rs.
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-none}"
# A committed corpus stays small: inputs up to 4 KiB, at most this many files.
max_files=200
secret_like='AKIA[0-9A-Z]{16}|BEGIN [A-Z ]*PRIVATE KEY|ghp_[A-Za-z0-9]{36}|xox[bp]-|sk_live_|eyJ[A-Za-z0-9_-]{10,}\.eyJ'

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
  exit 2
fi

# crate dir and target, one per line: "lang parse_check"
plan=()
for crate in lang stdlib; do
  while read -r t; do
    [ -n "$t" ] && plan+=("$crate $t")
  done < <(cd "$root/$crate" && cargo fuzz list)
done
if [ "$#" -gt 0 ]; then
  wanted=("$@")
  selected=()
  for want in "${wanted[@]}"; do
    found=0
    for entry in "${plan[@]}"; do
      if [ "${entry#* }" = "$want" ]; then
        selected+=("$entry")
        found=1
      fi
    done
    [ "$found" = 1 ] || { echo "no fuzz target $want" >&2; exit 2; }
  done
  plan=("${selected[@]}")
fi

# Adds to the committed corpus the inputs of the working corpus that cover
# what it does not, as few as libFuzzer's -set_cover_merge finds (edges
# only, not hit counts), at most $max_files files in all, smallest first.
merge() {
  local crate="$1" target="$2" seeds="$3" work="$4"
  local staging="$root/$crate/fuzz/target/merge/$target"
  rm -rf "$staging"
  mkdir -p "$staging"
  cp -rp "$seeds"/. "$staging"/
  if ! (cd "$root/$crate" && cargo fuzz run -s "$sanitizer" -a "$target" "$staging" "$work" -- \
      -set_cover_merge=1 -use_counters=0 -max_len=4096 -timeout="${FUZZ_TIMEOUT:-10}" \
      -rss_limit_mb="${FUZZ_RSS_MB:-2048}") >"$root/$crate/fuzz/target/$target.merge.log" 2>&1; then
    echo "=== $crate/$target: merge failed (see $root/$crate/fuzz/target/$target.merge.log)"
    return
  fi
  local room=$((max_files - $(find "$seeds" -type f | wc -l)))
  local new=0 added=0 f
  while read -r f; do
    [ -e "$seeds/$(basename "$f")" ] && continue
    # Nothing a secret scanner would flag is committed (the fixtures hold
    # fake keys).
    grep -qaE "$secret_like" "$f" && continue
    new=$((new + 1))
    if [ "$added" -lt "$room" ]; then
      cp "$f" "$seeds/"
      added=$((added + 1))
    fi
  done < <(find "$staging" -type f -printf '%s %p\n' | sort -n | cut -d' ' -f2-)
  echo "=== $crate/$target: $new inputs add coverage, $added added to $seeds"
}

status=0
summary=()
for entry in "${plan[@]}"; do
  crate="${entry% *}"
  target="${entry#* }"
  fuzz_dir="$root/$crate/fuzz"
  seeds="$fuzz_dir/corpus/$target"
  work="$fuzz_dir/target/corpus/$target"
  mkdir -p "$seeds" "$work" "$fuzz_dir/artifacts/$target"
  dict=()
  [ -f "$fuzz_dir/$target.dict" ] && dict=(-dict="$fuzz_dir/$target.dict")
  [ "$crate" = lang ] && [ -f "$fuzz_dir/mlpol.dict" ] && dict=(-dict="$fuzz_dir/mlpol.dict")
  if [ "$seconds" = 0 ]; then
    merge "$crate" "$target" "$seeds" "$work"
    continue
  fi
  echo "=== $crate/$target: ${seconds}s"
  log="$fuzz_dir/target/$target.log"
  jobs=()
  [ "${FUZZ_JOBS:-1}" -gt 1 ] && jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
  set +e
  (cd "$root/$crate" && cargo fuzz run -s "$sanitizer" -a "$target" "$work" "$seeds" -- \
      -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
      -max_len=4096 -print_final_stats=1 "${jobs[@]}" "${dict[@]}") >"$log" 2>&1
  rc=$?
  set -e
  grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units|==[0-9]+== ERROR|SUMMARY|thread .* panicked|Test unit written|error(\[|:))" "$log" || true
  if [ "$rc" != 0 ]; then
    echo "=== $crate/$target: FAILED with status $rc (see $fuzz_dir/artifacts/$target and $log)"
    status=1
    summary+=("$crate/$target: FAILED")
    continue
  fi
  execs="$(grep -oE "stat::number_of_executed_units: [0-9]+" "$log" | tail -1 | grep -oE "[0-9]+$" || echo "?")"
  if [ "${FUZZ_MERGE:-1}" = 1 ]; then
    merge "$crate" "$target" "$seeds" "$work"
  fi
  files="$(find "$seeds" -type f | wc -l)"
  summary+=("$crate/$target: ok, ${seconds}s, $execs executions, corpus $files files")
done
echo
printf '%s\n' "${summary[@]}"
exit "$status"
