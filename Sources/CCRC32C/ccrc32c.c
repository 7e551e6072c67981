// Hardware CRC32C for x86-64. The functions carry their own target attribute so the
// package needs no -msse4.2 flag; callers check ccrc32c_hardware_available() first.
//
// The crc32 instruction has a latency of about three cycles but can start one per
// cycle, so a single dependent chain runs at a third of the possible speed. Long
// buffers are therefore cut into three adjacent blocks whose CRCs run as three
// independent chains; the partial results are joined with the usual CRC algebra:
// for the raw (uninverted) register, crc(seed, A || B) = shift(crc(seed, A), |B|) ^
// crc(0, B), where shift(r, n) is r(x) * x^(8n) mod P, i.e. the effect of n zero bytes.
// shift() by a fixed n is linear in r, so it is four table lookups, one per byte of r.
#include "ccrc32c.h"
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

// Reflected Castagnoli polynomial.
#define CRC32C_POLY 0x82F63B78u
// Block sizes of the two interleaved loops: three blocks of LONG bytes, then of SHORT.
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256

// shift tables: [k][b] is the register b << (8 k) advanced over LONG_BLOCK or SHORT_BLOCK zero bytes.
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

// a(x) * b(x) mod P, with bit 31 as the x^0 coefficient (reflected form).
static uint32_t multiply_mod_p(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (int bit = 31; bit >= 0; bit--) {
        if (a & (1u << bit)) {
            product ^= b;
        }
        b = (b & 1u) ? (b >> 1) ^ CRC32C_POLY : b >> 1;
    }
    return product;
}

// x^(8 n) mod P.
static uint32_t x_to_8n_mod_p(size_t n) {
    uint32_t result = 0x80000000u;   // x^0
    uint32_t power = 0x00800000u;    // x^8
    while (n > 0) {
        if (n & 1) {
            result = multiply_mod_p(power, result);
        }
        power = multiply_mod_p(power, power);
        n >>= 1;
    }
    return result;
}

static void fill_shift_table(uint32_t table[4][256], size_t bytes) {
    uint32_t factor = x_to_8n_mod_p(bytes);
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            table[k][b] = multiply_mod_p(factor, b << (8 * k));
        }
    }
}

static void build_tables(void) {
    fill_shift_table(shift_long, LONG_BLOCK);
    fill_shift_table(shift_short, SHORT_BLOCK);
}

static inline uint32_t shift(const uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xFF] ^ table[1][(crc >> 8) & 0xFF] ^ table[2][(crc >> 16) & 0xFF] ^ table[3][crc >> 24];
}

int ccrc32c_hardware_available(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("sse4.2")) {
        return 0;
    }
    pthread_once(&tables_once, build_tables);
    return 1;
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

// Three interleaved chains over three adjacent blocks of `block` bytes each.
__attribute__((target("sse4.2")))
static inline uint64_t crc_triple(uint64_t c, const uint8_t *data, size_t block, const uint32_t table[4][256]) {
    uint64_t c1 = 0, c2 = 0;
    const uint8_t *end = data + block;
    while (data < end) {
        c = _mm_crc32_u64(c, load64(data));
        c1 = _mm_crc32_u64(c1, load64(data + block));
        c2 = _mm_crc32_u64(c2, load64(data + 2 * block));
        data += 8;
    }
    c = shift(table, (uint32_t)c) ^ (uint32_t)c1;
    c = shift(table, (uint32_t)c) ^ (uint32_t)c2;
    return c;
}

__attribute__((target("sse4.2")))
uint32_t ccrc32c_hardware(uint32_t crc, const uint8_t *data, size_t length) {
    uint64_t c = crc;
    while (length > 0 && ((uintptr_t)data & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *data++);
        length--;
    }
    while (length >= 3 * LONG_BLOCK) {
        c = crc_triple(c, data, LONG_BLOCK, shift_long);
        data += 3 * LONG_BLOCK;
        length -= 3 * LONG_BLOCK;
    }
    while (length >= 3 * SHORT_BLOCK) {
        c = crc_triple(c, data, SHORT_BLOCK, shift_short);
        data += 3 * SHORT_BLOCK;
        length -= 3 * SHORT_BLOCK;
    }
    while (length >= 8) {
        c = _mm_crc32_u64(c, load64(data));
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
