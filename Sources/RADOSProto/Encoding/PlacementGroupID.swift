import NIOCore

/// Ceph's `pg_t` (`src/osd/osd_types.h`): a placement group, as a pool id and a
/// placement seed. Printed `pool.seed` with the seed in hex (`1.7f`).
///
/// Wire form (no envelope): u8 version (1), u64 pool, u32 seed, then an i32 that was
/// once the "preferred" OSD and is always -1 — 17 bytes. Like Ceph we ignore the
/// version byte and the preferred field when decoding and write 1 and -1.
package struct PlacementGroupID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The pool id. Ceph stores it as a u64 and hands it out as an int64; we keep the
    /// signed view (the wire bits are the same).
    package var pool: Int64
    /// The placement seed: the object hash folded to the pool's pg_num.
    package var seed: UInt32

    package init(pool: Int64, seed: UInt32) {
        self.pool = pool
        self.seed = seed
    }

    /// Parses `pool.seedhex` (`1.7f`), as `pg_t::parse` does.
    package init?(_ text: some StringProtocol) {
        guard let dot = text.firstIndex(of: "."),
              let pool = UInt64(text[..<dot]),
              let seed = UInt32(text[text.index(after: dot)...], radix: 16) else { return nil }
        self.init(pool: Int64(bitPattern: pool), seed: seed)
    }

    /// Pool first, then seed (Ceph compares the unsigned pool).
    package static func < (lhs: PlacementGroupID, rhs: PlacementGroupID) -> Bool {
        (UInt64(bitPattern: lhs.pool), lhs.seed) < (UInt64(bitPattern: rhs.pool), rhs.seed)
    }

    package var description: String { "\(UInt64(bitPattern: pool)).\(String(seed, radix: 16))" }
}

extension ByteBuffer {
    /// `pg_t`: u8 version, u64 pool, u32 seed, i32 preferred (ignored).
    package mutating func readDencPlacementGroupID() throws -> PlacementGroupID {
        guard readableBytes >= 17 else {
            throw DencError(.truncated(needed: 17, available: readableBytes), at: self, context: ["pg_t"])
        }
        _ = try readDencU8()
        let pool = try readDencU64()
        let seed = try readDencU32()
        _ = try readDencI32()
        return PlacementGroupID(pool: Int64(bitPattern: pool), seed: seed)
    }

    package mutating func writeDencPlacementGroupID(_ pg: PlacementGroupID) {
        writeDencU8(1)
        writeDencU64(UInt64(bitPattern: pg.pool))
        writeDencU32(pg.seed)
        writeDencI32(-1)
    }
}
