import NIOCore
import Testing
@testable import RADOSProto

/// `MPoolOp` / `MPoolOpReply` against annotated byte layouts from ceph/ceph
/// `src/messages/MPoolOp.h` and `MPoolOpReply.h`.
@Suite struct MPoolOpTests {
    static let fsid: [UInt8] = Array(0x10..<0x20)

    @Test func createUnmanagedSnapEncodesLikeObjecter() {
        let message = MPoolOp(tid: 9, fsid: Self.fsid, pool: 3, operation: .createUnmanagedSnapshot, osdmapEpoch: 42).encode()
        #expect(message.type == 49)
        #expect(message.header.tid == 9)
        #expect(message.header.version == 4)
        #expect(message.header.compatVersion == 2)
        #expect(message.front.msgrHex == msgrFixtureBuffer("""
            2a00000000000000 ffff 0000000000000000    paxos: version = osdmap epoch 42, session mon -1, tid 0
            101112131415161718191a1b1c1d1e1f          fsid
            03000000                                  pool 3
            21000000                                  op POOL_OP_CREATE_UNMANAGED_SNAP
            0000000000000000                          auid
            0000000000000000                          snapid
            00000000                                  name (empty)
            00                                        pad
            0000                                      crush rule
            """).msgrHex)
    }

    @Test func deleteUnmanagedSnapCarriesTheSnapID() {
        let message = MPoolOp(tid: 1, fsid: Self.fsid, pool: 1, operation: .deleteUnmanagedSnapshot, snapID: 0x1234, osdmapEpoch: 7).encode()
        var front = message.front
        front.moveReaderIndex(forwardBy: 18 + 16 + 4)
        #expect(front.readInteger(endianness: .little, as: UInt32.self) == 0x22)
        #expect(front.readInteger(endianness: .little, as: UInt64.self) == 0)
        #expect(front.readInteger(endianness: .little, as: UInt64.self) == 0x1234)
    }

    static let replyWithSnapID = """
        0c00000000000000 ffff 0000000000000000    paxos: last committed 12, session mon -1, tid 0
        101112131415161718191a1b1c1d1e1f          fsid
        00000000                                  reply code 0
        2b000000                                  epoch 43
        01                                        has response data
        08000000 0500000000000000                 response: snapid 5
        """

    @Test func replyDecodesTheNewSnapID() throws {
        let message = Message(type: 48, version: 1, tid: 9, front: msgrFixtureBuffer(Self.replyWithSnapID))
        let reply = try MPoolOpReply.decode(message)
        #expect(reply.tid == 9)
        #expect(reply.result == 0)
        #expect(reply.epoch == 43)
        #expect(reply.paxosVersion == 12)
        #expect(reply.fsid == Self.fsid)
        #expect(try reply.createdSnapID() == 5)
        // And it encodes back to the same bytes.
        #expect(reply.encode().front.msgrHex == msgrFixtureBuffer(Self.replyWithSnapID).msgrHex)
    }

    @Test func refusalWithoutDataAndBadInput() throws {
        let refused = MPoolOpReply(tid: 2, fsid: Self.fsid, result: -22, epoch: 10)
        let decoded = try MPoolOpReply.decode(refused.encode())
        #expect(decoded.result == -22)
        #expect(decoded.responseData == nil)
        #expect(throws: DencError.self) { try decoded.createdSnapID() }
        // Every truncation, a trailing byte, and an oversized response length are refused.
        let bytes = msgrFixtureBytes(Self.replyWithSnapID)
        for cut in 0..<bytes.count {
            #expect(throws: (any Error).self) { try MPoolOpReply.decode(Message(type: 48, version: 1, front: ByteBuffer(bytes: bytes.prefix(cut)))) }
        }
        #expect(throws: (any Error).self) { try MPoolOpReply.decode(Message(type: 48, version: 1, front: ByteBuffer(bytes: bytes + [0]))) }
        var huge = Array(bytes.prefix(43))  // up to the response length
        huge += [0xff, 0xff, 0xff, 0x7f]
        #expect(throws: (any Error).self) { try MPoolOpReply.decode(Message(type: 48, version: 1, front: ByteBuffer(bytes: huge))) }
        // A snap id that is not exactly 8 bytes is refused.
        let short = MPoolOpReply(tid: 1, fsid: Self.fsid, result: 0, epoch: 1, responseData: ByteBuffer(bytes: [1, 2, 3]))
        #expect(throws: DencError.self) { try short.createdSnapID() }
    }
}
