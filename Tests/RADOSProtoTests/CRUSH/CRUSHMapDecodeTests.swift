import NIOCore
import Testing

@testable import RADOSProto

/// The binary CRUSH map decoder on malformed input: it must throw, never trap.
@Suite struct CRUSHMapDecodeTests {
    @Test func everyTruncationThrows() {
        let full = CRUSHFixtures.mixed
        // Tunables and later sections are optional: a map cut after the names decodes,
        // so only require that no prefix traps, and that cuts inside the buckets throw.
        for length in 0..<full.readableBytes {
            let prefix = full.getSlice(at: full.readerIndex, length: length) ?? ByteBuffer()
            let result = Result { try CRUSHMap(decoding: prefix) }
            if length < 200 {
                #expect(throws: DencError.self) { try result.get() }
            }
        }
    }

    /// Seeded (``TestSeed``): a trap prints nothing else, so the seed is printed first.
    @Test func corruptedBytesNeverTrap() {
        let full = CRUSHFixtures.mixed
        let seed = TestSeed(Self.self)
        var generator = seed.generator()
        for _ in 0..<300 {
            var bytes = Array(full.readableBytesView)
            for _ in 0..<3 {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
            // Maps whose (corrupted) retry tunables are huge are legal but slow to map:
            // decode them, map only the others.
            if let map = try? CRUSHMap(decoding: ByteBuffer(bytes: bytes)),
                map.tunables.chooseTotalTries <= 100, map.tunables.chooseLocalTries <= 100,
                map.tunables.chooseLocalFallbackTries <= 100,
                map.rules.allSatisfy({ $0?.steps.allSatisfy { $0.op < 8 || $0.arg1 <= 100 } ?? true })
            {
                // Whatever decoded must also map without trapping.
                let mapper = CRUSHMapper(map: map)
                var out: [Int32] = []
                for x in Int32(0)..<8 {
                    for rule in map.rules.indices {
                        mapper.doRule(rule, x: x, resultMax: 3, weights: [UInt32](repeating: 0x10000, count: 16), into: &out)
                    }
                }
            }
        }
    }

    @Test func badMagicAndHugeCountsThrow() {
        var buffer = ByteBuffer()
        buffer.writeDencU32(0x1234)
        #expect(throws: DencError.self) { try CRUSHMap(decoding: buffer) }
        buffer.clear()
        buffer.writeDencU32(CRUSHMap.magic)
        buffer.writeDencI32(Int32.max)  // max_buckets
        buffer.writeDencU32(0)
        buffer.writeDencI32(0)
        #expect(throws: DencError.self) { try CRUSHMap(decoding: buffer) }
        buffer.clear()
        buffer.writeDencU32(CRUSHMap.magic)
        buffer.writeDencI32(1)
        buffer.writeDencU32(0)
        buffer.writeDencI32(0)
        buffer.writeDencU32(5)  // straw2 bucket claiming 2^31 items
        buffer.writeDencI32(-1)
        buffer.writeDencU16(1)
        buffer.writeDencU8(5)
        buffer.writeDencU8(0)
        buffer.writeDencU32(0)
        buffer.writeDencU32(0x8000_0000)
        #expect(throws: DencError.self) { try CRUSHMap(decoding: buffer) }
    }
}
