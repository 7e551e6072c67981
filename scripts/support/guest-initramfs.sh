#!/usr/bin/env bash
# Packs the initramfs of the test VM (Tests/IntegrationTests/CABIVirtualMachineTests.swift):
#   scripts/support/guest-initramfs.sh KERNEL_VERSION OUTPUT
# KERNEL_VERSION names the Debian kernel the VM boots (/boot/vmlinuz-VERSION); its
# modules come from /lib/modules/VERSION. The archive (newc cpio, owned by root, no
# device nodes, so no root needed to build it) holds:
#   /init                     scripts/support/guest-init.sh
#   /bin/busybox + applets    busybox-static (sh, mount, insmod, fstrim, sha256sum …)
#   /sbin/mke2fs, filefrag    e2fsprogs' (busybox's mke2fs makes no ext4), with the
#                             shared libraries ldd lists and the dynamic loader
#   /lib/modules/*.ko         the disk's and ext4's modules with their dependencies,
#                             in load order in /etc/modules.order (modprobe --show-depends)
set -euo pipefail
if [ "$#" -ne 2 ]; then
  echo "usage: $0 KERNEL_VERSION OUTPUT" >&2
  exit 2
fi
version=$1
output=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
moddir=/lib/modules/$version
[ -d "$moddir" ] || { echo "guest-initramfs: $moddir is missing (linux-image-amd64)" >&2; exit 1; }

busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "guest-initramfs: a static busybox is needed (busybox-static)" >&2
  exit 1
fi
mke2fs=$(command -v mke2fs || echo /sbin/mke2fs)
filefrag=$(command -v filefrag || echo /usr/sbin/filefrag)
for tool in "$mke2fs" "$filefrag"; do
  [ -x "$tool" ] || { echo "guest-initramfs: $tool is missing (e2fsprogs)" >&2; exit 1; }
done
modprobe=$(command -v modprobe || echo /sbin/modprobe)
[ -x "$modprobe" ] || { echo "guest-initramfs: modprobe is missing (kmod)" >&2; exit 1; }
command -v cpio >/dev/null || { echo "guest-initramfs: cpio is missing" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,mnt,tmp,etc,lib/modules}

cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done

for tool in "$mke2fs" "$filefrag"; do
  cp -L "$tool" "$root/sbin/"
  for lib in $(ldd "$tool" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done

# virtio-blk (virtio_pci, virtio_blk), IDE on QEMU's PIIX (ata_piix, sd_mod), ext4
# (jbd2, mbcache, crc16, crc32c …); a module built into the kernel is skipped.
: >"$root/etc/modules.order"
declare -A seen=()
for module in virtio_pci virtio_blk ata_piix sd_mod crc32c_generic ext4; do
  while read -r verb path _; do
    [ "$verb" = insmod ] || continue
    [ -z "${seen[$path]:-}" ] || continue
    seen[$path]=1
    name=$(basename "$path")
    case "$name" in
      *.ko.xz) xz -dc "$path" >"$root/lib/modules/${name%.xz}"; name=${name%.xz} ;;
      *.ko.zst) zstd -qdc "$path" >"$root/lib/modules/${name%.zst}"; name=${name%.zst} ;;
      *.ko.gz) gzip -dc "$path" >"$root/lib/modules/${name%.gz}"; name=${name%.gz} ;;
      *) cp "$path" "$root/lib/modules/$name" ;;
    esac
    echo "$name" >>"$root/etc/modules.order"
  done < <("$modprobe" -S "$version" --show-depends "$module")
done

cp "$here/guest-init.sh" "$root/init"
chmod 755 "$root/init"

(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$output"
