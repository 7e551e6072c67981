import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// librbd's exclusive-lock messages byte by byte (`WatchNotifyTypes.cc`), older message
/// versions decoded as librbd decodes them, and librbd's lock cookie.
@Suite struct ImageNotifyLockTests {
    @Test func requestLockEncodesTheClientAndForce() throws {
        let bytes = Array(ImageNotify.requestLock(.init(globalID: 4242, handle: 0x1_0000_0001), force: true).readableBytesView)
        let body: [UInt8] = [2, 0, 0, 0]  // op: REQUEST_LOCK
            + [0x92, 0x10, 0, 0, 0, 0, 0, 0]  // ClientId.gid 4242
            + [1, 0, 0, 0, 1, 0, 0, 0]  // ClientId.handle 0x1_0000_0001
            + [1]  // force
        #expect(bytes == [7, 1, UInt8(body.count), 0, 0, 0] + body)  // NotifyMessage v7, compat 1
        let decoded = try ImageNotify.decodeLockMessage(ByteBuffer(bytes: bytes))
        #expect(decoded == ImageNotify.LockMessage(op: .requestLock, client: .init(globalID: 4242, handle: 0x1_0000_0001), force: true))
    }

    @Test func acquiredAndReleasedRoundTripAndOtherOpsAreNotLockMessages() throws {
        let client = ImageNotify.ClientID(globalID: 7, handle: 94_000_000_123)
        #expect(try ImageNotify.decodeLockMessage(ImageNotify.acquiredLock(client)) == .init(op: .acquiredLock, client: client, force: false))
        #expect(try ImageNotify.decodeLockMessage(ImageNotify.releasedLock(client)) == .init(op: .releasedLock, client: client, force: false))
        #expect(try ImageNotify.decodeLockMessage(ImageNotify.headerUpdate()) == nil)
        // Version 1 messages carry no client; version 2 requests no force flag.
        #expect(try ImageNotify.decodeLockMessage(ByteBuffer(bytes: [1, 1, 4, 0, 0, 0, 0, 0, 0, 0])) == .init(op: .acquiredLock, client: nil, force: false))
        let v2: [UInt8] = [2, 1, 20, 0, 0, 0, 2, 0, 0, 0] + [7, 0, 0, 0, 0, 0, 0, 0] + [9, 0, 0, 0, 0, 0, 0, 0]
        #expect(try ImageNotify.decodeLockMessage(ByteBuffer(bytes: v2)) == .init(op: .requestLock, client: .init(globalID: 7, handle: 9), force: false))
        // A truncated client is an error, not a guess.
        #expect(throws: (any Error).self) { try ImageNotify.decodeLockMessage(ByteBuffer(bytes: [2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0])) }
    }

    @Test func lockCookieIsAutoAndTheWatchHandle() {
        #expect(ImageNotify.lockCookie(handle: 94_512_345) == "auto 94512345")
        #expect(ImageNotify.handle(inLockCookie: "auto 94512345") == 94_512_345)
        #expect(ImageNotify.handle(inLockCookie: "manual lock") == nil)
        #expect(ImageNotify.handle(inLockCookie: "auto x") == nil)
    }
}
