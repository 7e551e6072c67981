/* 4 KiB random I/O through librbd's C API on a LUKS image: the same program runs on
   Ceph's librbd and, through scripts/with-swiftrbd, on ours (scripts/bench-encryption.sh).
   usage: luks-bench CONF POOL IMAGE luks1|luks2 PASSPHRASE write|read COUNT DEPTH
   prints: ops seconds user_seconds system_seconds */
#include <rbd/librbd.h>
#include <rados/librados.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc != 9) { fprintf(stderr, "usage: luks-bench CONF POOL IMAGE luks1|luks2 PASSPHRASE write|read COUNT DEPTH\n"); return 2; }
  rados_t cluster; rados_ioctx_t io; rbd_image_t image;
  if (rados_create(&cluster, NULL) < 0 || rados_conf_read_file(cluster, argv[1]) < 0 || rados_connect(cluster) < 0) { fprintf(stderr, "connect failed\n"); return 1; }
  if (rados_ioctx_create(cluster, argv[2], &io) < 0 || rbd_open(io, argv[3], &image, NULL) < 0) { fprintf(stderr, "open failed\n"); return 1; }
  rbd_encryption_luks1_format_options_t opts = {RBD_ENCRYPTION_ALGORITHM_AES256, argv[5], strlen(argv[5])};
  int r = rbd_encryption_load(image, strcmp(argv[4], "luks1") == 0 ? RBD_ENCRYPTION_FORMAT_LUKS1 : RBD_ENCRYPTION_FORMAT_LUKS2, &opts, sizeof(opts));
  if (r < 0) { fprintf(stderr, "encryption_load: %d\n", r); return 1; }
  uint64_t size; rbd_get_size(image, &size);
  int writing = strcmp(argv[6], "write") == 0, count = atoi(argv[7]), depth = atoi(argv[8]);
  uint64_t blocks = size / 4096;
  char *buffers = malloc((size_t)depth * 4096); memset(buffers, 0x5a, (size_t)depth * 4096);
  rbd_completion_t *inflight = calloc(depth, sizeof(rbd_completion_t));
  srand(7);
  struct rusage before, after; getrusage(RUSAGE_SELF, &before);
  double start = now();
  for (int i = 0; i < count + depth; i++) {
    int slot = i % depth;
    if (inflight[slot]) { rbd_aio_wait_for_complete(inflight[slot]); if (rbd_aio_get_return_value(inflight[slot]) < 0) { fprintf(stderr, "I/O failed\n"); return 1; } rbd_aio_release(inflight[slot]); inflight[slot] = NULL; }
    if (i >= count) continue;
    uint64_t offset = ((uint64_t)rand() % blocks) * 4096;
    rbd_aio_create_completion(NULL, NULL, &inflight[slot]);
    if (writing) rbd_aio_write(image, offset, 4096, buffers + slot * 4096, inflight[slot]);
    else rbd_aio_read(image, offset, 4096, buffers + slot * 4096, inflight[slot]);
  }
  double elapsed = now() - start;
  getrusage(RUSAGE_SELF, &after);
  double user = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) + (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6;
  double sys = (after.ru_stime.tv_sec - before.ru_stime.tv_sec) + (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
  printf("%d %.3f %.3f %.3f\n", count, elapsed, user, sys);
  rbd_close(image); rados_ioctx_destroy(io); rados_shutdown(cluster);
  return 0;
}
