#!/bin/sh
# /init of the test VM (Tests/IntegrationTests/CABIVirtualMachineTests.swift), packed
# by scripts/support/guest-initramfs.sh with a static busybox, e2fsprogs' mke2fs and
# the kernel modules the disk and ext4 need (their load order in /etc/modules.order).
#
# On the one disk QEMU gives the guest (/dev/vda with virtio-blk, /dev/sda with IDE)
# it makes an ext4 file system, mounts it with -o discard, writes 8 MiB of random bytes
# (random.bin, its sha256 in random.sha256) and a text file (hello.txt), writes a
# 64 MiB file (big.bin), prints where it lies (filefrag), deletes it and runs fstrim;
# then it remounts, checks the checksum against the disk, unmounts and powers off.
# Every line the test reads starts with SWIFTRBD-GUEST-: STEP lines as it goes, EXTENT
# lines with filefrag's output, FSTRIM with fstrim's output, OK with the checksum at
# the end; any failure prints SWIFTRBD-GUEST-FAIL and powers off too.
export PATH=/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

halt() {
  sync
  poweroff -f
  # poweroff returns only if it failed; the kernel panics when init exits (panic=-1
  # reboots at once and QEMU's -no-reboot ends the VM).
  exit 1
}
fail() {
  echo "SWIFTRBD-GUEST-FAIL: $*"
  halt
}
step() { echo "SWIFTRBD-GUEST-STEP: $*"; }

step "kernel $(uname -r)"
for module in $(cat /etc/modules.order); do
  # An accelerated variant (crc32c-intel) refuses a CPU without its instructions:
  # the generic one is loaded too, and a missing driver shows below anyway.
  insmod "/lib/modules/$module" || step "insmod $module failed, going on"
done

disk=
tries=0
while [ -z "$disk" ] && [ "$tries" -lt 150 ]; do
  for name in vda sda; do
    if [ -b "/dev/$name" ]; then disk=$name; break; fi
  done
  [ -n "$disk" ] || sleep 0.2
  tries=$((tries + 1))
done
[ -n "$disk" ] || fail "no disk (/dev/vda or /dev/sda) appeared"
step "disk /dev/$disk $(cat /sys/block/$disk/size) sectors, discard_max_bytes $(cat /sys/block/$disk/queue/discard_max_bytes)"
[ "$(cat /sys/block/$disk/queue/discard_max_bytes)" != 0 ] || fail "/dev/$disk does not support discard"

# e2fsprogs' mke2fs (busybox's makes no ext4; its sh runs its own applets first, PATH or
# not). Inode tables and journal written now, not by ext4lazyinit while the test measures;
# few inodes and a 4 MiB journal keep the file system's own data small.
/sbin/mke2fs -t ext4 -F -q -b 4096 -N 1024 -J size=4 -E lazy_itable_init=0,lazy_journal_init=0 -L swiftrbd "/dev/$disk" || fail "mke2fs"
step "mke2fs done"
mount -t ext4 -o discard "/dev/$disk" /mnt || fail "mount -o discard"

dd if=/dev/urandom of=/mnt/random.bin bs=1M count=8 2>/dev/null || fail "writing random.bin"
(cd /mnt && sha256sum random.bin >random.sha256) || fail "sha256sum"
echo "Hello from a guest on SwiftRBD, kernel $(uname -r)" >/mnt/hello.txt || fail "writing hello.txt"
sync
step "random.bin $(cat /mnt/random.sha256)"

# 64 MiB that are not zeros (zeros might one day be detected and never stored).
for i in 1 2 3 4 5 6 7 8; do cat /mnt/random.bin; done >/mnt/big.bin || fail "writing big.bin"
sync
step "big.bin written: $(ls -l /mnt/big.bin)"
# Where big.bin lies on the disk (in 4 KiB blocks): the test checks that the RBD
# objects inside it are gone after the trim.
/sbin/filefrag -v /mnt/big.bin | /bin/sed 's/^/SWIFTRBD-GUEST-EXTENT: /' || fail "filefrag"
rm /mnt/big.bin || fail "rm big.bin"
sync
trimmed=$(fstrim -v /mnt 2>&1) || fail "fstrim: $trimmed"
echo "SWIFTRBD-GUEST-FSTRIM: $trimmed"
umount /mnt || fail "umount"

# Read back through the disk: a fresh mount has nothing of the files cached.
echo 3 >/proc/sys/vm/drop_caches
mount -t ext4 -o ro "/dev/$disk" /mnt || fail "mount -o ro"
(cd /mnt && sha256sum -c random.sha256) || fail "random.bin does not match its checksum after remounting"
[ ! -e /mnt/big.bin ] || fail "big.bin is back"
sum=$(cut -d' ' -f1 /mnt/random.sha256)
umount /mnt || fail "umount (ro)"
sync
echo "SWIFTRBD-GUEST-OK sha256=$sum"
halt
