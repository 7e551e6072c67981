import NIOCore

/// Ceph's `spg_t` (`src/osd/osd_types.h`): a placement group plus the shard of an
/// erasure-coded pool (`shard_id_t`, an i8; -1, ``noShard``, for replicated pools).
/// `MOSDOp` addresses its target PG with one. Printed `1.7f` or `1.7fs2`.
///
/// Wire form: a versioned envelope (version 1, compat 1) around a `pg_t` and the i8
/// shard.
package struct ShardedPlacementGroupID: Hashable, Sendable, Comparable, CustomStringConvertible {
    package var pg: PlacementGroupID
    package var shard: Int8

    /// `shard_id_t::NO_SHARD`.
    package static let noShard: Int8 = -1

    package static let encodingVersion: UInt8 = 1

    package init(pg: PlacementGroupID, shard: Int8 = noShard) {
        self.pg = pg
        self.shard = shard
    }

    package static func < (lhs: ShardedPlacementGroupID, rhs: ShardedPlacementGroupID) -> Bool {
        lhs.pg != rhs.pg ? lhs.pg < rhs.pg : lhs.shard < rhs.shard
    }

    package var description: String {
        shard == Self.noShard ? pg.description : "\(pg)s\(shard)"
    }
}

extension ByteBuffer {
    /// `spg_t`: envelope(1, 1) { pg_t, i8 shard }.
    package mutating func readDencShardedPlacementGroupID() throws -> ShardedPlacementGroupID {
        try readDencVersioned("spg_t", understands: ShardedPlacementGroupID.encodingVersion) { body, _ in
            let pg = try body.readDencPlacementGroupID()
            let shard = try body.readDencI8()
            return ShardedPlacementGroupID(pg: pg, shard: shard)
        }
    }

    package mutating func writeDencShardedPlacementGroupID(_ spg: ShardedPlacementGroupID) {
        writeDencVersioned(version: ShardedPlacementGroupID.encodingVersion, compat: 1) { body in
            body.writeDencPlacementGroupID(spg.pg)
            body.writeDencI8(spg.shard)
        }
    }
}
