#!/usr/bin/env bash
# The main job: a throwaway cluster and a short rbdctl session against it.
#   scripts/demo.sh   (what `make demo` runs; the cluster stays up afterwards:
#                      `make cluster-delete` stops and deletes it)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/dev-cluster.sh up .cluster
export CEPH_CONF="$PWD/.cluster/ceph.conf"

# Release mode, as users run it (a debug build is several times slower); swift build
# shows its own progress. The first build takes several minutes.
echo "demo: building rbdctl (release)"
swift build -c release --product rbdctl
RBDCTL="$(swift build -c release --show-bin-path)/rbdctl"

run() { echo; echo "\$ $*"; "$@"; }

run "$RBDCTL" --version
run "$RBDCTL" --help
# QEMU-style image names, with escapes and per-image Ceph options.
run "$RBDCTL" parse-spec 'rbd:rbd/vm\:disk1@before-upgrade:rbd_cache=false:id=admin'
run "$RBDCTL" parse-spec --format json 'rbd/ns1/vm2'
# A malformed name fails with one line and EINVAL.
run "$RBDCTL" parse-spec 'rbd:/missing-pool' || echo "(exit status $?)"
# The cluster's configuration, each value with the layer it came from; QEMU's
# cache=writethrough applied as the application layer.
run "$RBDCTL" config show --cache writethrough
# The cache an image opened as QEMU's rbd:pool/image:… name would get: the name's options
# beat the file, which beats QEMU's cache mode.
run "$RBDCTL" config show --cache writeback --image 'rbd:rbd/demo:rbd_cache_policy=writeback:rbd_cache_writethrough_until_flush=false'
# Our own monitor session (msgr2 + cephx, secure mode by default), compared with ceph -s.
run "$RBDCTL" status
run ceph -s
run "$RBDCTL" mon-command '{"prefix": "osd pool ls", "format": "json"}'
echo
# Objects through our own Objecter (CRUSH placement, OSD sessions), read back by Ceph's rados.
echo "hello from SwiftRBD" > /tmp/swiftrbd-demo.txt
run "$RBDCTL" rados -p rbd put demo-object /tmp/swiftrbd-demo.txt
run rados -p rbd get demo-object -
run "$RBDCTL" rados -p rbd stat demo-object
run rados -p rbd stat demo-object
run "$RBDCTL" rados -p rbd rm demo-object
# An image made by Ceph's rbd, described by rbdctl through our own stack.
run rbd create rbd/demo --size 1G --object-size 1M --stripe-unit 64K --stripe-count 8
run rbd snap create --no-progress rbd/demo@first
run "$RBDCTL" ls rbd
run "$RBDCTL" info rbd/demo
run "$RBDCTL" info --format json 'rbd:rbd/demo:rbd_cache=false'
run rbd snap purge --no-progress rbd/demo
run rbd rm --no-progress rbd/demo
# Image lifecycle and I/O through rbdctl alone, checked with rbd.
run "$RBDCTL" create --size 64M --object-size 1M --image-feature layering rbd/demo-io
head -c 3000000 /dev/urandom > /tmp/swiftrbd-demo.bin
run "$RBDCTL" import --no-progress --image-feature layering /tmp/swiftrbd-demo.bin rbd/demo-file
run "$RBDCTL" bench --io-type write --io-size 4K --io-threads 16 --io-total 8M --io-pattern rand rbd/demo-io
run "$RBDCTL" snap create rbd/demo-io@after-bench
run "$RBDCTL" bench --io-type readwrite --rw-mix-read 70 --io-size 64K --io-total 16M rbd/demo-io
rm -f /tmp/swiftrbd-demo.out
run "$RBDCTL" export --no-progress rbd/demo-file /tmp/swiftrbd-demo.out
run cmp /tmp/swiftrbd-demo.bin /tmp/swiftrbd-demo.out && echo "demo: rbdctl export gives back the imported bytes"
echo; echo "\$ rbdctl export rbd/demo-io@after-bench - | cmp - <(rbd export rbd/demo-io@after-bench -)"
"$RBDCTL" export --no-progress rbd/demo-io@after-bench - | cmp - <(rbd export --no-progress rbd/demo-io@after-bench -) \
  && echo "demo: rbdctl and rbd export the snapshot identically"
run "$RBDCTL" resize --size 128M rbd/demo-io
run "$RBDCTL" info rbd/demo-io

# The "QEMU and RBD" guide's image work, rbdctl in qemu-img's place.
qemu-img create -q -f qcow2 /tmp/swiftrbd-demo.qcow2 64M
qemu-io -f qcow2 -c "write -P 0x5a 0 4M" -c "write -z 8M 1M" -c "write -P 0x11 60M 1M" /tmp/swiftrbd-demo.qcow2 >/dev/null
run "$RBDCTL" create -f raw rbd:rbd/demo-guide 1G
run "$RBDCTL" resize rbd:rbd/demo-guide 2G
run "$RBDCTL" info -f raw rbd:rbd/demo-guide
run "$RBDCTL" convert -f qcow2 -O raw /tmp/swiftrbd-demo.qcow2 rbd:rbd/demo-squeeze
run qemu-img compare -f raw -F qcow2 "rbd:rbd/demo-squeeze:conf=$CEPH_CONF" /tmp/swiftrbd-demo.qcow2
run "$RBDCTL" ls -l rbd
run "$RBDCTL" trash mv rbd/demo-guide
run "$RBDCTL" trash ls -l rbd
run "$RBDCTL" trash purge rbd
run "$RBDCTL" rm rbd/demo-squeeze
rm -f /tmp/swiftrbd-demo.qcow2

run "$RBDCTL" snap purge rbd/demo-io
run "$RBDCTL" rm rbd/demo-io
run "$RBDCTL" rm rbd/demo-file
run "$RBDCTL" ls rbd
rm -f /tmp/swiftrbd-demo.bin /tmp/swiftrbd-demo.out
cat <<END

demo: done. The cluster is still running in $PWD/.cluster:
  export CEPH_CONF=$CEPH_CONF
  $RBDCTL ls rbd          # rbdctl (also: ceph -s, rbd ls, rados lspools)
  make cluster-delete     # stop the cluster and delete it with its data
END
