#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SSE4.2 crc32 instruction, else 0.
int ccrc32c_hardware_available(void);

/// CRC32C (Castagnoli, reflected) of `length` bytes continuing from `crc`, using the
/// crc32 instruction. No inversion in or out: the caller's seed passes through, as in
/// Ceph's ceph_crc32c(). Only call when ccrc32c_hardware_available() returned 1: that
/// call also builds (once, thread-safely) the tables this function uses.
uint32_t ccrc32c_hardware(uint32_t crc, const uint8_t *data, size_t length);

#endif
