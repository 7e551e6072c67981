import NIOCore

/// Calls to the `lock` object class: advisory locks kept in an object's xattrs, the
/// locks librados' `rados_lock_*` take, `rados lock …` manages, and librbd's exclusive
/// lock is made of (lock `rbd_lock` on the image header).
///
/// Each function builds the `CALL` op with its input encoded as the OSD-side method
/// expects; ``decodeInfo(_:)`` and ``decodeList(_:)`` read the outputs. Source:
/// ceph/ceph `src/cls/lock/cls_lock_ops.h` (inputs and outputs),
/// `src/cls/lock/cls_lock_types.h` (`ClsLockType`, `locker_id_t`, `locker_info_t`),
/// `src/cls/lock/cls_lock.cc` (the methods and their errors).
package enum ClsLock {
    static let className = "lock"

    /// `ClsLockType`.
    package enum LockType: UInt8, Sendable {
        case none = 0
        case exclusive = 1
        case shared = 2
        /// Exclusive, and the object is removed when the last locker unlocks.
        case exclusiveEphemeral = 3
    }

    /// `LOCK_FLAG_*`.
    package struct Flags: OptionSet, Sendable {
        package var rawValue: UInt8
        package init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Locking again with the same cookie renews the lock instead of failing (EEXIST).
        package static let mayRenew = Flags(rawValue: 1)
        /// The lock must already be held by this cookie (renewal only).
        package static let mustRenew = Flags(rawValue: 2)
    }

    /// One holder of a lock (`locker_id_t` and `locker_info_t`).
    package struct Locker: Hashable, Sendable {
        package var entity: NumericEntityName
        package var cookie: String
        /// When the lock lapses; zero for never.
        package var expiration: UTime
        package var address: EntityAddress
        package var description: String
    }

    /// `cls_lock_get_info_reply`: the lock's holders (ordered as Ceph orders its map:
    /// by entity, then cookie), its type and its tag.
    package struct Info: Sendable, Equatable {
        package var lockers: [Locker]
        package var type: LockType
        package var tag: String
    }

    private static func call(_ method: String, _ body: (inout ByteBuffer) -> Void = { _ in }) -> OSDOp {
        var input = ByteBuffer()
        body(&input)
        // Class and method names are short constants, so this cannot fail.
        return (try? OSDOp.call(class: className, method: method, input: input)) ?? OSDOp(.call)
    }

    /// `lock` (`cls_lock_lock_op`): takes lock `name` for `cookie`. A `duration` of zero
    /// never expires. Fails with EBUSY when another holder conflicts, EEXIST when this
    /// cookie holds it already (unless `.mayRenew`).
    package static func lock(name: String, type: LockType, cookie: String, tag: String, description: String, duration: UTime, flags: Flags) -> OSDOp {
        call("lock") {
            $0.writeDencVersioned(version: 1, compat: 1) { op in
                op.writeDencString(name)
                op.writeDencU8(type.rawValue)
                op.writeDencString(cookie)
                op.writeDencString(tag)
                op.writeDencString(description)
                op.writeDencUTime(duration)
                op.writeDencU8(flags.rawValue)
            }
        }
    }

    /// `unlock` (`cls_lock_unlock_op`): releases this client's hold with `cookie`
    /// (ENOENT when it holds none).
    package static func unlock(name: String, cookie: String) -> OSDOp {
        call("unlock") {
            $0.writeDencVersioned(version: 1, compat: 1) { op in
                op.writeDencString(name)
                op.writeDencString(cookie)
            }
        }
    }

    /// `break_lock` (`cls_lock_break_op`): removes `locker`'s hold with `cookie`.
    package static func breakLock(name: String, locker: NumericEntityName, cookie: String) -> OSDOp {
        call("break_lock") {
            $0.writeDencVersioned(version: 1, compat: 1) { op in
                op.writeDencString(name)
                op.writeDencNumericEntityName(locker)
                op.writeDencString(cookie)
            }
        }
    }

    /// `assert_locked` (`cls_lock_assert_op`): fails the whole op (EBUSY) unless lock
    /// `name` is held by this client with `cookie` as `type` under `tag`. librbd puts it
    /// before every object map change, so a client that lost the lock changes nothing.
    package static func assertLocked(name: String, type: LockType, cookie: String, tag: String) -> OSDOp {
        call("assert_locked") {
            $0.writeDencVersioned(version: 1, compat: 1) { op in
                op.writeDencString(name)
                op.writeDencU8(type.rawValue)
                op.writeDencString(cookie)
                op.writeDencString(tag)
            }
        }
    }

    /// `set_cookie` (`cls_lock_set_cookie_op`): moves this client's hold from `cookie`
    /// to `newCookie` (librbd's lock after its header watch was registered again).
    package static func setCookie(name: String, type: LockType, cookie: String, tag: String, newCookie: String) -> OSDOp {
        call("set_cookie") {
            $0.writeDencVersioned(version: 1, compat: 1) { op in
                op.writeDencString(name)
                op.writeDencU8(type.rawValue)
                op.writeDencString(cookie)
                op.writeDencString(tag)
                op.writeDencString(newCookie)
            }
        }
    }

    /// `get_info` (`cls_lock_get_info_op`); its output decodes with ``decodeInfo(_:)``.
    package static func getInfo(name: String) -> OSDOp {
        call("get_info") {
            $0.writeDencVersioned(version: 1, compat: 1) { op in op.writeDencString(name) }
        }
    }

    /// `list_locks`: the names of the locks on the object (``decodeList(_:)``).
    package static func listLocks() -> OSDOp { call("list_locks") }

    /// Reads `cls_lock_get_info_reply`.
    package static func decodeInfo(_ output: ByteBuffer) throws -> Info {
        try output.decodeExactly("cls_lock_get_info_reply") { buffer in
            try buffer.readDencVersionedLegacy("cls_lock_get_info_reply", understands: 1, compatSince: 1, lengthSince: 1) { body, _ in
                let count = try body.readDencLength(limit: DencLimit.count, minimumUnitSize: 2 * 6)
                var lockers: [Locker] = []
                for _ in 0..<count {
                    let (entity, cookie) = try body.readDencVersionedLegacy("locker_id_t", understands: 1, compatSince: 1, lengthSince: 1) { id, _ in
                        (try id.readDencNumericEntityName(), try id.readDencString())
                    }
                    let locker = try body.readDencVersionedLegacy("locker_info_t", understands: 1, compatSince: 1, lengthSince: 1) { info, _ in
                        Locker(entity: entity, cookie: cookie, expiration: try info.readDencUTime(), address: try info.readEntityAddress(), description: try info.readDencString())
                    }
                    lockers.append(locker)
                }
                let rawType = try body.readDencU8()
                guard let type = LockType(rawValue: rawType) else {
                    throw DencError(.invalidValue("lock type \(rawType)"), at: body)
                }
                return Info(lockers: lockers, type: type, tag: try body.readDencString())
            }
        }
    }

    /// Reads `cls_lock_list_locks_reply`.
    package static func decodeList(_ output: ByteBuffer) throws -> [String] {
        try output.decodeExactly("cls_lock_list_locks_reply") { buffer in
            try buffer.readDencVersionedLegacy("cls_lock_list_locks_reply", understands: 1, compatSince: 1, lengthSince: 1) { body, _ in
                try body.readDencArray(minimumElementSize: 4) { try $0.readDencString() }
            }
        }
    }
}
