import Foundation
import NIOCore

/// Advisory object locks, like librados' `rados_lock_exclusive`, `rados_lock_shared`,
/// `rados_unlock`, `rados_break_lock`, `rados_list_lockers` (through the `lock` object
/// class, ``ClsLock``): what `rados lock …` shows and manages, and what librbd's
/// exclusive lock is built on.
extension IOContext {
    /// A lock's holders, as `rados_list_lockers` reports them.
    public struct Lockers: Sendable, Equatable {
        /// One holder.
        public struct Holder: Sendable, Equatable {
            /// The holding client, e.g. `client.4123`.
            public var client: String
            public var cookie: String
            /// The client's address as `rados lock info` prints it (`ip:port/nonce`).
            public var address: String
            public var description: String
            /// When the hold lapses (nil: never).
            public var expiration: Date?
        }

        /// Whether the lock is exclusive (else shared; meaningless with no holders).
        public var isExclusive: Bool
        public var tag: String
        public var holders: [Holder]
    }

    /// Takes lock `name` on `object` exclusively for `cookie` (`rados_lock_exclusive`).
    /// With a `duration` the hold lapses after it; `mayRenew` lets the same cookie lock
    /// again to renew instead of failing.
    ///
    /// - Throws: ``RADOSError`` with errno 16 (EBUSY) when another holder has the lock, 17
    ///   (EEXIST) when this cookie holds it already and `mayRenew` is false.
    public func lockExclusive(_ object: String, name: String, cookie: String, description: String = "", duration: Duration? = nil, mayRenew: Bool = false) async throws(RADOSError) {
        try await lock(object, name: name, type: .exclusive, cookie: cookie, tag: "", description: description, duration: duration, mayRenew: mayRenew)
    }

    /// Takes lock `name` on `object` shared, under `tag` (`rados_lock_shared`): every
    /// shared holder must use the same tag.
    public func lockShared(_ object: String, name: String, cookie: String, tag: String, description: String = "", duration: Duration? = nil, mayRenew: Bool = false) async throws(RADOSError) {
        try await lock(object, name: name, type: .shared, cookie: cookie, tag: tag, description: description, duration: duration, mayRenew: mayRenew)
    }

    package func lock(_ object: String, name: String, type: ClsLock.LockType, cookie: String, tag: String, description: String, duration: Duration?, mayRenew: Bool) async throws(RADOSError) {
        var seconds: UInt32 = 0, nanoseconds: UInt32 = 0
        if let duration {
            let parts = duration.components
            guard parts.seconds >= 0, parts.seconds <= Int64(UInt32.max) else {
                throw RADOSError(.invalidArgument, "lock duration \(duration) is out of range")
            }
            seconds = UInt32(parts.seconds)
            nanoseconds = UInt32(parts.attoseconds / 1_000_000_000)
        }
        _ = try await operate(object, [ClsLock.lock(
            name: name, type: type, cookie: cookie, tag: tag, description: description,
            duration: UTime(seconds: seconds, nanoseconds: nanoseconds), flags: mayRenew ? .mayRenew : [])])
    }

    /// Releases this client's hold of lock `name` with `cookie` (`rados_unlock`).
    ///
    /// - Throws: ``RADOSError`` `.notFound` when this client does not hold it.
    public func unlock(_ object: String, name: String, cookie: String) async throws(RADOSError) {
        _ = try await operate(object, [ClsLock.unlock(name: name, cookie: cookie)])
    }

    /// Removes another client's hold (`rados_break_lock`): `client` as ``Lockers/Holder``
    /// names it (`client.4123`).
    ///
    /// - Throws: ``RADOSError`` `.invalidArgument` for a malformed client name,
    ///   `.notFound` when that client does not hold the lock with that cookie.
    public func breakLock(_ object: String, name: String, client: String, cookie: String) async throws(RADOSError) {
        guard let entity = NumericEntityName(client) else {
            throw RADOSError(.invalidArgument, "'\(client)' is not a client name like client.4123")
        }
        _ = try await operate(object, [ClsLock.breakLock(name: name, locker: entity, cookie: cookie)])
    }

    /// Lock `name`'s holders, type and tag (`rados_list_lockers`); no holders when nobody
    /// holds it.
    public func lockers(_ object: String, name: String) async throws(RADOSError) -> Lockers {
        let output = try await operate(object, [ClsLock.getInfo(name: name)]).first ?? ByteBuffer()
        let info: ClsLock.Info
        do { info = try ClsLock.decodeInfo(output) } catch { throw Self.decodeFailure(error) }
        return Lockers(isExclusive: info.type == .exclusive || info.type == .exclusiveEphemeral, tag: info.tag, holders: info.lockers.map { locker in
            let expiration = locker.expiration.seconds == 0 && locker.expiration.nanoseconds == 0
                ? nil : Date(timeIntervalSince1970: Double(locker.expiration.seconds) + Double(locker.expiration.nanoseconds) / 1e9)
            return Lockers.Holder(client: locker.entity.description, cookie: locker.cookie, address: locker.address.legacyDescription, description: locker.description, expiration: expiration)
        })
    }

    /// The names of the locks on `object` (`rados_list_lockers`' companion, `rados lock list`).
    public func locks(_ object: String) async throws(RADOSError) -> [String] {
        let output = try await operate(object, [ClsLock.listLocks()]).first ?? ByteBuffer()
        do { return try ClsLock.decodeList(output) } catch { throw Self.decodeFailure(error) }
    }
}
