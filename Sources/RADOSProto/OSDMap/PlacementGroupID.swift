import NIOCore

/// `pg_t`: a placement group, named by its pool and its placement seed.
///
/// Source: ceph/ceph `src/osd/osd_types.h` (`struct pg_t`, `pg_t::encode`): u8
/// version (1), u64 pool, u32 seed, s32 "preferred" (always -1 since Firefly).
/// Printed as `<pool>.<seed in hex>` (`1.1f`).
package struct PlacementGroupID: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var pool: UInt64
    package var seed: UInt32

    package init(pool: UInt64, seed: UInt32) {
        self.pool = pool
        self.seed = seed
    }

    package init(from buffer: inout ByteBuffer) throws {
        let start = buffer
        let version = try buffer.readDencU8()
        guard version == 1 else {
            throw DencError(.invalidValue("pg_t version \(version)"), at: start, context: ["pg_t"])
        }
        pool = try buffer.readDencU64()
        seed = try buffer.readDencU32()
        _ = try buffer.readDencI32()  // preferred
    }

    package static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.pool, lhs.seed) < (rhs.pool, rhs.seed)
    }

    package var description: String { "\(pool).\(String(seed, radix: 16))" }
}
