#!/usr/bin/env bash
# 4 KiB random write and read on a LUKS-encrypted image, Ceph's librbd beside SwiftRBD:
# one C program (scripts/support/luks-bench.c, librbd's C API with rbd_encryption_load)
# runs on each library (ours through scripts/with-swiftrbd, release build), on the same
# image, which librbd formatted. Prints IOPS and client CPU per I/O with the ratios.
#   CEPH_CONF=/path/ceph.conf scripts/bench-encryption.sh
#   FORMAT=luks1 COUNT=20000 DEPTH=16 ROUNDS=2 ...
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${CEPH_CONF:?set CEPH_CONF to the ceph.conf of a cluster (scripts/dev-cluster.sh up DIR)}"
FORMAT=${FORMAT:-luks2}
COUNT=${COUNT:-20000}
DEPTH=${DEPTH:-16}
ROUNDS=${ROUNDS:-2}
work=$(mktemp -d)
image="bench-luks-$$"
trap 'rbd -c "$CEPH_CONF" rm --no-progress "rbd/$image" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

gcc -O2 -o "$work/luks-bench" "$root/scripts/support/luks-bench.c" -lrbd -lrados
(cd "$root" && swift build -c release --product swiftrbd >/dev/null)
mkdir -p "$work/libs"
ln -sfn "$root/.build/release/libswiftrbd.so" "$work/libs/libswiftrbd.so"
ln -sfn libswiftrbd.so "$work/libs/librbd.so.1"
ln -sfn libswiftrbd.so "$work/libs/librados.so.2"

rbd -c "$CEPH_CONF" create "rbd/$image" --size 1G
/usr/bin/python3 - "$CEPH_CONF" "$image" "$FORMAT" <<'PY'
import sys, rados, rbd
cluster = rados.Rados(conffile=sys.argv[1]); cluster.connect(); io = cluster.open_ioctx('rbd')
with rbd.Image(io, sys.argv[2]) as image:
    image.encryption_format(rbd.RBD_ENCRYPTION_FORMAT_LUKS1 if sys.argv[3] == 'luks1' else rbd.RBD_ENCRYPTION_FORMAT_LUKS2, 'bench')
    block = b'\x5a' * (4 << 20)
    for offset in range(0, 256 << 20, 4 << 20):
        image.write(block, offset)
PY

declare -A ops secs cpu
for round in $(seq "$ROUNDS"); do
  for lib in librbd swiftrbd; do
    for op in write read; do
      if [ "$lib" = swiftrbd ]; then
        line=$(SWIFTRBD_C_LIBS="$work/libs" "$root/scripts/with-swiftrbd" "$work/luks-bench" "$CEPH_CONF" rbd "$image" "$FORMAT" bench "$op" "$COUNT" "$DEPTH")
      else
        line=$("$work/luks-bench" "$CEPH_CONF" rbd "$image" "$FORMAT" bench "$op" "$COUNT" "$DEPTH")
      fi
      read -r n s u y <<<"$line"
      key="$lib-$op"
      ops[$key]=$(( ${ops[$key]:-0} + n ))
      secs[$key]=$(awk -v a="${secs[$key]:-0}" -v b="$s" 'BEGIN { print a + b }')
      cpu[$key]=$(awk -v a="${cpu[$key]:-0}" -v b="$u" -v c="$y" 'BEGIN { print a + b + c }')
    done
  done
done

echo "4 KiB random I/O on a $FORMAT image (AES-256), $DEPTH in flight, $COUNT I/Os x $ROUNDS rounds"
printf '%-6s %-9s %10s %14s\n' op library IOPS "CPU us/IO"
for op in write read; do
  for lib in librbd swiftrbd; do
    key="$lib-$op"
    awk -v o="$op" -v l="$lib" -v n="${ops[$key]}" -v s="${secs[$key]}" -v c="${cpu[$key]}" 'BEGIN { printf "%-6s %-9s %10.0f %14.1f\n", o, l, n / s, c / n * 1e6 }'
  done
  awk -v o="$op" -v n1="${ops[librbd-$op]}" -v s1="${secs[librbd-$op]}" -v c1="${cpu[librbd-$op]}" -v n2="${ops[swiftrbd-$op]}" -v s2="${secs[swiftrbd-$op]}" -v c2="${cpu[swiftrbd-$op]}" \
    'BEGIN { printf "%-6s ratio     %10.2f %14.2f\n", o, (n2 / s2) / (n1 / s1), (c2 / n2) / (c1 / n1) }'
done
