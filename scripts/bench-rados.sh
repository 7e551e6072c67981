#!/usr/bin/env bash
# Object I/O: SwiftRBD's `rbdctl rados bench` beside librados' `rados bench` on the same
# cluster, interleaved, with each client's CPU time per op.
#   CEPH_CONF=... scripts/bench-rados.sh [SECONDS] [BLOCK] [THREADS]
# Without CEPH_CONF it starts a throwaway cluster in .cluster-bench and stops it after.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-10}
BLOCK=${2:-4096}
THREADS=${3:-16}
ROUNDS=${ROUNDS:-2}

if [ -z "${CEPH_CONF:-}" ]; then
  bash scripts/install-deps.sh
  bash scripts/dev-cluster.sh up .cluster-bench >/dev/null
  trap 'bash scripts/dev-cluster.sh down .cluster-bench >/dev/null' EXIT
  export CEPH_CONF="$PWD/.cluster-bench/ceph.conf"
fi
swift build -c release --product rbdctl >/dev/null
RBDCTL="$(swift build -c release --show-bin-path)/rbdctl"

ops_and_cpu() { # MODE CLIENT -> "ops cpu"
  local mode=$1 client=$2 tmp; tmp=$(mktemp)
  # rados bench takes -b only for writes (reads use the objects' size); --no-cleanup keeps them for reads.
  local extra=""; [ "$mode" = write ] && extra="-b $BLOCK --no-cleanup"
  if [ "$client" = librados ]; then
    /usr/bin/time -f "%U %S" -o "$tmp.cpu" rados -p rbd bench "$SECONDS_PER_RUN" "$mode" -t "$THREADS" $extra > "$tmp" 2>/dev/null
  else
    /usr/bin/time -f "%U %S" -o "$tmp.cpu" "$RBDCTL" rados -p rbd bench "$SECONDS_PER_RUN" "$mode" -t "$THREADS" $extra > "$tmp" 2>/dev/null
  fi
  local ops; ops=$(grep -E "^Total (writes|reads) made" "$tmp" | awk '{print $NF}')
  local cpu; cpu=$(tail -1 "$tmp.cpu" | awk '{print $1 + $2}')
  rm -f "$tmp" "$tmp.cpu"
  echo "$ops $cpu"
}

printf "%-6s %-9s %10s %10s %14s\n" mode client IOPS "CPU s" "CPU us/op"
for round in $(seq 1 "$ROUNDS"); do
  for mode in write rand; do
    for client in librados swiftrbd; do
      read -r ops cpu < <(ops_and_cpu "$mode" "$client")
      awk -v m="$mode" -v c="$client" -v o="$ops" -v cpu="$cpu" -v s="$SECONDS_PER_RUN" \
        'BEGIN { printf "%-6s %-9s %10.0f %10.2f %14.1f\n", m, c, o / s, cpu, (o > 0 ? cpu / o * 1e6 : 0) }'
    done
  done
done

# Remove what the write runs left for the read runs (both tools' objects).
rados -p rbd cleanup >/dev/null 2>&1 || true
rados -p rbd ls 2>/dev/null | grep -E '^swiftrbd_bench_(object[0-9]+|metadata)$' | xargs -r -n 1000 rados -p rbd rm 2>/dev/null || true
