import NIOCore
import Testing
@testable import RADOSProto

@Suite struct MonMessagesTests {
    @Test func subscribeEncodesLikeTheKernel() throws {
        let message = MMonSubscribe(what: ["osdmap": .init(start: 5), "monmap": .init(start: 0, flags: MMonSubscribe.flagOneTime)], hostname: "h").encode()
        #expect(message.type == 15)
        #expect(message.header.version == 3)
        let expected = """
            02000000                    2 entries, in key order
            06000000 6d6f6e6d6170       "monmap"
            0000000000000000 01         start 0, ONETIME
            06000000 6f73646d6170       "osdmap"
            0500000000000000 00         start 5, no flags
            01000000 68                 hostname "h"
            """
        #expect(message.front.msgrHex == msgrFixtureBuffer(expected).msgrHex)
        #expect(try MMonSubscribe.decode(message) == MMonSubscribe(what: ["osdmap": .init(start: 5), "monmap": .init(start: 0, flags: 1)], hostname: "h"))
    }

    @Test func authAndCommandEnvelopes() throws {
        let auth = MAuth(payload: ByteBuffer(bytes: [0xAA]), monmapEpoch: 3).encode()
        #expect(auth.front.msgrHex == msgrFixtureBuffer("""
            0000000000000000 ffff 0000000000000000    paxos header: version 0, session mon -1, tid 0
            02000000                                  protocol cephx
            01000000 aa                               payload
            03000000                                  monmap epoch
            """).msgrHex)
        let command = MMonCommand(tid: 7, fsid: Array(0..<16), command: ["{}"]).encode()
        #expect(command.header.tid == 7)
        #expect(command.front.msgrHex == msgrFixtureBuffer("""
            0000000000000000 ffff 0000000000000000    paxos header
            000102030405060708090a0b0c0d0e0f          fsid
            01000000 02000000 7b7d                    ["{}"]
            """).msgrHex)
    }

    @Test func monMapDecodesFsidAndEpochAndRefusesGarbage() throws {
        var map = ByteBuffer()
        map.writeDencVersioned(version: 9, compat: 6) { b in
            b.writeBytes(Array(0..<16) as [UInt8])
            b.writeDencU32(4)
            b.writeString("rest of the map")
        }
        var front = ByteBuffer()
        front.writeDencBytes(map)
        let decoded = try MMonMap.decode(Message(type: 4, version: 1, front: front))
        #expect(decoded.fsid.description == "00010203-0405-0607-0809-0a0b0c0d0e0f")
        #expect(decoded.epoch == 4)
        for garbage in [[], [1, 0, 0, 0], [255, 255, 255, 255, 1]] as [[UInt8]] {
            #expect(throws: (any Error).self) { try MMonMap.decode(Message(type: 4, version: 1, front: ByteBuffer(bytes: garbage))) }
        }
    }

    @Test func header2RoundTrips() throws {
        var h = MessageHeader2(type: 42, version: 8, compatVersion: 3)
        h.seq = 9
        h.tid = 10
        h.ackSeq = 11
        h.dataOffset = 4096
        var b = ByteBuffer()
        h.encode(into: &b)
        #expect(b.readableBytes == MessageHeader2.length)
        #expect(try MessageHeader2.decode(b) == h)
    }
}
