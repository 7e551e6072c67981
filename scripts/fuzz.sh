#!/usr/bin/env bash
# Runs the libFuzzer targets (Fuzz/README.md) for a set time each, starting from the
# committed seed corpus, and prints execs and coverage per target. A crash leaves its
# input in .build/fuzz-findings/<target>/ and fails the run; add it to
# Fuzz/Regressions/<target>/ once fixed.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    (default 30 s, every target)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH

seconds=${1:-30}
shift || true
# A fuzz build: libFuzzer (coverage feedback) plus AddressSanitizer, kept apart from the
# normal build. SWIFTRBD_FUZZ=1 adds the driver target to the package.
echo "fuzz: building swiftrbd-fuzz (-sanitize=fuzzer,address, release)"
build_log=$(mktemp)
# Swift 6.3's -O pipeline drops the coverage that -sanitize=fuzzer implies (at -Onone
# the same file gets its counters): without the explicit -sanitize-coverage below the
# Swift modules' objects carried no counters, libFuzzer saw coverage from the C modules
# only and mutated the Swift decoders' inputs blind.
if ! SWIFTRBD_FUZZ=1 swift build -c release --sanitize=fuzzer --sanitize=address \
  -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
  --scratch-path .build/fuzz --product swiftrbd-fuzz >"$build_log" 2>&1; then
  grep -E "error:" "$build_log" | head -20 >&2
  echo "fuzz: the fuzz build failed (log: $build_log)" >&2
  exit 1
fi
rm -f "$build_log"
binary=.build/fuzz/release/swiftrbd-fuzz
[ -x "$binary" ] || { echo "fuzz: the build made no $binary" >&2; exit 1; }

if [ $# -gt 0 ]; then targets=("$@"); else
  targets=(frame-crc frame-secure osd-op-reply osd-map-message mon-map auth-reply osd-map crush-map conf-file keyring image-spec qcow2)
fi
summary=()
failed=0
for target in "${targets[@]}"; do
  seeds=Fuzz/Corpus/$target
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; exit 1; }
  work=.build/fuzz-corpus/$target findings=.build/fuzz-findings/$target
  mkdir -p "$work" "$findings"
  log=$(mktemp)
  set +e
  # -rss_limit_mb: memory must stay bounded; -timeout: one input may not take 10 s.
  SWIFTRBD_FUZZ_TARGET=$target "$binary" "$work" "$seeds" -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1
  status=$?
  set -e
  # (A log without these lines, say a target that found no coverage, must not end the
  # script: under pipefail a grep that matches nothing fails.)
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1 || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
  corpus=$(find "$work" -type f | wc -l)
  line=$(printf '%-16s %6ss %10s execs  cov %6s  corpus %5s  %s' "$target" "$seconds" "${execs:-?}" "${cov:-?}" "$corpus" \
    "$([ $status -eq 0 ] && echo ok || echo "FAILED (exit $status)")")
  echo "fuzz: $line"
  summary+=("$line")
  if [ $status -ne 0 ]; then
    failed=1
    echo "fuzz: $target failed; its log:" >&2
    grep -E "ERROR|Fatal|SUMMARY|Test unit written|==[0-9]+==" "$log" | head -20 >&2
    ls "$findings" >&2
  fi
  rm -f "$log"
done
echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
exit $failed
