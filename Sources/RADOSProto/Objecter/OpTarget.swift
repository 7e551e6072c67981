/// Where an op must go under one OSDMap: the PG and the OSD serving it.
///
/// The Objecter computes it from the map (object → raw PG by name hash, PG by
/// `ceph_stable_mod`, acting set by CRUSH, temps and upmaps) and compares it after every
/// map change: an op whose PG, primary or acting set moved must be resent
/// (`Objecter::_calc_target` in ceph/ceph `src/osdc/Objecter.cc`; `calc_target` in
/// Linux `net/ceph/osd_client.c`).
package struct OpTarget: Hashable, Sendable {
    package var pool: Int64
    /// The object's full name hash (the raw PG seed).
    package var objectHash: UInt32
    /// The PG seed after `ceph_stable_mod` over pg_num.
    package var pgSeed: UInt32
    /// The acting primary, or nil when no OSD serves the PG now.
    package var primary: Int32?
    /// The acting set.
    package var acting: [Int32]
    /// The up set. A change of it alone starts a new interval too, in which the primary
    /// drops its watches' connections (`PastIntervals::is_new_interval`).
    package var up: [Int32]
    /// The PG shard the primary holds: its position in the acting set for an
    /// erasure-coded pool, -1 (`NO_SHARD`) for a replicated one. An EC PG exists on the
    /// OSD only under its shard, so an op addressed without it waits forever
    /// (`Objecter::_calc_target`, `actual_pgid.reset_shard`).
    package var shard: Int8

    package init(pool: Int64, objectHash: UInt32, pgSeed: UInt32, primary: Int32?, acting: [Int32], up: [Int32] = [], shard: Int8 = -1) {
        self.pool = pool
        self.objectHash = objectHash
        self.pgSeed = pgSeed
        self.primary = primary
        self.acting = acting
        self.up = up
        self.shard = shard
    }

    /// The shard of `primary` in `acting` for an erasure-coded pool, else -1.
    package static func shard(erasureCoded: Bool, primary: Int32?, acting: [Int32]) -> Int8 {
        guard erasureCoded, let primary, let index = acting.firstIndex(of: primary), let shard = Int8(exactly: index) else { return -1 }
        return shard
    }
}
