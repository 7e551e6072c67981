import NIOCore
import Testing
@testable import RADOSProto

@Suite struct CRC32CTests {
    /// The textbook check value of CRC32C is the inverted-in, inverted-out CRC of "123456789".
    @Test func textbookCheckValue() {
        let crc = ~CRC32C.checksum(Array("123456789".utf8), seed: 0xFFFF_FFFF)
        #expect(crc == 0xE306_9283)
    }

    /// Vectors from ceph/ceph src/test/common/test_crc32c.cc (seed passed through, no final xor).
    @Test func cephVectors() {
        let a = Array("foo bar baz".utf8)
        let b = Array("whiz bang boom".utf8)
        #expect(CRC32C.checksum(a, seed: 0) == 4_119_623_852)
        #expect(CRC32C.checksum(a, seed: 1234) == 881_700_046)
        #expect(CRC32C.checksum(b, seed: 0) == 2_360_230_088)
        #expect(CRC32C.checksum(b, seed: 5678) == 3_743_019_208)
        // Partial words and a large buffer of 0x01 bytes.
        #expect(CRC32C.checksum([UInt8](repeating: 1, count: 5), seed: 0) == 2_715_569_182)
        #expect(CRC32C.checksum([UInt8](repeating: 1, count: 35), seed: 0) == 440_531_800)
        let big = [UInt8](repeating: 1, count: 4_096_000)
        #expect(CRC32C.checksum(big, seed: 0) == 31_583_199)
        #expect(CRC32C.checksum(big, seed: 1234) == 1_400_919_119)
    }

    @Test func hardwareAndSoftwareAgreeOnEveryLengthAndAlignment() {
        let data = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        data.withUnsafeBytes { raw in
            for start in 0..<9 {
                for length in 0...(300 - start - 1) where length % 7 == 0 || length < 40 {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    #expect(CRC32C.checksum(slice, seed: 0xFFFF_FFFF) == CRC32C.software(slice, seed: 0xFFFF_FFFF))
                }
            }
        }
    }

    /// Lengths around the interleaved loops' block boundaries (three blocks of 256 and of
    /// 8192 bytes), at several alignments, against the table-driven implementation.
    @Test func hardwareAndSoftwareAgreeAroundInterleavedBlockSizes() {
        var generator = SeededGenerator(seed: 0xC4C)
        let data = (0..<(3 * 8192 * 3 + 4096)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let lengths = [767, 768, 769, 1535, 1536, 1537, 4096, 24_575, 24_576, 24_577, 49_152, 3 * 8192 + 768 + 7, data.count - 8]
        data.withUnsafeBytes { raw in
            for start in [0, 1, 5, 8] {
                for length in lengths {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    for seed: UInt32 in [0, 0xFFFF_FFFF, 0x1234_5678] {
                        #expect(CRC32C.checksum(slice, seed: seed) == CRC32C.software(slice, seed: seed), "start \(start) length \(length)")
                    }
                }
            }
        }
    }

    @Test func checksumContinuesAcrossPieces() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        let whole = CRC32C.checksum(data, seed: 7)
        let firstHalf = CRC32C.checksum(data[0..<333], seed: 7)
        #expect(CRC32C.checksum(data[333...], seed: firstHalf) == whole)
        #expect(CRC32C.checksumOfZeros(count: 5000, seed: 9) == CRC32C.checksum([UInt8](repeating: 0, count: 5000), seed: 9))
        #expect(CRC32C.checksum(ByteBuffer(bytes: data), seed: 7) == whole)
    }
}
