import NIOCore

/// `OSDMap::Incremental`: the change from epoch N-1 to N, as the monitors publish it.
///
/// Source: ceph/ceph `src/osd/OSDMap.h` / `OSDMap.cc` (`OSDMap::Incremental::decode`).
/// Layout, like the full map: wrapper envelope (v ≥ 7, compat ≤ 7), then the
/// client-usable envelope (v ≤ 9): uuid fsid, u32 epoch, utime modified, s64
/// new_pool_max, s32 new_flags, bufferlist fullmap, bufferlist crush, s32 new_max_osd,
/// map<s64, pg_pool_t> new_pools, map<s64, string> new_pool_names, set<s64> old_pools,
/// map<s32, entity_addrvec_t> new_up_client, map<s32, u32> new_state (u8 values before
/// v5), map<s32, u32> new_weight, map<pg_t, vector<s32>> new_pg_temp, map<pg_t, s32>
/// new_primary_temp, map<s32, u32> new_primary_affinity (v ≥ 2), map<string,
/// map<string,string>> new and vector<string> old EC profiles (v ≥ 3), new/old pg_upmap
/// and pg_upmap_items (v ≥ 4: maps, then sets of pg_t), new removed/purged snaps (v ≥ 6),
/// utime new_last_up_change and new_last_in_change (v ≥ 8), new/old
/// pg_upmap_primary (v ≥ 9); then the OSD-only envelope (skipped); then u32 inc_crc
/// and u32 full_crc (v ≥ 8). inc_crc is CRC32C (seed -1) over the wrapper up to
/// inc_crc, continued over the bytes after it.
package struct OSDMapIncremental: Sendable {
    package var fsid: [UInt8]
    package var epoch: UInt32
    package var modified: (seconds: UInt32, nanoseconds: UInt32)
    /// -1 when unchanged.
    package var newPoolMax: Int64 = -1
    /// -1 when unchanged.
    package var newFlags: Int32 = -1
    /// A whole map replacing the previous one (rare), else empty.
    package var fullMap: ByteBuffer = ByteBuffer()
    /// A new CRUSH map, else empty.
    package var crush: ByteBuffer = ByteBuffer()
    /// -1 when unchanged.
    package var newMaxOSD: Int32 = -1
    package var newPools: [Int64: PoolInfo] = [:]
    package var newPoolNames: [Int64: String] = [:]
    package var oldPools: [Int64] = []
    /// OSDs that came up, in order, with the addresses clients reach them at.
    package var newUpClient: [Int32] = []
    package var newUpClientAddresses: [Int32: [EntityAddress]] = [:]
    /// State bits to toggle (0 means `CEPH_OSD_UP`).
    package var newState: [Int32: UInt32] = [:]
    package var newWeight: [Int32: UInt32] = [:]
    /// An empty list removes the PG's pg_temp.
    package var newPGTemp: [PlacementGroupID: [Int32]] = [:]
    /// -1 removes the PG's primary_temp.
    package var newPrimaryTemp: [PlacementGroupID: Int32] = [:]
    package var newPrimaryAffinity: [Int32: UInt32] = [:]
    package var newErasureCodeProfiles: [String: [String: String]] = [:]
    package var oldErasureCodeProfiles: [String] = []
    package var newPGUpmap: [PlacementGroupID: [Int32]] = [:]
    package var oldPGUpmap: [PlacementGroupID] = []
    package var newPGUpmapItems: [PlacementGroupID: [(from: Int32, to: Int32)]] = [:]
    package var oldPGUpmapItems: [PlacementGroupID] = []
    package var newPGUpmapPrimary: [PlacementGroupID: Int32] = [:]
    package var oldPGUpmapPrimary: [PlacementGroupID] = []

    package init(fsid: [UInt8] = Array(repeating: 0, count: 16), epoch: UInt32) {
        self.fsid = fsid
        self.epoch = epoch
        self.modified = (0, 0)
    }

    /// Decodes a whole incremental; the buffer must hold exactly one.
    package init(decoding buffer: ByteBuffer) throws {
        self = try buffer.decodeExactly("OSDMap::Incremental") { try OSDMapIncremental(from: &$0) }
    }

    /// Reads the envelope shared with the full map (``OSDMap/decodeWrapped(_:type:clientUnderstands:client:)``);
    /// the trailing full_crc (the CRC of the resulting map) is covered by the crc and not needed.
    package init(from buffer: inout ByteBuffer) throws {
        self = try OSDMap.decodeWrapped(&buffer, type: "Incremental", clientUnderstands: 9) { body, version in
            try Self.decodeClientPart(&body, version: version)
        }
    }

    private static func pgSet(_ body: inout ByteBuffer) throws -> [PlacementGroupID] {
        try body.readDencArray(minimumElementSize: 17) { try $0.readDencPlacementGroupID() }
    }

    private static func decodeClientPart(_ body: inout ByteBuffer, version: UInt8) throws -> OSDMapIncremental {
        var inc = OSDMapIncremental(fsid: Array(try body.readDencFixed(16).readableBytesView), epoch: try body.readDencU32())
        inc.modified = (try body.readDencU32(), try body.readDencU32())
        inc.newPoolMax = try body.readDencI64()
        inc.newFlags = try body.readDencI32()
        inc.fullMap = try body.readDencBytes()
        inc.crush = try body.readDencBytes()
        inc.newMaxOSD = try body.readDencI32()
        inc.newPools = try body.readDencMap(minimumEntrySize: 14, key: { try $0.readDencI64() }, value: { try PoolInfo(from: &$0) })
        inc.newPoolNames = try body.readDencMap(minimumEntrySize: 12, key: { try $0.readDencI64() }, value: { try $0.readDencString() })
        inc.oldPools = try body.readDencArray(minimumElementSize: 8) { try $0.readDencI64() }
        let upCount = try body.readDencLength(limit: DencLimit.count, minimumUnitSize: 5)
        for _ in 0..<upCount {
            let osd = try body.readDencI32()
            inc.newUpClient.append(osd)
            inc.newUpClientAddresses[osd] = try body.readEntityAddressVector()
        }
        if version >= 5 {
            inc.newState = try body.readDencMap(minimumEntrySize: 8, key: { try $0.readDencI32() }, value: { try $0.readDencU32() })
        } else {
            inc.newState = try body.readDencMap(minimumEntrySize: 5, key: { try $0.readDencI32() }, value: { UInt32(try $0.readDencU8()) })
        }
        inc.newWeight = try body.readDencMap(minimumEntrySize: 8, key: { try $0.readDencI32() }, value: { try $0.readDencU32() })
        inc.newPGTemp = try body.readDencMap(minimumEntrySize: 21, key: { try $0.readDencPlacementGroupID() }, value: { try $0.readDencArray(minimumElementSize: 4) { try $0.readDencI32() } })
        inc.newPrimaryTemp = try body.readDencMap(minimumEntrySize: 21, key: { try $0.readDencPlacementGroupID() }, value: { try $0.readDencI32() })
        if version >= 2 {
            inc.newPrimaryAffinity = try body.readDencMap(minimumEntrySize: 8, key: { try $0.readDencI32() }, value: { try $0.readDencU32() })
        }
        if version >= 3 {
            inc.newErasureCodeProfiles = try body.readDencMap(
                minimumEntrySize: 8, key: { try $0.readDencString() },
                value: { try $0.readDencMap(minimumEntrySize: 8, key: { try $0.readDencString() }, value: { try $0.readDencString() }) }
            )
            inc.oldErasureCodeProfiles = try body.readDencArray(minimumElementSize: 4) { try $0.readDencString() }
        }
        if version >= 4 {
            inc.newPGUpmap = try body.readDencMap(minimumEntrySize: 21, key: { try $0.readDencPlacementGroupID() }, value: { try $0.readDencArray(minimumElementSize: 4) { try $0.readDencI32() } })
            inc.oldPGUpmap = try pgSet(&body)
            let items = try body.readDencLength(limit: DencLimit.count, minimumUnitSize: 21)
            for _ in 0..<items {
                let pg = try body.readDencPlacementGroupID()
                inc.newPGUpmapItems[pg] = try body.readDencArray(minimumElementSize: 8) { (from: try $0.readDencI32(), to: try $0.readDencI32()) }
            }
            inc.oldPGUpmapItems = try pgSet(&body)
        }
        if version >= 6 {
            try OSDMap.skipSnapIntervalSets(&body)  // new_removed_snaps, new_purged_snaps
        }
        if version >= 8 {
            _ = try body.readDencFixed(16)  // new_last_up_change, new_last_in_change
        }
        if version >= 9 {
            inc.newPGUpmapPrimary = try body.readDencMap(minimumEntrySize: 21, key: { try $0.readDencPlacementGroupID() }, value: { try $0.readDencI32() })
            inc.oldPGUpmapPrimary = try pgSet(&body)
        }
        return inc
    }
}
