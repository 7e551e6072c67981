import NIOCore

/// Ceph's `hobject_t` (`src/common/hobject.h`, `hobject.cc`): an object as the OSD
/// sorts it — name, locator key, snapshot, the 32-bit placement hash, namespace and
/// pool, plus a "max" flag for the sentinel that sorts after every object. It appears
/// in listing cursors and some OSD replies.
///
/// Wire form: a versioned struct, version 4, compat 3; older forms follow
/// `DECODE_START_LEGACY_COMPAT_LEN(4, 3, 3)`:
/// key (version ≥ 1), name, u64 snap, u32 hash, bool max (version ≥ 2), then
/// namespace and i64 pool (version ≥ 4).
///
/// Decoding applies Ceph's two fix-ups: the "min" object as Hammer wrote it (pool -1,
/// everything else empty) becomes pool `Int64.min`, and any object flagged max
/// becomes the canonical ``max``. Before version 4 there is no pool; we use
/// `Int64.min`, the pool of a default-constructed `hobject_t`.
///
/// Names and keys are read as UTF-8 text (invalid sequences repaired); RADOS object
/// names used by RBD are ASCII.
package struct HObject: Hashable, Sendable, CustomStringConvertible {
    package var name: String
    /// Locator key ("" when the name itself is used for placement).
    package var key: String
    package var snap: UInt64
    package var hash: UInt32
    package var isMax: Bool
    package var namespace: String
    package var pool: Int64

    package static let encodingVersion: UInt8 = 4

    /// `CEPH_NOSNAP`: the head (current) version of an object.
    package static let noSnap: UInt64 = .max - 1
    /// `CEPH_SNAPDIR`.
    package static let snapDir: UInt64 = .max

    /// The object that sorts before all others (`hobject_t()`).
    package static let min = HObject(name: "", snap: 0, hash: 0, pool: .min)
    /// The object that sorts after all others (`hobject_t::get_max()`).
    package static let max = HObject(name: "", snap: 0, hash: 0, isMax: true, pool: .min)

    package init(
        name: String, key: String = "", snap: UInt64 = noSnap, hash: UInt32,
        isMax: Bool = false, namespace: String = "", pool: Int64
    ) {
        self.name = name
        self.key = key
        self.snap = snap
        self.hash = hash
        self.isMax = isMax
        self.namespace = namespace
        self.pool = pool
    }

    package var description: String {
        if isMax { return "MAX" }
        let snapText = snap == Self.noSnap ? "head" : snap == Self.snapDir ? "snapdir" : String(snap, radix: 16)
        return "\(pool):\(String(hash, radix: 16)):\(namespace):\(key):\(name):\(snapText)"
    }
}

extension ByteBuffer {
    package mutating func readDencHObject(limit: Int = DencLimit.string) throws -> HObject {
        try readDencVersionedLegacy(
            "hobject_t", understands: HObject.encodingVersion, compatSince: 3, lengthSince: 3
        ) { body, version in
            let key = version >= 1 ? try body.readDencString(limit: limit) : ""
            let name = try body.readDencString(limit: limit)
            let snap = try body.readDencU64()
            let hash = try body.readDencU32()
            let isMax = version >= 2 ? try body.readDencBool() : false
            var namespace = ""
            var pool = Int64.min
            if version >= 4 {
                namespace = try body.readDencString(limit: limit)
                pool = try body.readDencI64()
                if pool == -1, snap == 0, hash == 0, !isMax, name.isEmpty {
                    pool = .min
                }
                if isMax {
                    return HObject.max
                }
            }
            return HObject(name: name, key: key, snap: snap, hash: hash, isMax: isMax, namespace: namespace, pool: pool)
        }
    }

    package mutating func writeDencHObject(_ object: HObject) {
        writeDencVersioned(version: HObject.encodingVersion, compat: 3) { body in
            body.writeDencString(object.key)
            body.writeDencString(object.name)
            body.writeDencU64(object.snap)
            body.writeDencU32(object.hash)
            body.writeDencBool(object.isMax)
            body.writeDencString(object.namespace)
            body.writeDencI64(object.pool)
        }
    }
}
