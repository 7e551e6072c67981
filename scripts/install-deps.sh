#!/usr/bin/env bash
# Installs every Debian package the tests, the demo and the benchmarks use.
# Idempotent and fast when everything is already there (one dpkg query).
#   scripts/install-deps.sh
set -euo pipefail

PACKAGES=(
  # Ceph 16.2 "Pacific": daemons for the throwaway cluster, and Ceph's own tools
  # (ceph, rados, rbd, ceph-authtool, crushtool, osdmaptool, monmaptool).
  ceph-mon ceph-osd ceph-mgr ceph-common ceph-base
  python3-rados python3-rbd librados-dev librbd-dev rbd-nbd
  # QEMU's rbd driver (block-rbd.so) and fio's rbd engine, for interop and benchmarks.
  qemu-utils qemu-block-extra fio
  # The daemons run faster with tcmalloc preloaded; valgrind counts instructions in benchmarks.
  libgoogle-perftools4 valgrind
  # OpenSSL's libcrypto headers (msgr2 secure mode's AES-GCM) and pkg-config to find them.
  libssl-dev pkg-config
  # zlib's headers: rbdctl convert inflates qcow2's compressed clusters.
  zlib1g-dev
  # libargon2 (LUKS2 key slots' Argon2id) and cryptsetup (checks the LUKS headers we write).
  libargon2-dev cryptsetup-bin
  # A C compiler for the C ABI's test client (built against librbd-dev's headers).
  gcc libc6-dev
  # The virtual machine test (CABIVirtualMachineTests): QEMU's PC emulator, a Debian
  # kernel and its modules to boot (/boot/vmlinuz-*), and for the guest's initramfs
  # (scripts/support/guest-initramfs.sh) a static busybox, e2fsprogs' mke2fs and
  # filefrag, kmod's modprobe to order the modules and cpio to pack it; on the host
  # e2fsck and debugfs check the exported image.
  qemu-system-x86 linux-image-amd64 busybox-static e2fsprogs kmod cpio
  # Used by the scripts themselves.
  iproute2 uuid-runtime procps python3 make time
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "install-deps: done"
