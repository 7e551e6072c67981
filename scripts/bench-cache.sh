#!/usr/bin/env bash
# The image cache: SwiftRBD's `rbdctl bench` beside librbd's `rbd bench` with the same
# cache settings, on the same image, interleaved, with the ratios SwiftRBD / librbd.
#   CEPH_CONF=... scripts/bench-cache.sh
# Modes: none (rbd_cache=false), writearound (Pacific's default policy), writethrough
# and writeback (rbd_cache_policy), writethrough-until-flush off (rbd bench flushes
# before it starts anyway). Cases: 4 KiB random writes one at a time (the mean latency
# is 1/IOPS) and 4 KiB sequential writes 16 at a time (throughput). TOTAL_QD1 (default
# 8M) and TOTAL_SEQ (default 64M) set the bytes per run; ROUNDS (2) how often each pair
# runs; MODES picks modes. Each run ends with a flush (both tools flush before they
# stop the clock), so writeback numbers include writing the data back. Without
# CEPH_CONF it starts a throwaway cluster in .cluster-bench and stops it after.
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL_QD1=${TOTAL_QD1:-8M}
TOTAL_SEQ=${TOTAL_SEQ:-64M}
ROUNDS=${ROUNDS:-2}
MODES=${MODES:-none writearound writethrough writeback}
IMAGE=${IMAGE:-rbd/swiftrbd-cache-bench-$$}
FEATURES=${FEATURES:-layering,exclusive-lock,object-map,fast-diff,deep-flatten}

# shellcheck source=support/bench-cluster.sh
source scripts/support/bench-cluster.sh
swift build -c release --product rbdctl >/dev/null
RBDCTL="$(swift build -c release --show-bin-path)/rbdctl"

rbd create "$IMAGE" --size 1G --image-feature "$FEATURES"

options() { # MODE -> the cache options both tools get
  case "$1" in
    none) echo "--rbd_cache=false" ;;
    writearound) echo "--rbd_cache=true --rbd_cache_policy=writearound --rbd_cache_writethrough_until_flush=false" ;;
    writethrough) echo "--rbd_cache=true --rbd_cache_policy=writethrough" ;;
    writeback) echo "--rbd_cache=true --rbd_cache_policy=writeback --rbd_cache_writethrough_until_flush=false" ;;
    *) echo "unknown mode $1" >&2; exit 2 ;;
  esac
}

run_one() { # CLIENT MODE DEPTH PATTERN TOTAL -> IOPS
  local client=$1 mode=$2 depth=$3 pattern=$4 total=$5 tool
  tool=$([ "$client" = librbd ] && echo rbd || echo "$RBDCTL")
  # shellcheck disable=SC2046
  "$tool" bench --io-type write --io-size 4K --io-threads "$depth" --io-total "$total" --io-pattern "$pattern" \
    $(options "$mode") "$IMAGE" 2>/dev/null | awk '/^elapsed:/ { print $6 }'
}

cases=()
for mode in $MODES; do
  cases+=("4K-rand-write-qd1-$mode $mode 1 rand $TOTAL_QD1")
  cases+=("4K-seq-write-qd16-$mode $mode 16 seq $TOTAL_SEQ")
done

declare -A sum
for round in $(seq 1 "$ROUNDS"); do
  for spec in "${cases[@]}"; do
    read -r label mode depth pattern total <<< "$spec"
    for client in librbd swiftrbd; do
      iops=$(run_one "$client" "$mode" "$depth" "$pattern" "$total")
      printf "round %d %-30s %-8s %10.1f IOPS\n" "$round" "$label" "$client" "$iops"
      sum[$label,$client]=$(awk -v a="${sum[$label,$client]:-0}" -v b="$iops" 'BEGIN { print a + b }')
    done
  done
done

echo
echo "Means over $ROUNDS rounds; ratio = SwiftRBD / librbd (higher is better). QD1 latency = 1/IOPS."
printf "%-30s %12s %12s %8s %14s %14s\n" case "librbd IOPS" "swift IOPS" ratio "librbd us" "swift us"
for spec in "${cases[@]}"; do
  read -r label _ depth _ <<< "$spec"
  awk -v n="$ROUNDS" -v li="${sum[$label,librbd]}" -v si="${sum[$label,swiftrbd]}" -v l="$label" -v d="$depth" \
    'BEGIN { lat_l = d == 1 ? sprintf("%.0f", 1e6 * n / li) : "-"; lat_s = d == 1 ? sprintf("%.0f", 1e6 * n / si) : "-";
             printf "%-30s %12.1f %12.1f %8.2f %14s %14s\n", l, li / n, si / n, si / li, lat_l, lat_s }'
done
