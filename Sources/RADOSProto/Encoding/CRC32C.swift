import CCRC32C
import NIOCore

/// CRC32C (Castagnoli) with Ceph's conventions.
///
/// Ceph's `ceph_crc32c(seed, data, len)` (`src/common/crc32c.cc`) continues a reflected
/// CRC32C from `seed` and returns it without a final inversion. msgr2 uses seed 0 for
/// frame preambles and seed 0xFFFFFFFF for segments (`src/msg/async/frames_v2.cc`).
/// The textbook check value (`"123456789"` → 0xE3069283) is `~crc(~0, …)`.
///
/// On x86-64 with SSE4.2 this runs the crc32 instruction (the `CCRC32C` target), as
/// three interleaved chains on buffers of 768 bytes and more; elsewhere a slicing-by-8
/// table in Swift.
package enum CRC32C {
    package static let hardwareAvailable: Bool = ccrc32c_hardware_available() != 0

    /// Continues `crc` over `bytes`.
    package static func checksum(_ bytes: UnsafeRawBufferPointer, seed crc: UInt32) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        if hardwareAvailable {
            return ccrc32c_hardware(crc, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        return software(bytes, seed: crc)
    }

    /// Continues `crc` over the readable bytes of `buffer`.
    package static func checksum(_ buffer: ByteBuffer, seed crc: UInt32) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0, seed: crc) }
    }

    /// Continues `crc` over `bytes`.
    package static func checksum(_ bytes: some Sequence<UInt8>, seed crc: UInt32) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), seed: crc) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, seed: crc) }
    }

    /// Continues `crc` over `count` zero bytes (Ceph's `ceph_crc32c(seed, NULL, len)`).
    package static func checksumOfZeros(count: Int, seed crc: UInt32) -> UInt32 {
        let zeros = [UInt8](repeating: 0, count: min(count, 4096))
        var crc = crc
        var left = count
        while left > 0 {
            let n = min(left, zeros.count)
            crc = zeros.withUnsafeBytes { checksum(UnsafeRawBufferPointer(rebasing: $0[0..<n]), seed: crc) }
            left -= n
        }
        return crc
    }

    // MARK: portable fallback

    /// Slicing-by-8 tables for the reflected Castagnoli polynomial 0x82F63B78.
    static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            tables[0][i] = c
        }
        for i in 0..<256 {
            for t in 1..<8 {
                let previous = tables[t - 1][i]
                tables[t][i] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The table-driven implementation (also used by tests to check the hardware path).
    package static func software(_ bytes: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        var crc = seed
        var index = 0
        let count = bytes.count
        tables.withUnsafeBufferPointer { t in
            let t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7]
            while count - index >= 8 {
                let lo = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
                let hi = UInt32(bytes[index + 4]) | UInt32(bytes[index + 5]) << 8 | UInt32(bytes[index + 6]) << 16 | UInt32(bytes[index + 7]) << 24
                let x = crc ^ lo
                crc = t7[Int(x & 0xFF)] ^ t6[Int((x >> 8) & 0xFF)] ^ t5[Int((x >> 16) & 0xFF)] ^ t4[Int(x >> 24)]
                    ^ t3[Int(hi & 0xFF)] ^ t2[Int((hi >> 8) & 0xFF)] ^ t1[Int((hi >> 16) & 0xFF)] ^ t0[Int(hi >> 24)]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ t0[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
                index += 1
            }
        }
        return crc
    }
}
