import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// librbd's header notify messages (`src/librbd/WatchNotifyTypes.cc`) and what a client
/// without the exclusive lock answers (`src/librbd/ImageWatcher.cc`).
@Suite struct ImageNotifyTests {
    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    @Test func headerUpdateIsAVersion7MessageWithOpcode3AndNoPayload() {
        let expected: [UInt8] = [7, 1]  // ENCODE_START(7, 1): struct_v 7, compat 1
            + [4, 0, 0, 0]  // length of what follows
            + [3, 0, 0, 0]  // u32 NOTIFY_OP_HEADER_UPDATE; HeaderUpdatePayload encodes nothing
        #expect(Self.bytes(ImageNotify.headerUpdate()) == expected)
        let decoded = try? ImageNotify.decodeMessage(ImageNotify.headerUpdate())
        #expect(decoded?.op == .headerUpdate)
        #expect(decoded?.version == 7)
        #expect(decoded?.payload.readableBytes == 0)
    }

    @Test func anEmptyNotifyIsTheLegacyHeaderUpdate() throws {
        #expect(try ImageNotify.decodeMessage(ByteBuffer()).op == .headerUpdate)
        #expect(ImageNotify.reaction(to: ByteBuffer()).refreshRequired)
    }

    @Test func decodesAnAcquiredLockNotifyKeepingItsPayload() throws {
        var wire: [UInt8] = [7, 1, 20, 0, 0, 0]  // v7, compat 1, 20 bytes
        wire += [0, 0, 0, 0]  // NOTIFY_OP_ACQUIRED_LOCK
        wire += [0x39, 0x30, 0, 0, 0, 0, 0, 0]  // ClientId.gid 12345
        wire += [0x10, 0x20, 0x30, 0x40, 0, 0, 0, 0]  // ClientId.handle (the watch cookie)
        let message = try ImageNotify.decodeMessage(ByteBuffer(bytes: wire))
        #expect(message.op == .acquiredLock)
        #expect(Self.bytes(message.payload) == Array(wire[10...]))
    }

    @Test func unknownOpsDecodeWithTheirRawValue() throws {
        let message = try ImageNotify.decodeMessage(ByteBuffer(bytes: [9, 1, 5, 0, 0, 0, 99, 0, 0, 0, 0xEE]))
        #expect(message.rawOp == 99)
        #expect(message.op == nil)
        #expect(Self.bytes(message.payload) == [0xEE])
    }

    @Test func refusesNewerCompatAndTruncation() {
        // compat 2: librbd's DECODE_START(1, …) refuses it too.
        #expect(throws: DencError.self) { try ImageNotify.decodeMessage(ByteBuffer(bytes: [8, 2, 4, 0, 0, 0, 3, 0, 0, 0])) }
        // The length says 4 bytes, 2 follow.
        #expect(throws: DencError.self) { try ImageNotify.decodeMessage(ByteBuffer(bytes: [7, 1, 4, 0, 0, 0, 3, 0])) }
        // Room for the length but not the opcode.
        #expect(throws: DencError.self) { try ImageNotify.decodeMessage(ByteBuffer(bytes: [7, 1, 2, 0, 0, 0, 3, 0])) }
    }

    @Test func responseMessageCarriesASigned32BitResult() throws {
        let zero: [UInt8] = [1, 1]  // ENCODE_START(1, 1)
            + [4, 0, 0, 0]  // length
            + [0, 0, 0, 0]  // int result 0
        #expect(Self.bytes(ImageNotify.response(0)) == zero)
        let notSupported: [UInt8] = [1, 1, 4, 0, 0, 0] + [0xA1, 0xFF, 0xFF, 0xFF]  // -95 (EOPNOTSUPP)
        #expect(Self.bytes(ImageNotify.response(-95)) == notSupported)
        #expect(try ImageNotify.decodeResponse(ByteBuffer(bytes: notSupported)) == -95)
        #expect(try ImageNotify.decodeResponse(ByteBuffer()) == nil)
        #expect(throws: DencError.self) { try ImageNotify.decodeResponse(ByteBuffer(bytes: [1, 1, 4, 0, 0, 0, 0])) }
    }

    @Test func headerUpdateAsksForARefreshAndIsAnsweredWithResult0() {
        let reaction = ImageNotify.reaction(to: ImageNotify.headerUpdate())
        #expect(reaction.refreshRequired)
        #expect(Self.bytes(reaction.reply) == Self.bytes(ImageNotify.response(0)))
    }

    @Test func quiesceIsAnsweredWithResult0WithoutARefresh() {
        var wire: [UInt8] = [7, 1, 28, 0, 0, 0, 18, 0, 0, 0]  // NOTIFY_OP_QUIESCE
        wire += [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]  // AsyncRequestId.client_id (gid 1, handle 2)
        wire += [3, 0, 0, 0, 0, 0, 0, 0]  // AsyncRequestId.request_id 3
        let reaction = ImageNotify.reaction(to: ByteBuffer(bytes: wire))
        #expect(!reaction.refreshRequired)
        #expect(Self.bytes(reaction.reply) == Self.bytes(ImageNotify.response(0)))
    }

    @Test(arguments: [0, 1, 2, 4, 5, 6, 7, 8, 9, 11, 19, 20, 99] as [UInt32])
    func requestsForTheLockOwnerAndUnknownOpsGetAnEmptyAck(op: UInt32) {
        var wire: [UInt8] = [7, 1, 4, 0, 0, 0]
        withUnsafeBytes(of: op.littleEndian) { wire += $0 }
        let reaction = ImageNotify.reaction(to: ByteBuffer(bytes: wire))
        #expect(!reaction.refreshRequired)
        #expect(reaction.reply.readableBytes == 0)
    }

    @Test func undecodableNotifiesGetAnEmptyAck() {
        let reaction = ImageNotify.reaction(to: ByteBuffer(bytes: [0xFF]))
        #expect(!reaction.refreshRequired)
        #expect(reaction.reply.readableBytes == 0)
    }
}
