import NIOCore
import RADOSProto

/// The exclusive-lock messages of the header's notify channel, and librbd's lock cookie.
///
/// librbd's exclusive lock is lock `rbd_lock` (tag `internal`) on `rbd_header.<id>`,
/// taken with the cookie `auto <watch handle>`: the owner is the locker whose cookie
/// names its header watch. Owners announce `ACQUIRED_LOCK` and `RELEASED_LOCK`; a client
/// that needs the lock sends `REQUEST_LOCK`. Each carries the sender's `ClientId` (its
/// global id and its watch handle) from message version 2, `REQUEST_LOCK` also a
/// `force` flag from version 3. Sources: ceph/ceph `src/librbd/WatchNotifyTypes.{h,cc}`
/// (`ClientId`, `AcquiredLockPayload`, `ReleasedLockPayload`, `RequestLockPayload`),
/// `src/librbd/managed_lock/Utils.cc` (`encode_lock_cookie`), `src/librbd/ExclusiveLock.cc`.
extension ImageNotify {
    /// The lock's name and tag on the header object.
    package static let lockName = "rbd_lock"
    package static let lockTag = "internal"

    /// `ClientId`: who sent a lock message (no envelope: two u64s).
    package struct ClientID: Hashable, Sendable {
        package var globalID: UInt64
        package var handle: UInt64

        package init(globalID: UInt64, handle: UInt64) {
            self.globalID = globalID
            self.handle = handle
        }
    }

    /// A decoded lock message: who sent it and (for `REQUEST_LOCK`) whether it asks the
    /// owner to give the lock up even while busy.
    package struct LockMessage: Sendable, Equatable {
        package var op: Op
        package var client: ClientID?
        package var force: Bool
    }

    /// The cookie librbd locks with for watch handle `handle` (`auto <handle>`).
    package static func lockCookie(handle: UInt64) -> String { "auto \(handle)" }

    /// The watch handle a librbd lock cookie names; nil for any other cookie (a lock
    /// someone else took by hand, which librbd does not treat as its own).
    package static func handle(inLockCookie cookie: String) -> UInt64? {
        guard cookie.hasPrefix("auto ") else { return nil }
        return UInt64(cookie.dropFirst(5))
    }

    private static func lockNotify(_ op: Op, _ client: ClientID, force: Bool? = nil) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeDencVersioned(version: messageVersion, compat: 1) { body in
            body.writeDencU32(op.rawValue)
            body.writeDencU64(client.globalID)
            body.writeDencU64(client.handle)
            if let force { body.writeDencBool(force) }
        }
        return buffer
    }

    /// `ACQUIRED_LOCK` from `client`.
    package static func acquiredLock(_ client: ClientID) -> ByteBuffer { lockNotify(.acquiredLock, client) }
    /// `RELEASED_LOCK` from `client`.
    package static func releasedLock(_ client: ClientID) -> ByteBuffer { lockNotify(.releasedLock, client) }
    /// `REQUEST_LOCK` from `client`.
    package static func requestLock(_ client: ClientID, force: Bool) -> ByteBuffer { lockNotify(.requestLock, client, force: force) }

    /// Reads a lock message (`ACQUIRED_LOCK`, `RELEASED_LOCK`, `REQUEST_LOCK`); nil for
    /// any other op. Older message versions carry no client (or no `force`).
    ///
    /// - Throws: ``DencError`` when the envelope or the payload is truncated.
    package static func decodeLockMessage(_ notify: ByteBuffer) throws -> LockMessage? {
        try decodeLockMessage(try decodeMessage(notify))
    }

    /// ``decodeLockMessage(_:)-(ByteBuffer)`` of a message whose envelope is decoded.
    package static func decodeLockMessage(_ message: Message) throws -> LockMessage? {
        guard let op = message.op, [.acquiredLock, .releasedLock, .requestLock].contains(op) else { return nil }
        var payload = message.payload
        var client: ClientID?
        var force = false
        if message.version >= 2 {
            client = ClientID(globalID: try payload.readDencU64(), handle: try payload.readDencU64())
        }
        if op == .requestLock, message.version >= 3 {
            force = try payload.readDencBool()
        }
        return LockMessage(op: op, client: client, force: force)
    }
}
