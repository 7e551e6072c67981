import NIOCore
import Testing

@testable import RADOSProto

/// The full OSDMap decoder on an osdmaptool-made fixture (see `OSDMapFixtures.swift`),
/// and on malformed copies of it.
@Suite struct OSDMapDecodeTests {
    @Test func decodesAndMapsLikeOsdmaptool() throws {
        let map = try OSDMap(decoding: OSDMapFixtures.twelveOSDs)
        #expect(map.epoch == 5 && map.maxOSD == 12)
        #expect(map.poolNames == [1: "rbd"])
        let pool = try #require(map.pools[1])
        #expect(pool.type == PoolInfo.typeReplicated && pool.size == 3 && pool.minSize == 2 && pool.pgNum == 48)
        // Fields past the placement ones (osdmaptool --print: "autoscale_mode on ... application rbd").
        #expect(pool.applicationMetadata.keys.sorted() == ["rbd"])
        #expect(pool.pgNumTarget == 48 && pool.pgpNumTarget == 48 && pool.pgNumPending == 48)
        #expect(pool.autoscaleMode == 2 && pool.lastForceOpResend == 0 && !pool.fastRead)
        #expect(map.pgUpmapItems.count == 4)
        #expect((0..<12).allSatisfy { map.isUp(Int32($0)) && map.weight(Int32($0)) == 0x10000 })
        let lines = OSDMapTestReport.pgDump(map: map, pool: 1, all: true).filter { $0.contains(" raw ") }
        #expect(lines == OSDMapFixtures.twelveOSDsDumpAll)
    }

    @Test func everyTruncationThrows() {
        let full = OSDMapFixtures.twelveOSDs
        for length in 0..<full.readableBytes {
            #expect(throws: DencError.self) { try OSDMap(decoding: full.getSlice(at: 0, length: length)!) }
        }
    }

    @Test func corruptionIsCaughtByTheCRCOrDecodes() {
        let seed = TestSeed(Self.self)
        var generator = seed.generator()
        let full = Array(OSDMapFixtures.twelveOSDs.readableBytesView)
        for _ in 0..<300 {
            var bytes = full
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[index] ^= UInt8.random(in: 1...255, using: &generator)
            // Any single-byte change either fails to decode or fails the CRC; never traps.
            #expect(throws: (any Error).self, "byte \(index) changed; \(seed)") { try OSDMap(decoding: ByteBuffer(bytes: bytes)) }
        }
    }
}
