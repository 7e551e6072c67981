/* A C client of the librados/librbd ABI, compiled against Ceph's headers and run on
 * SwiftRBD's library: completion semantics (callback thread, nested I/O, release in the
 * callback), synchronous calls refused on the event loop, stat, snapshots, diff.
 * Built and run by Tests/IntegrationTests/CABIQemuTests.swift (prints OK, or FAIL and
 * the line). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done;
static rbd_image_t image;
static char buffer[4096];
static ssize_t write_value = 1, read_value = 1;
static int resize_in_callback = 1, wait_in_callback = 1, complete_in_callback, size_in_callback = 1;
static uint64_t size_seen;

static void read_done(rbd_completion_t c, void *arg) {
  read_value = rbd_aio_get_return_value(c);
  CHECK(arg == buffer);
  rbd_aio_release(c);
  pthread_mutex_lock(&lock);
  done = 1;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&lock);
}

static void write_done(rbd_completion_t c, void *arg) {
  CHECK(arg == &write_value);
  write_value = rbd_aio_get_return_value(c);
  resize_in_callback = rbd_resize(image, 16 << 20);
  wait_in_callback = rbd_aio_wait_for_complete(c);
  complete_in_callback = rbd_aio_is_complete(c);
  size_in_callback = rbd_get_size(image, &size_seen);
  rbd_aio_release(c);
  rbd_completion_t next;
  CHECK(rbd_aio_create_completion(buffer, read_done, &next) == 0);
  CHECK(rbd_aio_read(image, 0, sizeof buffer, buffer, next) == 0);
}

static int extents, extent_exists;
static uint64_t extent_offset, extent_length;
static int diff_cb(uint64_t offset, size_t length, int exists, void *arg) {
  CHECK(arg == &extents);
  if (extents++ == 0) { extent_offset = offset; extent_length = length; extent_exists = exists; }
  return 0;
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  const char *conf = argv[1], *name = argv[2];
  rados_t cluster;
  rados_ioctx_t io;
  CHECK(rados_create(&cluster, NULL) == 0);
  CHECK(rados_conf_read_file(cluster, conf) == 0);
  CHECK(rados_conf_set(cluster, "rbd_cache", "false") == 0);
  CHECK(rados_connect(cluster) == 0);
  CHECK(rados_ioctx_create(cluster, "no-such-pool", &io) == -ENOENT);
  CHECK(rados_ioctx_create(cluster, "rbd", &io) == 0);

  int order = 0;
  CHECK(rbd_create(io, name, 8 << 20, &order) == 0);
  CHECK(order == 22);
  CHECK(rbd_create(io, name, 8 << 20, &order) == -EEXIST);
  CHECK(rbd_open(io, name, &image, NULL) == 0);
  uint64_t features = 0;
  CHECK(rbd_get_features(image, &features) == 0);
  /* Pacific's rbd_default_features. */
  CHECK(features == (RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK | RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF | RBD_FEATURE_DEEP_FLATTEN));

  rbd_image_info_t info;
  CHECK(rbd_stat(image, &info, sizeof info) == 0);
  CHECK(info.size == 8 << 20 && info.obj_size == 4 << 20 && info.num_objs == 2 && info.order == 22);
  CHECK(strncmp(info.block_name_prefix, "rbd_data.", 9) == 0 && info.parent_pool == -1);

  /* A write whose callback tries blocking calls, then starts a read and releases. */
  static char data[4096];
  memset(data, 0x7e, sizeof data);
  rbd_completion_t c;
  CHECK(rbd_aio_create_completion(&write_value, write_done, &c) == 0);
  CHECK(rbd_aio_write(image, 0, sizeof data, data, c) == 0);
  pthread_mutex_lock(&lock);
  while (!done) pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
  CHECK(write_value == 0);
  CHECK(resize_in_callback == -EDEADLK);
  CHECK(wait_in_callback == 0 && complete_in_callback == 1);
  CHECK(size_in_callback == 0 && size_seen == 8 << 20);
  CHECK(read_value == sizeof buffer && memcmp(buffer, data, sizeof data) == 0);

  /* No callback: wait, then the value. */
  CHECK(rbd_aio_create_completion(NULL, NULL, &c) == 0);
  CHECK(rbd_aio_flush(image, c) == 0);
  CHECK(rbd_aio_wait_for_complete(c) == 0);
  CHECK(rbd_aio_is_complete(c) == 1 && rbd_aio_get_return_value(c) == 0);
  rbd_aio_release(c);
  /* A read past the end fails through the completion. */
  CHECK(rbd_aio_create_completion(NULL, NULL, &c) == 0);
  CHECK(rbd_aio_read(image, 64 << 20, sizeof buffer, buffer, c) == 0);
  CHECK(rbd_aio_wait_for_complete(c) == 0);
  CHECK(rbd_aio_get_return_value(c) == -EINVAL);
  rbd_aio_release(c);
  CHECK(rbd_read(image, 0, 16, buffer) == 16 && buffer[15] == 0x7e);

  /* Snapshots. */
  CHECK(rbd_snap_create(image, "one") == 0);
  rbd_snap_info_t snaps[4];
  int max = 1;
  CHECK(rbd_snap_list(image, snaps, &max) == -ERANGE && max == 2);
  CHECK(rbd_snap_list(image, snaps, &max) == 1);
  CHECK(strcmp(snaps[0].name, "one") == 0 && snaps[0].size == 8 << 20 && snaps[1].name == NULL);
  rbd_snap_list_end(snaps);
  CHECK(rbd_snap_remove(image, "one") == 0);

  /* Parent, diff, namespaces, encryption. */
  CHECK(rbd_get_parent_info(image, NULL, 0, NULL, 0, NULL, 0) == -ENOENT);
  CHECK(rbd_diff_iterate2(image, NULL, 0, 8 << 20, 1, 1, diff_cb, &extents) == 0);
  CHECK(extents == 1 && extent_offset == 0 && extent_length == 4 << 20 && extent_exists == 1);
  bool exists = true;
  CHECK(rbd_namespace_exists(io, "no-such-namespace", &exists) == 0 && !exists);
  /* librbd's answers: options of the wrong size, then an image with no LUKS header. */
  rbd_encryption_luks1_format_options_t luks = {RBD_ENCRYPTION_ALGORITHM_AES256, "pw", 2};
  CHECK(rbd_encryption_load(image, RBD_ENCRYPTION_FORMAT_LUKS1, NULL, 0) == -EINVAL);
  CHECK(rbd_encryption_load(image, RBD_ENCRYPTION_FORMAT_LUKS1, &luks, sizeof(luks)) == -EINVAL);

  CHECK(rbd_close(image) == 0);
  CHECK(rbd_remove(io, name) == 0);
  CHECK(rbd_remove(io, name) == -ENOENT);
  rados_ioctx_destroy(io);
  rados_shutdown(cluster);
  printf("OK\n");
  return 0;
}
