import NIOCore
import Testing
@testable import RADOSProto

/// `hobject_t` fixtures and Ceph's decode fix-ups.
@Suite struct HObjectTests {
    @Test func headObjectFixture() throws {
        let object = HObject(name: "rbd_data.1", hash: 0x1234_5678, pool: 2)
        let bytes = Denc.bytes { $0.writeDencHObject(object) }
        var expected: [UInt8] = [
            0x04,                   // struct_v 4
            0x03,                   // struct_compat 3
            0x2B, 0x00, 0x00, 0x00, // struct_len 43
            0x00, 0x00, 0x00, 0x00, //   key ""
            0x0A, 0x00, 0x00, 0x00, //   name length 10
        ]
        expected += Array("rbd_data.1".utf8)                    //   name
        expected += [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] //   snap CEPH_NOSNAP (head)
        expected += [0x78, 0x56, 0x34, 0x12]                    //   hash 0x12345678
        expected += [0x00]                                      //   max false
        expected += [0x00, 0x00, 0x00, 0x00]                    //   namespace ""
        expected += [0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00] //   pool 2
        #expect(bytes == expected)
        #expect(try Denc.decode(bytes) { try $0.readDencHObject() } == object)
        #expect(object.description == "2:12345678:::rbd_data.1:head")
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencHObject() }
    }

    @Test func maxIsCanonicalised() throws {
        let odd = HObject(name: "x", snap: 3, hash: 9, isMax: true, namespace: "n", pool: 5)
        let bytes = Denc.bytes { $0.writeDencHObject(odd) }
        let decoded = try Denc.decode(bytes) { try $0.readDencHObject() }
        #expect(decoded == HObject.max)
        #expect(decoded.description == "MAX")
    }

    @Test func hammerMinBecomesTheMinObject() throws {
        let hammerMin = HObject(name: "", snap: 0, hash: 0, pool: -1)
        let bytes = Denc.bytes { $0.writeDencHObject(hammerMin) }
        #expect(try Denc.decode(bytes) { try $0.readDencHObject() } == HObject.min)
    }

    @Test func version3HasNoNamespaceOrPool() throws {
        var bytes: [UInt8] = [0x03, 0x03, 0x16, 0x00, 0x00, 0x00] // v3, compat 3, len 22
        bytes += [0x00, 0x00, 0x00, 0x00]                         //   key ""
        bytes += [0x01, 0x00, 0x00, 0x00, 0x6F]                   //   name "o"
        bytes += [0x05, 0, 0, 0, 0, 0, 0, 0]                      //   snap 5
        bytes += [0x01, 0x00, 0x00, 0x00]                         //   hash 1
        bytes += [0x00]                                           //   max false
        let decoded = try Denc.decode(bytes) { try $0.readDencHObject() }
        #expect(decoded == HObject(name: "o", snap: 5, hash: 1, pool: .min))
    }

    @Test func roundTripsRandomObjects() throws {
        var g = SeededGenerator(seed: 0x0B1EC7)
        for _ in 0..<200 {
            let object = HObject(
                name: DencPropertyTests.randomString(using: &g) + "x", // non-empty: avoids the min fix-up
                key: DencPropertyTests.randomString(using: &g),
                snap: g.next(), hash: .random(in: 0...UInt32.max, using: &g),
                namespace: DencPropertyTests.randomString(using: &g),
                pool: Int64(bitPattern: g.next()))
            let bytes = Denc.bytes { $0.writeDencHObject(object) }
            #expect(try Denc.decode(bytes) { try $0.readDencHObject() } == object)
        }
    }
}
