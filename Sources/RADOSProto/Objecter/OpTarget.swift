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

    package init(pool: Int64, objectHash: UInt32, pgSeed: UInt32, primary: Int32?, acting: [Int32], up: [Int32] = []) {
        self.pool = pool
        self.objectHash = objectHash
        self.pgSeed = pgSeed
        self.primary = primary
        self.acting = acting
        self.up = up
    }
}
