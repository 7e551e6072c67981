import NIOCore
import Testing
@testable import RADOSProto

@Suite struct EntityAddressTests {
    /// v2:127.0.0.1:3300/0 in the new encoding, field by field.
    static let monV2 = """
        01                      marker: new encoding
        01 01 1c000000          struct v1, compat 1, 28 bytes
        02000000                type MSGR2
        00000000                nonce 0
        10000000                sockaddr length 16
        0200                    family AF_INET (little-endian)
        0ce4                    port 3300 (big-endian)
        7f000001                127.0.0.1
        0000000000000000        sin_zero
        """

    @Test func encodesNewFormIPv4() throws {
        let addr = EntityAddress.ipv4("127.0.0.1", port: 3300)!
        var b = ByteBuffer()
        b.writeEntityAddress(addr)
        #expect(b.msgrHex == msgrFixtureBuffer(Self.monV2).msgrHex)
        var r = b
        #expect(try r.readEntityAddress() == addr)
        #expect(r.readableBytes == 0)
        #expect(addr.description == "v2:127.0.0.1:3300/0")
    }

    @Test func legacyFormRoundTripsWithBigEndianFamily() throws {
        let addr = EntityAddress.ipv4("10.1.2.3", port: 6789, type: .legacy, nonce: 77)!
        var b = ByteBuffer()
        b.writeLegacyEntityAddress(addr)
        #expect(b.readableBytes == 136)
        #expect(b.getBytes(at: 8, length: 4) == [0x00, 0x02, 0x1a, 0x85])
        let decoded = try b.readEntityAddress()
        #expect(decoded == addr)
    }

    @Test func ipv6AndBlank() throws {
        let v6 = EntityAddress(type: .msgr2, nonce: 9, endpoint: .ipv6([UInt8](repeating: 0, count: 15) + [1], port: 3300, flowInfo: 0, scopeID: 0))
        var b = ByteBuffer()
        b.writeEntityAddress(v6)
        #expect(b.readableBytes == 1 + 6 + 12 + 28)
        #expect(try b.readEntityAddress() == v6)
        var blank = ByteBuffer()
        blank.writeEntityAddress(.blank)
        #expect(try blank.readEntityAddress() == .blank)
    }

    @Test func parsesNumericHosts() throws {
        #expect(EntityAddress.ip("10.0.0.1", port: 3300) == EntityAddress.ipv4("10.0.0.1", port: 3300))
        let v6 = try #require(EntityAddress.ip("[::1]", port: 3300))
        #expect(v6.host == "0:0:0:0:0:0:0:1")
        #expect(v6.port == 3300)
        #expect(EntityAddress.ip("mon.example", port: 3300) == nil)
        #expect(EntityAddress.ipv4("300.1.1.1", port: 1) == nil)
    }

    @Test func vectorAcceptsAllThreeMarkers() throws {
        let a = EntityAddress.ipv4("127.0.0.1", port: 3300)!
        let b = EntityAddress.ipv4("127.0.0.1", port: 6789, type: .legacy)!
        var vec = ByteBuffer()
        vec.writeEntityAddressVector([a, b])
        #expect(try vec.readEntityAddressVector() == [a, b])
        var single = ByteBuffer()
        single.writeEntityAddress(a)
        #expect(try single.readEntityAddressVector() == [a])
        var legacy = ByteBuffer()
        legacy.writeLegacyEntityAddress(b)
        #expect(try legacy.readEntityAddressVector() == [b])
    }

    @Test func rejectsGarbageWithoutTrapping() {
        for bytes in [[UInt8](), [7], [1, 1, 1, 255, 255, 255, 255], [2, 255, 255, 255, 255], [1, 1, 1, 12, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0]] {
            var b = ByteBuffer(bytes: bytes)
            #expect(throws: (any Error).self) { try b.readEntityAddressVector() }
        }
    }
}
