/*
 * Compile-time checks that our declarations keep the layout of Ceph's (measured
 * against rbd/librbd.h from Pacific with gcc on x86-64 and aarch64 Linux).
 */
#include "ceph_abi.h"

_Static_assert(sizeof(rbd_image_info_t) == 160, "rbd_image_info_t must be 160 bytes, as librbd's");
_Static_assert(offsetof(rbd_image_info_t, order) == 24, "order follows three 64-bit fields");
_Static_assert(offsetof(rbd_image_info_t, block_name_prefix) == 28, "block_name_prefix follows order");
_Static_assert(offsetof(rbd_image_info_t, parent_pool) == 56, "parent_pool is 8-byte aligned");
_Static_assert(offsetof(rbd_image_info_t, parent_name) == 64, "parent_name follows parent_pool");
_Static_assert(sizeof(rbd_snap_info_t) == 24, "rbd_snap_info_t must be 24 bytes, as librbd's");
