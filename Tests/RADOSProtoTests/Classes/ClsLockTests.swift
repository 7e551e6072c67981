import NIOCore
import Testing
@testable import RADOSProto

/// The `lock` class's inputs byte by byte (`cls_lock_ops.h`), and its replies decoded
/// from annotated fixtures, garbage refused.
@Suite struct ClsLockTests {
    /// The data segment of a class call: class name, method name, then the input.
    static func callInput(_ op: OSDOp, method: String) -> [UInt8] {
        var data = op.input
        #expect(data.readString(length: "lock".utf8.count + method.utf8.count) == "lock" + method)
        #expect(op.code == .call)
        return Array(data.readableBytesView)
    }

    static func string(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return [UInt8(bytes.count), 0, 0, 0] + bytes
    }

    @Test func lockEncodesEveryFieldInOrder() {
        let op = ClsLock.lock(name: "rbd_lock", type: .exclusive, cookie: "auto 140", tag: "internal", description: "", duration: UTime(seconds: 30, nanoseconds: 0), flags: .mayRenew)
        var body: [UInt8] = []
        body += Self.string("rbd_lock")  // name
        body += [1]  // type: LOCK_EXCLUSIVE
        body += Self.string("auto 140")  // cookie
        body += Self.string("internal")  // tag
        body += Self.string("")  // description
        body += [30, 0, 0, 0, 0, 0, 0, 0]  // duration: utime_t 30 s
        body += [1]  // flags: LOCK_FLAG_MAY_RENEW
        let expected: [UInt8] = [1, 1] + [UInt8(body.count), 0, 0, 0] + body  // ENCODE_START(1, 1)
        #expect(Self.callInput(op, method: "lock") == expected)
    }

    @Test func unlockBreakAndGetInfoInputs() {
        #expect(Self.callInput(ClsLock.unlock(name: "n", cookie: "c"), method: "unlock") == [1, 1, 10, 0, 0, 0] + Self.string("n") + Self.string("c"))
        let breakBody = Self.string("n") + [8] + [0x39, 0x30, 0, 0, 0, 0, 0, 0] + Self.string("c")  // client.12345
        #expect(Self.callInput(ClsLock.breakLock(name: "n", locker: .client(12345), cookie: "c"), method: "break_lock") == [1, 1, UInt8(breakBody.count), 0, 0, 0] + breakBody)
        #expect(Self.callInput(ClsLock.getInfo(name: "rbd_lock"), method: "get_info") == [1, 1, 12, 0, 0, 0] + Self.string("rbd_lock"))
        #expect(Self.callInput(ClsLock.listLocks(), method: "list_locks").isEmpty)
    }

    /// A reply with one exclusive holder, as an OSD sends it.
    static func infoReply(address: EntityAddress) -> ByteBuffer {
        var lockerID = ByteBuffer()
        lockerID.writeDencVersioned(version: 1, compat: 1) {
            $0.writeBytes([8] + [0x10, 0x27, 0, 0, 0, 0, 0, 0])  // entity_name_t: client.10000
            $0.writeBytes(Self.string("auto 7"))  // cookie
        }
        var lockerInfo = ByteBuffer()
        lockerInfo.writeDencVersioned(version: 1, compat: 1) {
            $0.writeBytes([0x64, 0, 0, 0, 0x20, 0xA1, 0x07, 0])  // expiration: 100 s + 500000 ns
            $0.writeEntityAddress(address)  // entity_addr_t (new-style, as with MSG_ADDR2)
            $0.writeBytes(Self.string("held by a test"))  // description
        }
        var reply = ByteBuffer()
        reply.writeDencVersioned(version: 1, compat: 1) {
            $0.writeBytes([1, 0, 0, 0])  // map: one entry
            $0.writeImmutableBuffer(lockerID)
            $0.writeImmutableBuffer(lockerInfo)
            $0.writeBytes([1])  // lock type: exclusive
            $0.writeBytes(Self.string("internal"))  // tag
        }
        return reply
    }

    @Test func getInfoReplyDecodes() throws {
        let address = EntityAddress(type: .any, nonce: 12345, endpoint: .ipv4(127, 0, 0, 1, port: 6800))
        let info = try ClsLock.decodeInfo(Self.infoReply(address: address))
        #expect(info.type == .exclusive && info.tag == "internal")
        #expect(info.lockers == [ClsLock.Locker(entity: .client(10000), cookie: "auto 7", expiration: UTime(seconds: 100, nanoseconds: 500_000), address: address, description: "held by a test")])
        var list = ByteBuffer()
        list.writeDencVersioned(version: 1, compat: 1) { $0.writeBytes([2, 0, 0, 0] + Self.string("a") + Self.string("rbd_lock")) }
        #expect(try ClsLock.decodeList(list) == ["a", "rbd_lock"])
    }

    @Test func damagedRepliesAreRefused() throws {
        let address = EntityAddress(type: .any, nonce: 12345, endpoint: .ipv4(127, 0, 0, 1, port: 6800))
        let reply = Self.infoReply(address: address)
        // Every truncation fails; so does an unknown lock type and a trailing byte.
        for length in 0..<reply.readableBytes {
            #expect(throws: (any Error).self) { try ClsLock.decodeInfo(reply.getSlice(at: reply.readerIndex, length: length) ?? ByteBuffer()) }
        }
        var badType = reply
        let typeIndex = badType.writerIndex - Self.string("internal").count - 1
        badType.setInteger(UInt8(9), at: typeIndex)
        #expect(throws: (any Error).self) { try ClsLock.decodeInfo(badType) }
        var trailing = reply
        trailing.writeInteger(UInt8(0))
        #expect(throws: (any Error).self) { try ClsLock.decodeInfo(trailing) }
    }
}
