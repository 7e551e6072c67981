#!/usr/bin/env bash
# Image I/O: SwiftRBD's `rbdctl bench` beside librbd's `rbd bench --rbd_cache=false` on the
# same image, interleaved, with each client process's CPU seconds per I/O (user + sys from
# /usr/bin/time) and the ratios SwiftRBD / librbd.
#   CEPH_CONF=... scripts/bench-rbd.sh
# Cases: 4 KiB random write and read at each depth of DEPTHS (I/Os in flight, default
# "16"; e.g. DEPTHS="1 16"), 4 MiB sequential write and read at 16, each in every
# messenger mode of MODES (default "crc"; e.g. MODES="crc secure", set for both clients
# through CEPH_ARGS=--ms_client_mode). TOTAL_4K (default 64M) and TOTAL_4M (default 512M)
# set the bytes per run (4K runs at depth 1 use an eighth); ROUNDS (2) how often each
# pair runs. FEATURES (default Pacific's: layering,exclusive-lock,object-map,fast-diff,
# deep-flatten) are the image's. Without CEPH_CONF it starts a throwaway cluster in
# .cluster-bench and stops it after.
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL_4K=${TOTAL_4K:-64M}
TOTAL_4M=${TOTAL_4M:-512M}
ROUNDS=${ROUNDS:-2}
MODES=${MODES:-crc}
DEPTHS=${DEPTHS:-16}
IMAGE=${IMAGE:-rbd/swiftrbd-bench-$$}
FEATURES=${FEATURES:-layering,exclusive-lock,object-map,fast-diff,deep-flatten}

# shellcheck source=support/bench-cluster.sh
source scripts/support/bench-cluster.sh
[ -x /usr/bin/time ] || bash scripts/install-deps.sh
swift build -c release --product rbdctl >/dev/null
RBDCTL="$(swift build -c release --show-bin-path)/rbdctl"

# The same image and features for both clients (each bench takes the exclusive lock in turn).
rbd create "$IMAGE" --size 1G --image-feature "$FEATURES"
# Fill the image once so reads find data (rbd bench reads of absent objects are cheaper).
rbd bench --io-type write --io-size 4M --io-threads 16 --io-total 1G --io-pattern seq "$IMAGE" --rbd_cache=false >/dev/null

run_one() { # CLIENT MODE DEPTH TYPE SIZE PATTERN TOTAL -> "ops seconds cpu"
  local client=$1 mode=$2 depth=$3 type=$4 size=$5 pattern=$6 total=$7 tmp; tmp=$(mktemp)
  local args=(bench --io-type "$type" --io-size "$size" --io-threads "$depth" --io-total "$total" --io-pattern "$pattern" "$IMAGE")
  if [ "$client" = librbd ]; then
    CEPH_ARGS="--ms_client_mode $mode" /usr/bin/time -f "%U %S" -o "$tmp.cpu" rbd "${args[@]}" --rbd_cache=false > "$tmp" 2>/dev/null
  else
    CEPH_ARGS="--ms_client_mode $mode" /usr/bin/time -f "%U %S" -o "$tmp.cpu" "$RBDCTL" "${args[@]}" --rbd_cache=false > "$tmp" 2>/dev/null
  fi
  # "elapsed: N   ops: N   ops/sec: X   bytes/sec: ..." -> ops and seconds (ops / ops/sec).
  local line; line=$(grep '^elapsed:' "$tmp")
  local ops; ops=$(echo "$line" | awk '{print $4}')
  local rate; rate=$(echo "$line" | awk '{print $6}')
  local cpu; cpu=$(tail -1 "$tmp.cpu" | awk '{print $1 + $2}')
  rm -f "$tmp" "$tmp.cpu"
  awk -v o="$ops" -v r="$rate" -v c="$cpu" 'BEGIN { printf "%d %.6f %.3f\n", o, o / r, c }'
}

# The cases: label, mode, depth, type, size, pattern, total.
cases=()
small_total() { # a depth-1 run moves an eighth of the bytes (it is that much slower)
  if [ "$1" = 1 ]; then echo "$(( $(numfmt --from=iec "$TOTAL_4K") / 8 ))"; else echo "$TOTAL_4K"; fi
}
for mode in $MODES; do
  for depth in $DEPTHS; do
    for type in write read; do
      cases+=("4K-rand-$type-qd$depth-$mode $mode $depth $type 4K rand $(small_total "$depth")")
    done
  done
  for type in write read; do
    cases+=("4M-seq-$type-qd16-$mode $mode 16 $type 4M seq $TOTAL_4M")
  done
done

printf "%-26s %-8s %10s %10s %8s %12s\n" case client IOPS "MB/s" "CPU s" "CPU us/IO"
declare -A sum_iops sum_cpu_per_io
for round in $(seq 1 "$ROUNDS"); do
  for spec in "${cases[@]}"; do
    read -r label mode depth type size pattern total <<< "$spec"
    for client in librbd swiftrbd; do
      read -r ops seconds cpu < <(run_one "$client" "$mode" "$depth" "$type" "$size" "$pattern" "$total")
      bytes=$([ "$size" = 4K ] && echo 4096 || echo 4194304)
      read -r iops mbs per_io < <(awk -v o="$ops" -v s="$seconds" -v c="$cpu" -v b="$bytes" \
        'BEGIN { printf "%.1f %.1f %.1f\n", o / s, o * b / s / 1e6, c / o * 1e6 }')
      printf "%-26s %-8s %10s %10s %8s %12s\n" "$label" "$client" "$iops" "$mbs" "$cpu" "$per_io"
      sum_iops[$label,$client]=$(awk -v a="${sum_iops[$label,$client]:-0}" -v b="$iops" 'BEGIN { print a + b }')
      sum_cpu_per_io[$label,$client]=$(awk -v a="${sum_cpu_per_io[$label,$client]:-0}" -v b="$per_io" 'BEGIN { print a + b }')
    done
  done
done

echo
echo "Means over $ROUNDS rounds; ratio = SwiftRBD / librbd (IOPS: higher is better; CPU per I/O: lower is better)"
printf "%-26s %12s %12s %8s %14s %14s %8s\n" case "librbd IOPS" "swift IOPS" ratio "librbd us/IO" "swift us/IO" ratio
for spec in "${cases[@]}"; do
  read -r label _ <<< "$spec"
  awk -v n="$ROUNDS" -v li="${sum_iops[$label,librbd]}" -v si="${sum_iops[$label,swiftrbd]}" \
      -v lc="${sum_cpu_per_io[$label,librbd]}" -v sc="${sum_cpu_per_io[$label,swiftrbd]}" -v l="$label" \
    'BEGIN { printf "%-26s %12.1f %12.1f %8.2f %14.1f %14.1f %8.2f\n", l, li / n, si / n, si / li, lc / n, sc / n, sc / lc }'
done
