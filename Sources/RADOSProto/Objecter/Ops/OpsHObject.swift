import NIOCore

/// Ceph's `hobject_t` as the object ops need it: a listing cursor (`CEPH_OSD_OP_PGNLS`)
/// and the bounds of an OSD backoff (``MOSDBackoff``).
///
/// Wire form (ceph/ceph `src/common/hobject.cc`, `hobject_t::encode` / `decode`; Linux
/// `net/ceph/osd_client.c`, `encode_hoid` / `decode_hoid`): a versioned struct,
/// version 4, compat 3: string key, string name, u64 snap, u32 hash, bool max, string
/// namespace, i64 pool. Like the kernel we refuse versions below 4 (Pacific OSDs never
/// send them), and like Ceph we apply two fix-ups on decoding: Hammer's "min" object
/// (pool -1, everything else empty) becomes pool `Int64.min`, and any object flagged
/// max becomes the canonical ``max``.
///
/// This mirrors `HObject` on the `enc` branch field for field (same names, same wire
/// form); once that branch is merged, this type can be replaced by it.
package struct OpsHObject: Hashable, Sendable, CustomStringConvertible {
    package var name: String
    /// Locator key ("" when the name itself is used for placement).
    package var key: String
    package var snap: UInt64
    /// The object's 32-bit placement hash (for a PG bound: the PG's first hash).
    package var hash: UInt32
    package var isMax: Bool
    package var namespace: String
    package var pool: Int64

    /// `CEPH_NOSNAP`: the head object.
    package static let noSnap: UInt64 = .max - 1
    /// Fewest bytes an encoding takes: envelope 6, three empty strings 12, snap 8,
    /// hash 4, max 1, pool 8.
    package static let minimumEncodedSize = 39

    /// `hobject_t()`: sorts before every object; a listing starts here.
    package static let min = OpsHObject(name: "", snap: 0, hash: 0, pool: .min)
    /// `hobject_t::get_max()`: sorts after every object; a listing that reaches it is done.
    package static let max = OpsHObject(name: "", snap: 0, hash: 0, isMax: true, pool: .min)

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
        let snapText = snap == Self.noSnap ? "head" : String(snap, radix: 16)
        return "\(pool):\(String(hash, radix: 16)):\(namespace):\(key):\(name):\(snapText)"
    }

    /// Reads one `hobject_t`.
    package static func read(from buffer: inout ByteBuffer) throws -> OpsHObject {
        guard let version = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            throw DencError(.truncated(needed: 1, available: 0), at: buffer, context: ["hobject_t"])
        }
        guard version >= 4 else {
            throw DencError(.invalidValue("hobject_t version \(version); only 4 and later are supported"), at: buffer, context: ["hobject_t"])
        }
        return try buffer.readDencVersioned("hobject_t", understands: 4) { body, _ in
            let key = try body.readDencString()
            let name = try body.readDencString()
            let snap = try body.readDencU64()
            let hash = try body.readDencU32()
            let isMax = try body.readDencBool()
            let namespace = try body.readDencString()
            var pool = try body.readDencI64()
            if isMax { return .max }
            if pool == -1, snap == 0, hash == 0, name.isEmpty {
                pool = .min
            }
            return OpsHObject(name: name, key: key, snap: snap, hash: hash, namespace: namespace, pool: pool)
        }
    }

    /// Writes this `hobject_t` (version 4, compat 3).
    package func write(to buffer: inout ByteBuffer) {
        buffer.writeDencVersioned(version: 4, compat: 3) { body in
            body.writeDencString(key)
            body.writeDencString(name)
            body.writeDencU64(snap)
            body.writeDencU32(hash)
            body.writeDencBool(isMax)
            body.writeDencString(namespace)
            body.writeDencI64(pool)
        }
    }
}
