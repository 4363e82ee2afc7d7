#!/usr/bin/env bash
# Fuzzes the agent link decoder (proto/v1) with libFuzzer + ASan + UBSan.
#   tests/fuzz/run.sh [SECONDS]      default 20; a long run: tests/fuzz/run.sh 3600
# Configures and builds the `fuzz` preset (clang, build/fuzz), replays the seed corpus
# (tests/fuzz/corpus/proto_decode), then fuzzes SECONDS into a temporary copy of it, so the
# checked-in corpus only changes by hand. Exits non-zero on any crash, timeout, OOM or sanitizer
# report; the offending input is kept under build/fuzz/artifacts/ (add it to the corpus once
# the bug is fixed). Set FUZZ_KEEP_CORPUS=DIR to keep the grown corpus in DIR.
set -euo pipefail

secs=${1:-20}
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$root/build/fuzz
fuzzer=$build/bin/proto_decode_fuzz
seeds=$root/tests/fuzz/corpus/proto_decode
artifacts=$build/artifacts/proto_decode
jobs=${FUZZ_BUILD_JOBS:-2}

cd "$root"
log=$(mktemp -d "${TMPDIR:-/tmp}/zlh-fuzz.XXXXXX")
trap 'rm -rf "$log"' EXIT

echo "== configure + build (preset fuzz, $build)"
if ! cmake --preset fuzz >"$log/configure.txt" 2>&1; then
  cat "$log/configure.txt" >&2
  exit 1
fi
cmake --build "$build" --target proto_decode_fuzz -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$artifacts"
common=(-timeout=5 -rss_limit_mb=2048 -artifact_prefix="$artifacts/")

# Some sanitizer reports do not change the exit status: look for them in the output too.
check_log() {
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$1"; then
    echo "FAIL: sanitizer or libFuzzer report in $2 (see above; inputs in $artifacts)" >&2
    return 1
  fi
}

echo "== replay $(find "$seeds" -type f | wc -l) seed inputs"
set +e
"$fuzzer" "${common[@]}" "$seeds"/* >"$log/replay.txt" 2>&1
rc=$?
set -e
if ((rc != 0)) || ! check_log "$log/replay.txt" replay; then
  cat "$log/replay.txt" >&2
  echo "FAIL: corpus replay exited $rc" >&2
  exit 1
fi

echo "== fuzz ${secs}s"
work=$log/corpus
mkdir -p "$work"
cp "$seeds"/* "$work"/
set +e
"$fuzzer" "${common[@]}" -max_len=65536 -max_total_time="$secs" -print_final_stats=1 \
  -dict="$root/tests/fuzz/proto.dict" "$work" >"$log/fuzz.txt" 2>&1
rc=$?
set -e
if ((rc != 0)) || ! check_log "$log/fuzz.txt" fuzzing; then
  tail -n 80 "$log/fuzz.txt" >&2
  echo "FAIL: fuzzer exited $rc; crashing inputs: $artifacts" >&2
  exit 1
fi
grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+ *DONE' "$log/fuzz.txt" || true
if [[ -n "${FUZZ_KEEP_CORPUS:-}" ]]; then
  mkdir -p "$FUZZ_KEEP_CORPUS"
  cp "$work"/* "$FUZZ_KEEP_CORPUS"/
fi
echo "OK: no crash in ${secs}s ($(find "$work" -type f | wc -l) corpus inputs)"
