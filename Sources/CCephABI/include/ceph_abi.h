/*
 * The C types of the librados/librbd ABI that SwiftRBD's C library (CephCABI) exports.
 *
 * Only the types the Swift side needs are here, written for SwiftRBD with the same
 * memory layout as Ceph's public headers (rados/librados.h, rbd/librbd.h, Pacific), so a
 * program compiled against Ceph's headers can load our library instead of Ceph's. The
 * functions themselves are defined in Swift (`@_cdecl`); C programs keep using Ceph's
 * headers for their prototypes.
 */
#ifndef SWIFTRBD_CEPH_ABI_H
#define SWIFTRBD_CEPH_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Opaque handles: each points at a retained Swift object. */
typedef void *rados_t;
typedef void *rados_ioctx_t;
typedef void *rados_completion_t;
typedef void *rbd_image_t;
typedef void *rbd_completion_t;

/* Completion callbacks: the completion handle and the caller's argument. */
typedef void (*rados_callback_t)(rados_completion_t completion, void *arg);
typedef void (*rbd_callback_t)(rbd_completion_t completion, void *arg);

/* rbd_diff_iterate2's callback: offset, length, whether the extent holds data, arg.
   A non-zero return stops the iteration, which then returns that value. */
typedef int (*rbd_diff_iterate_callback_t)(uint64_t offset, size_t length, int exists, void *arg);

enum {
  /* Sizes of the fixed character arrays in rbd_image_info_t. */
  SWIFTRBD_BLOCK_NAME_PREFIX_SIZE = 24,
  SWIFTRBD_IMAGE_NAME_SIZE = 96,
};

/* What rbd_stat fills in (160 bytes on LP64). */
typedef struct {
  uint64_t size;       /* image size in bytes */
  uint64_t obj_size;   /* bytes per data object */
  uint64_t num_objs;   /* data objects the image can have */
  int order;           /* log2 of obj_size */
  char block_name_prefix[SWIFTRBD_BLOCK_NAME_PREFIX_SIZE]; /* "rbd_data.<id>", NUL-terminated */
  int64_t parent_pool; /* deprecated: always -1 */
  char parent_name[SWIFTRBD_IMAGE_NAME_SIZE];             /* deprecated: always "" */
} rbd_image_info_t;

/* One entry of rbd_snap_list; rbd_snap_list_end frees the names. */
typedef struct {
  uint64_t id;
  uint64_t size;
  const char *name;
} rbd_snap_info_t;

/* An image's id and name, as rbd_list2 fills them in; rbd_image_spec_list_cleanup
   frees both strings of each entry. */
typedef struct {
  char *id;
  char *name;
} rbd_image_spec_t;

/* Create options (rbd_image_options_create … _destroy): an opaque handle. */
typedef void *rbd_image_options_t;

/* Progress callbacks of the _with_progress calls: done so far, total, arg. */
typedef int (*librbd_progress_fn_t)(uint64_t offset, uint64_t total, void *ptr);

#endif /* SWIFTRBD_CEPH_ABI_H */
