#!/usr/bin/env bash
# Heap allocations per image I/O of `rbdctl bench` (4 KiB random write and read, 16 in
# flight): runs each workload with N and 3N I/Os under a malloc counter
# (scripts/support/alloc-count.c, LD_PRELOAD) and prints (count(3N) - count(N)) / 2N, so
# start-up and shutdown cancel out. The figure includes what the benchmark itself
# allocates per I/O (its completion objects). A measurement, not a test: the cluster's
# timing can move it by one or two.
#   CEPH_CONF=... scripts/count-allocations.sh [N]     (N defaults to 2048)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${CEPH_CONF:-}" ] || { echo "count-allocations: set CEPH_CONF to a running cluster (scripts/dev-cluster.sh up)" >&2; exit 1; }
N=${1:-2048}
IMAGE=${IMAGE:-rbd/swiftrbd-allocs-$$}
work=$(mktemp -d)
trap 'rbd rm --no-progress "$IMAGE" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cc=$(command -v cc || command -v clang || true)
[ -n "$cc" ] || cc="$(dirname "$(command -v swift)")/clang"
"$cc" -O2 -shared -fPIC -o "$work/alloc-count.so" scripts/support/alloc-count.c
swift build -c release --product rbdctl >/dev/null
RBDCTL="$(swift build -c release --show-bin-path)/rbdctl"
rbd create "$IMAGE" --size 256M --image-feature layering
rbd bench --io-type write --io-size 4M --io-threads 16 --io-total 256M --io-pattern seq "$IMAGE" --rbd_cache=false >/dev/null
for kind in write read; do
  for n in "$N" $((3 * N)); do
    ALLOC_COUNT_FILE="$work/$kind.$n" LD_PRELOAD="$work/alloc-count.so" "$RBDCTL" bench --io-type "$kind" --io-size 4K \
      --io-threads 16 --io-total $((n * 4096)) --io-pattern rand "$IMAGE" >/dev/null
  done
  awk -v a="$(cat "$work/$kind.$N")" -v b="$(cat "$work/$kind.$((3 * N))")" -v n="$N" -v k="$kind" \
    'BEGIN { printf "4K random %-5s: %.1f allocations per I/O\n", k, (b - a) / (2 * n) }'
done
