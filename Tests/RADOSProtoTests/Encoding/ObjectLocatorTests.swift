import NIOCore
import Testing
@testable import RADOSProto

/// `object_locator_t` and the legacy envelope (`DECODE_START_LEGACY_COMPAT_LEN`).
@Suite struct ObjectLocatorTests {
    @Test func currentFixture() throws {
        let locator = ObjectLocator(pool: 2, namespace: "ns1")
        let bytes = Denc.bytes { $0.writeDencObjectLocator(locator) }
        #expect(bytes == [
            0x06,                                           // struct_v 6
            0x03,                                           // struct_compat 3 (no hash)
            0x1F, 0x00, 0x00, 0x00,                         // struct_len 31
            0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   i64 pool 2
            0xFF, 0xFF, 0xFF, 0xFF,                         //   i32 preferred -1
            0x00, 0x00, 0x00, 0x00,                         //   key ""
            0x03, 0x00, 0x00, 0x00, 0x6E, 0x73, 0x31,       //   namespace "ns1"
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, //   i64 hash -1
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencObjectLocator() } == locator)
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencObjectLocator() }
    }

    @Test func aHashRaisesTheCompatVersion() throws {
        let locator = ObjectLocator(pool: 1, hash: 0x1234)
        let bytes = Denc.bytes { $0.writeDencObjectLocator(locator) }
        #expect(bytes[0] == 6) // struct_v
        #expect(bytes[1] == 6) // struct_compat: older decoders cannot honour the hash
        #expect(try Denc.decode(bytes) { try $0.readDencObjectLocator() } == locator)
    }

    @Test func version4HasNoNamespaceOrHash() throws {
        let bytes: [UInt8] = [
            0x04,                                           // struct_v 4
            0x03,                                           // struct_compat 3
            0x11, 0x00, 0x00, 0x00,                         // struct_len 17
            0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   i64 pool 7
            0xFF, 0xFF, 0xFF, 0xFF,                         //   i32 preferred
            0x01, 0x00, 0x00, 0x00, 0x6B,                   //   key "k"
        ]
        #expect(try Denc.decode(bytes) { try $0.readDencObjectLocator() } == ObjectLocator(pool: 7, key: "k"))
    }

    @Test func version1HasNoCompatNoLengthAndA32BitPool() throws {
        var buffer = ByteBuffer(bytes: [
            0x01,                   // struct_v 1: no compat, no length follow
            0xFE, 0xFF, 0xFF, 0xFF, // i32 pool -2
            0xFF, 0xFF,             // i16 preferred
            0x00, 0x00, 0x00, 0x00, // key ""
            0x2A,                   // the next field: not skipped, there is no length
        ])
        #expect(try buffer.readDencObjectLocator() == ObjectLocator(pool: -2))
        #expect(try buffer.readDencU8() == 0x2A)
        let legacy: [UInt8] = [0x01, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00]
        Denc.expectEveryTruncationThrows(legacy) { try $0.readDencObjectLocator() }
        // Errors in a body without a length already carry offsets of this buffer.
        var short = ByteBuffer(bytes: legacy.prefix(9))
        let error = Denc.error { _ = try short.readDencObjectLocator() }
        #expect(error?.offset == 7)
        #expect(error?.context == ["object_locator_t"])
        #expect(short.readerIndex == 0)
    }

    @Test func keyAndHashTogetherAreRefused() {
        var bytes: [UInt8] = [0x06, 0x06, 0x1C, 0x00, 0x00, 0x00]   // v6, compat 6, len 28
        bytes += [1, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]   // pool 1, preferred
        bytes += [0x01, 0x00, 0x00, 0x00, 0x6B]                     // key "k"
        bytes += [0x00, 0x00, 0x00, 0x00]                           // namespace ""
        bytes += [0x05, 0, 0, 0, 0, 0, 0, 0]                        // hash 5
        // 12 + 5 + 4 + 8 = 29 body bytes: fix the length.
        bytes[2] = 29
        var buffer = ByteBuffer(bytes: bytes)
        let error = Denc.error { _ = try buffer.readDencObjectLocator() }
        #expect(error?.kind == .invalidValue("both a locator key and a hash are set"))
        #expect(error?.context == ["object_locator_t"])
        #expect(error?.offset == 18) // the key, in the outer buffer
        #expect(buffer.readerIndex == 0)
    }

    @Test func tooNewCompatIsRefused() {
        var buffer = ByteBuffer(bytes: [0x08, 0x07, 0x00, 0x00, 0x00, 0x00])
        #expect(Denc.errorKind { _ = try buffer.readDencObjectLocator() } == .incompatibleVersion(compat: 7, supported: 6))
    }

    @Test func roundTripsRandomLocators() throws {
        var g = SeededGenerator(seed: 99)
        for _ in 0..<200 {
            let hasHash = Bool.random(using: &g)
            let locator = ObjectLocator(
                pool: Int64(bitPattern: g.next()),
                key: hasHash ? "" : DencPropertyTests.randomString(using: &g),
                namespace: DencPropertyTests.randomString(using: &g),
                hash: hasHash ? Int64(bitPattern: g.next() >> 1) : -1)
            let bytes = Denc.bytes { $0.writeDencObjectLocator(locator) }
            #expect(try Denc.decode(bytes) { try $0.readDencObjectLocator() } == locator)
        }
    }
}
