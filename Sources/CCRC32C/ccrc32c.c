// Hardware CRC32C for x86-64. The function carries its own target attribute so the
// package needs no -msse4.2 flag; callers check ccrc32c_hardware_available() first.
#include "ccrc32c.h"
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

int ccrc32c_hardware_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

__attribute__((target("sse4.2")))
uint32_t ccrc32c_hardware(uint32_t crc, const uint8_t *data, size_t length) {
    uint64_t c = crc;
    while (length > 0 && ((uintptr_t)data & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *data++);
        length--;
    }
    while (length >= 32) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, data, 8);
        memcpy(&w1, data + 8, 8);
        memcpy(&w2, data + 16, 8);
        memcpy(&w3, data + 24, 8);
        c = _mm_crc32_u64(c, w0);
        c = _mm_crc32_u64(c, w1);
        c = _mm_crc32_u64(c, w2);
        c = _mm_crc32_u64(c, w3);
        data += 32;
        length -= 32;
    }
    while (length >= 8) {
        uint64_t w;
        memcpy(&w, data, 8);
        c = _mm_crc32_u64(c, w);
        data += 8;
        length -= 8;
    }
    while (length > 0) {
        c = _mm_crc32_u8((uint32_t)c, *data++);
        length--;
    }
    return (uint32_t)c;
}

#else

int ccrc32c_hardware_available(void) { return 0; }

uint32_t ccrc32c_hardware(uint32_t crc, const uint8_t *data, size_t length) {
    (void)data;
    (void)length;
    return crc;
}

#endif
