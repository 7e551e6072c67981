/* A malloc counter for scripts/count-allocations.sh, loaded with LD_PRELOAD: counts
 * malloc, calloc, realloc and the aligned allocators (passing them on to glibc), and at
 * exit writes the count to the file ALLOC_COUNT_FILE names. Not for production use. */
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
static atomic_ulong count;
static inline void bump(void) { atomic_fetch_add_explicit(&count, 1, memory_order_relaxed); }
void *malloc(size_t n) { bump(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { bump(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { bump(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
int posix_memalign(void **p, size_t a, size_t n) { bump(); *p = __libc_memalign(a, n); return *p ? 0 : 12; }
void *aligned_alloc(size_t a, size_t n) { bump(); return __libc_memalign(a, n); }
void *memalign(size_t a, size_t n) { bump(); return __libc_memalign(a, n); }
__attribute__((destructor)) static void report(void) {
  const char *f = getenv("ALLOC_COUNT_FILE");
  if (f) { FILE *o = fopen(f, "w"); if (o) { fprintf(o, "%lu\n", (unsigned long)atomic_load(&count)); fclose(o); } }
}
