import NIOCore

/// The binary OSDMap (`ceph osd getmap -o`, `osdmaptool --createsimple`), as Pacific
/// encodes it.
///
/// Source: ceph/ceph `src/osd/OSDMap.cc` (`OSDMap::decode`). Layout:
/// - wrapper envelope (u8 v ≥ 7, u8 compat, u32 length);
///   - client-usable envelope (v ≤ 10): uuid fsid (16 bytes), u32 epoch, utime created,
///     utime modified, map<s64, pg_pool_t> pools, map<s64, string> pool names, s32
///     pool_max, u32 flags, s32 max_osd, vector<u32> osd_state (u8 before v5),
///     vector<u32> osd_weight, vector<entity_addrvec_t> client addresses, map<pg_t,
///     vector<s32>> pg_temp, map<pg_t, s32> primary_temp, vector<u32> primary affinity
///     (v ≥ 2), bufferlist crush, map<string, map<string,string>> EC profiles (v ≥ 3),
///     map<pg_t, vector<s32>> pg_upmap and map<pg_t, vector<pair<s32,s32>>>
///     pg_upmap_items (v ≥ 4), s32 crush_version (v ≥ 6), two map<s64,
///     interval_set<u64>> snap sets (v ≥ 7), utime last_up_change and last_in_change
///     (v ≥ 9), map<pg_t, s32> pg_upmap_primaries (v ≥ 10);
///   - OSD-only envelope: skipped whole;
///   - u32 crc (v ≥ 8): CRC32C (seed -1) over the wrapper up to the crc, continued over
///     whatever follows it inside the wrapper.
extension OSDMap {
    /// Decodes a whole OSDMap; the buffer must hold exactly one map.
    package init(decoding buffer: ByteBuffer) throws {
        self = try buffer.decodeExactly("OSDMap") { try OSDMap(from: &$0) }
    }

    package init(from buffer: inout ByteBuffer) throws {
        self = try Self.decodeWrapped(&buffer, type: "OSDMap", clientUnderstands: 10) { body, version in
            try Self.decodeClientPart(&body, version: version)
        }
    }

    /// The envelope both the full map and `OSDMap::Incremental` have used since Luminous:
    /// a wrapper (v ≥ 7, compat ≤ 7) around the client part (decoded by `client`), the
    /// OSD-only part (skipped), and from v8 a CRC32C (seed -1) over the wrapper up to the
    /// crc field, continued over whatever follows it inside the wrapper.
    static func decodeWrapped<T>(
        _ buffer: inout ByteBuffer, type: String, clientUnderstands: UInt8,
        client: (inout ByteBuffer, UInt8) throws -> T
    ) throws -> T {
        let wrapperStart = buffer
        let wrapperVersion = try buffer.readDencU8()
        let wrapperCompat = try buffer.readDencU8()
        guard wrapperVersion >= 7 else {
            throw DencError(.invalidValue("\(type) v\(wrapperVersion): pre-Luminous classic encoding is not supported"), at: wrapperStart)
        }
        guard wrapperCompat <= 7 else {
            throw DencError(.incompatibleVersion(compat: wrapperCompat, supported: 7), at: wrapperStart)
        }
        // The wrapper body as a slice: its indices start at 0, six bytes after the wrapper start.
        var wrapper = try buffer.readDencBytes()
        let value = try wrapper.readDencVersioned("\(type).client", understands: clientUnderstands, client)
        try wrapper.skipDencVersioned("\(type).osd")
        if wrapperVersion >= 8 {
            let crcOffset = wrapper.readerIndex
            let expected = try wrapper.readDencU32()
            if let front = wrapperStart.getSlice(at: wrapperStart.readerIndex, length: 6 + crcOffset) {
                var actual = CRC32C.checksum(front, seed: 0xFFFF_FFFF)
                if wrapper.readableBytes > 0 { actual = CRC32C.checksum(wrapper, seed: actual) }
                guard actual == expected else {
                    throw DencError(.invalidValue("\(type) crc 0x\(String(actual, radix: 16)) != 0x\(String(expected, radix: 16))"), at: wrapper)
                }
            }
        }
        return value
    }

    private static func decodeClientPart(_ body: inout ByteBuffer, version: UInt8) throws -> OSDMap {
        let fsid = Array(try body.readDencFixed(16).readableBytesView)
        let epoch = try body.readDencU32()
        let created = (try body.readDencU32(), try body.readDencU32())
        let modified = (try body.readDencU32(), try body.readDencU32())
        let pools = try body.readDencMap(minimumEntrySize: 14, key: { try $0.readDencI64() }, value: { try PoolInfo(from: &$0) })
        let poolNames = try body.readDencMap(minimumEntrySize: 12, key: { try $0.readDencI64() }, value: { try $0.readDencString() })
        let poolMax = try body.readDencI32()
        let flags = try body.readDencU32()
        let maxOSD = try body.readDencI32()
        guard maxOSD >= 0, maxOSD <= 1 << 24 else {
            throw DencError(.invalidValue("max_osd \(maxOSD)"), at: body)
        }
        let osdState: [UInt32]
        if version >= 5 {
            osdState = try body.readDencArray(minimumElementSize: 4) { try $0.readDencU32() }
        } else {
            osdState = try body.readDencArray(minimumElementSize: 1) { UInt32(try $0.readDencU8()) }
        }
        let osdWeight = try body.readDencArray(minimumElementSize: 4) { try $0.readDencU32() }
        let clientAddresses = try body.readDencArray(limit: 1 << 24, minimumElementSize: 1) { try $0.readEntityAddressVector() }
        let pgTemp = try body.readDencMap(minimumEntrySize: 21, key: { try $0.readDencPlacementGroupID() }, value: { try $0.readDencArray(minimumElementSize: 4) { try $0.readDencI32() } })
        let primaryTemp = try body.readDencMap(minimumEntrySize: 21, key: { try $0.readDencPlacementGroupID() }, value: { try $0.readDencI32() })
        var affinity: [UInt32] = []
        if version >= 2 {
            affinity = try body.readDencArray(minimumElementSize: 4) { try $0.readDencU32() }
        }
        var crushBytes = try body.readDencBytes()
        let crush: CRUSHMap
        do {
            crush = try CRUSHMap(from: &crushBytes)
        } catch let error as DencError {
            throw error.within("crush")
        }

        var map = OSDMap(fsid: fsid, epoch: epoch, pools: pools, poolNames: poolNames, maxOSD: maxOSD, osdState: osdState, osdWeight: osdWeight, crush: crush)
        map.clientAddresses = clientAddresses
        map.created = created
        map.modified = modified
        map.poolMax = poolMax
        map.flags = flags
        map.pgTemp = pgTemp
        map.primaryTemp = primaryTemp
        map.osdPrimaryAffinity = affinity
        if version >= 3 {
            map.erasureCodeProfiles = try body.readDencMap(
                minimumEntrySize: 8, key: { try $0.readDencString() },
                value: { try $0.readDencMap(minimumEntrySize: 8, key: { try $0.readDencString() }, value: { try $0.readDencString() }) }
            )
        }
        if version >= 4 {
            map.pgUpmap = try body.readDencMap(minimumEntrySize: 21, key: { try $0.readDencPlacementGroupID() }, value: { try $0.readDencArray(minimumElementSize: 4) { try $0.readDencI32() } })
            let items = try body.readDencLength(limit: DencLimit.count, minimumUnitSize: 21)
            for _ in 0..<items {
                let pg = try body.readDencPlacementGroupID()
                map.pgUpmapItems[pg] = try body.readDencArray(minimumElementSize: 8) { (from: try $0.readDencI32(), to: try $0.readDencI32()) }
            }
        }
        if version >= 6 {
            map.crushVersion = try body.readDencI32()
        }
        if version >= 7 {
            try skipSnapIntervalSets(&body)  // new_removed_snaps, new_purged_snaps
        }
        if version >= 9 {
            _ = try body.readDencFixed(16)  // last_up_change, last_in_change
        }
        if version >= 10 {
            map.pgUpmapPrimaries = try body.readDencMap(minimumEntrySize: 21, key: { try $0.readDencPlacementGroupID() }, value: { try $0.readDencI32() })
        }
        return map
    }

    /// Skips two `map<s64, interval_set<snapid_t>>` (removed and purged snapshots), which
    /// full maps and incrementals carry and a client does not use.
    static func skipSnapIntervalSets(_ body: inout ByteBuffer) throws {
        for _ in 0..<2 {
            let pools = try body.readDencLength(limit: DencLimit.count, minimumUnitSize: 12)
            for _ in 0..<pools {
                _ = try body.readDencI64()
                let intervals = try body.readDencLength(limit: DencLimit.count, minimumUnitSize: 16)
                _ = try body.readDencFixed(intervals * 16)
            }
        }
    }
}
