import NIOCore

/// `pg_pool_t`: what a client needs to know about a pool to place its objects.
///
/// Source: ceph/ceph `src/osd/osd_types.h` / `osd_types.cc` (`pg_pool_t::decode`,
/// `calc_pg_masks`, `raw_pg_to_pg`, `raw_pg_to_pps`, `hash_key`). The envelope is
/// u8 struct_v, u8 compat, u32 length (`DECODE_START_LEGACY_COMPAT_LEN`, compat 5);
/// we decode every field through v29 (Pacific), skipping the nested versioned structs
/// a client does not use (snapshot infos, hit-set parameters, pool options, merge
/// metadata) through their own envelopes, and anything newer through the pool's
/// envelope. Field order: u8 type, u8 size, u8 crush_rule, u8 object_hash,
/// u32 pg_num, u32 pgp_num, u32 lpg_num, u32 lpgp_num, u32 last_change, u64 snap_seq,
/// u32 snap_epoch, map<u64, pool_snap_info_t> snaps, interval_set<u64> removed_snaps,
/// u64 auid, u64 flags, u32 crash_replay_interval, u8 min_size, u64 quota_max_bytes,
/// u64 quota_max_objects, set<u64> tiers, s64 tier_of, u8 cache_mode, s64 read_tier,
/// s64 write_tier, map<string,string> properties, HitSet::Params, u32 hit_set_period,
/// u32 hit_set_count, u32 stripe_width, u64 target_max_bytes, u64 target_max_objects,
/// u32 × 4 cache ratios/ages, string erasure_code_profile (v14), u32
/// last_force_op_resend_preluminous, u32 min_read_recency_for_promote, u64
/// expected_num_objects, (v19) u32 cache_target_dirty_high_ratio_micro, u32
/// min_write_recency_for_promote, bool use_gmt_hitset, bool fast_read, u32
/// hit_set_grade_decay_rate, u32 hit_set_search_last_n, pool_opts_t (v24), u32
/// last_force_op_resend_prenautilus, map<string, map<string,string>>
/// application_metadata (v26), utime create_time (v27), u32 pg_num_target, u32
/// pgp_num_target, u32 pg_num_pending, u32 × 2 old merge epochs, u32
/// last_force_op_resend, u8 pg_autoscale_mode (v28), pg_merge_meta_t (v29).
package struct PoolInfo: Sendable, Hashable {
    /// `pg_pool_t::TYPE_REPLICATED` (1) or `TYPE_ERASURE` (3).
    package var type: UInt8
    package var size: UInt8
    package var minSize: UInt8
    package var crushRule: UInt8
    /// ``ObjectHash`` raw value.
    package var objectHash: UInt8
    package var pgNum: UInt32
    package var pgpNum: UInt32
    package var lastChange: UInt32
    package var flags: UInt64
    package var stripeWidth: UInt32 = 0
    package var erasureCodeProfile: String = ""
    /// Application name → key/value metadata (`rbd`, `cephfs`, `rgw`).
    package var applicationMetadata: [String: [String: String]] = [:]
    package var pgNumTarget: UInt32 = 0
    package var pgpNumTarget: UInt32 = 0
    package var pgNumPending: UInt32 = 0
    /// Epoch from which clients must resend in-flight ops (the Objecter checks these).
    package var lastForceOpResend: UInt32 = 0
    package var lastForceOpResendPrenautilus: UInt32 = 0
    package var lastForceOpResendPreluminous: UInt32 = 0
    package var fastRead = false
    /// `pg_autoscale_mode_t` raw value (0 off, 1 warn, 2 on).
    package var autoscaleMode: UInt8 = 0
    /// `utime_t` create_time: seconds, nanoseconds.
    package var createTime: [UInt32] = [0, 0]

    package static let typeReplicated: UInt8 = 1
    package static let typeErasure: UInt8 = 3
    /// `FLAG_HASHPSPOOL`: hash the pool id into the placement seed.
    package static let flagHashPSPool: UInt64 = 1 << 0

    package init(type: UInt8, size: UInt8, minSize: UInt8, crushRule: UInt8, objectHash: UInt8 = ObjectHash.rjenkins.rawValue, pgNum: UInt32, pgpNum: UInt32, lastChange: UInt32 = 0, flags: UInt64 = flagHashPSPool) {
        self.type = type
        self.size = size
        self.minSize = minSize
        self.crushRule = crushRule
        self.objectHash = objectHash
        self.pgNum = pgNum
        self.pgpNum = pgpNum
        self.lastChange = lastChange
        self.flags = flags
    }

    /// Replicated pools close the gaps a missing OSD leaves (`can_shift_osds`);
    /// erasure pools keep positions and leave holes.
    package var canShiftOSDs: Bool { type == Self.typeReplicated }

    /// `(1 << cbits(n - 1)) - 1`.
    private static func mask(_ n: UInt32) -> UInt32 {
        guard n > 1 else { return 0 }
        let bits = 32 - (n - 1).leadingZeroBitCount
        return bits >= 32 ? UInt32.max : (UInt32(1) << bits) - 1
    }

    package var pgNumMask: UInt32 { Self.mask(pgNum) }
    package var pgpNumMask: UInt32 { Self.mask(pgpNum) }

    /// `ceph_stable_mod`: x mod b that moves few values when b grows to the next power of two.
    @inline(__always)
    package static func stableMod(_ x: UInt32, _ b: UInt32, _ mask: UInt32) -> UInt32 {
        (x & mask) < b ? x & mask : x & (mask >> 1)
    }

    /// `hash_key`: the placement seed of an object name (or locator key) in a namespace.
    package func hashKey(_ key: String, namespace: String) -> UInt32 {
        hashKey(ObjectName(key), namespace: namespace)
    }

    /// ``hashKey(_:namespace:)`` of a request's object name, hashed where its bytes are
    /// (a namespace and the name are joined on the stack, not in an array).
    package func hashKey(_ key: ObjectName, namespace: String) -> UInt32 {
        key.withUTF8 { name in
            if namespace.isEmpty { return ObjectHash.hash(objectHash, name) }
            var namespace = namespace
            return namespace.withUTF8 { space in
                withUnsafeTemporaryAllocation(byteCount: space.count + 1 + name.count, alignment: 1) { joined in
                    joined.copyMemory(from: UnsafeRawBufferPointer(space))
                    joined[space.count] = 0x1F
                    UnsafeMutableRawBufferPointer(rebasing: joined[(space.count + 1)...]).copyMemory(from: name)
                    return ObjectHash.hash(objectHash, UnsafeRawBufferPointer(joined))
                }
            }
        }
    }

    /// `raw_pg_to_pg`: fold a raw seed into 0..<pg_num.
    package func rawPGToPG(_ pg: PlacementGroupID) -> PlacementGroupID {
        PlacementGroupID(pool: pg.pool, seed: Self.stableMod(pg.seed, pgNum, pgNumMask))
    }

    /// `raw_pg_to_pps`: the CRUSH input for a PG.
    package func rawPGToPPS(_ pg: PlacementGroupID) -> UInt32 {
        let folded = Self.stableMod(pg.seed, pgpNum, pgpNumMask)
        if flags & Self.flagHashPSPool != 0 {
            return CRUSHHash.hash2(folded, UInt32(truncatingIfNeeded: pg.pool))
        }
        return folded &+ UInt32(truncatingIfNeeded: pg.pool)
    }
}

extension PoolInfo {
    package init(from buffer: inout ByteBuffer) throws {
        self = try buffer.readDencVersioned("pg_pool_t", understands: 29) { body, version in
            guard version >= 5 else {
                throw DencError(.invalidValue("pg_pool_t v\(version) predates the length envelope"), at: body)
            }
            var pool = PoolInfo(
                type: try body.readDencU8(), size: try body.readDencU8(), minSize: 0,
                crushRule: try body.readDencU8(), objectHash: try body.readDencU8(),
                pgNum: try body.readDencU32(), pgpNum: try body.readDencU32(), flags: 0
            )
            _ = try body.readDencU32()  // lpg_num
            _ = try body.readDencU32()  // lpgp_num
            pool.lastChange = try body.readDencU32()
            _ = try body.readDencU64()  // snap_seq
            _ = try body.readDencU32()  // snap_epoch
            // snaps: map<snapid_t, pool_snap_info_t>, each value a versioned struct.
            let snaps = try body.readDencLength(limit: DencLimit.count, minimumUnitSize: 14)
            for _ in 0..<snaps {
                _ = try body.readDencU64()
                try body.skipDencVersioned("pool_snap_info_t")
            }
            // removed_snaps: interval_set<snapid_t> = u32 count of (start, length) pairs.
            let intervals = try body.readDencLength(limit: DencLimit.count, minimumUnitSize: 16)
            _ = try body.readDencFixed(intervals * 16)
            _ = try body.readDencU64()  // auid
            pool.flags = try body.readDencU64()
            _ = try body.readDencU32()  // crash_replay_interval
            pool.minSize = version >= 7 ? try body.readDencU8() : pool.size - pool.size / 2
            guard version >= 14 else { return pool }
            _ = try body.readDencU64()  // quota_max_bytes
            _ = try body.readDencU64()  // quota_max_objects
            _ = try body.readDencArray(minimumElementSize: 8) { try $0.readDencU64() }  // tiers
            _ = try body.readDencI64()  // tier_of
            _ = try body.readDencU8()  // cache_mode
            _ = try body.readDencI64()  // read_tier
            _ = try body.readDencI64()  // write_tier
            _ = try body.readDencMap(minimumEntrySize: 8, key: { try $0.readDencString() }, value: { try $0.readDencString() })
            try body.skipDencVersioned("HitSet::Params")
            _ = try body.readDencU32()  // hit_set_period
            _ = try body.readDencU32()  // hit_set_count
            pool.stripeWidth = try body.readDencU32()
            _ = try body.readDencFixed(8 + 8 + 4 * 4)  // target_max_*, cache ratios and ages
            pool.erasureCodeProfile = try body.readDencString()
            pool.pgNumTarget = pool.pgNum
            pool.pgpNumTarget = pool.pgpNum
            pool.pgNumPending = pool.pgNum
            guard version >= 15 else { return pool }
            pool.lastForceOpResendPreluminous = try body.readDencU32()
            pool.lastForceOpResendPrenautilus = pool.lastForceOpResendPreluminous
            pool.lastForceOpResend = pool.lastForceOpResendPreluminous
            guard version >= 16 else { return pool }
            _ = try body.readDencU32()  // min_read_recency_for_promote
            guard version >= 17 else { return pool }
            _ = try body.readDencU64()  // expected_num_objects
            guard version >= 19 else { return pool }
            _ = try body.readDencU32()  // cache_target_dirty_high_ratio_micro
            guard version >= 20 else { return pool }
            _ = try body.readDencU32()  // min_write_recency_for_promote
            guard version >= 21 else { return pool }
            _ = try body.readDencBool()  // use_gmt_hitset
            guard version >= 22 else { return pool }
            pool.fastRead = try body.readDencBool()
            guard version >= 23 else { return pool }
            _ = try body.readDencU32()  // hit_set_grade_decay_rate
            _ = try body.readDencU32()  // hit_set_search_last_n
            guard version >= 24 else { return pool }
            try body.skipDencVersioned("pool_opts_t")
            guard version >= 25 else { return pool }
            pool.lastForceOpResendPrenautilus = try body.readDencU32()
            pool.lastForceOpResend = pool.lastForceOpResendPrenautilus
            guard version >= 26 else { return pool }
            pool.applicationMetadata = try body.readDencMap(
                minimumEntrySize: 8, key: { try $0.readDencString() },
                value: { try $0.readDencMap(minimumEntrySize: 8, key: { try $0.readDencString() }, value: { try $0.readDencString() }) }
            )
            guard version >= 27 else { return pool }
            pool.createTime = [try body.readDencU32(), try body.readDencU32()]
            guard version >= 28 else { return pool }
            pool.pgNumTarget = try body.readDencU32()
            pool.pgpNumTarget = try body.readDencU32()
            pool.pgNumPending = try body.readDencU32()
            _ = try body.readDencU32()  // old merge last_epoch_started
            _ = try body.readDencU32()  // old merge last_epoch_clean
            pool.lastForceOpResend = try body.readDencU32()
            pool.autoscaleMode = try body.readDencU8()
            // v29 pg_merge_meta_t and newer fields are skipped by the envelope.
            return pool
        }
    }
}

extension ByteBuffer {
    /// Skips one versioned struct (u8 version, u8 compat, u32 length, body) without reading its body.
    package mutating func skipDencVersioned(_ type: String) throws {
        do {
            _ = try readDencU8()
            _ = try readDencU8()
            _ = try readDencBytes()
        } catch let error as DencError {
            throw error.within(type)
        }
    }
}
