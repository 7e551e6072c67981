import NIOCore

/// Applying an incremental to a full map (`OSDMap::apply_incremental`, the parts a
/// client sees).
///
/// Source: ceph/ceph `src/osd/OSDMap.cc`. Order matters and is Ceph's: fsid and epoch
/// checks; a full map replaces everything; flags; max_osd (new slots are
/// nonexistent, out, default affinity); pool_max; new and renamed pools (a new pool's
/// last_change becomes the epoch); removed pools; weights (marking in clears the
/// AUTOOUT and NEW state bits); primary affinity; EC profiles; state toggles (0
/// means UP; toggling EXISTS off destroys the OSD: state 0, default affinity); OSDs
/// that came up (EXISTS|UP, STOP cleared); pg_temp (empty removes); primary_temp (-1
/// removes); pg_upmap, pg_upmap_items and pg_upmap_primary additions then removals;
/// and last, a new CRUSH map.
extension OSDMap {
    /// `CEPH_OSD_AUTOOUT`, `CEPH_OSD_NEW`, `CEPH_OSD_STOP` (`src/include/rados.h`).
    package static let stateAutoOut: UInt32 = 1 << 2
    package static let stateNew: UInt32 = 1 << 3
    package static let stateStop: UInt32 = 1 << 8

    package enum IncrementalError: Error, Equatable {
        /// The incremental is for another cluster.
        case fsidMismatch
        /// The incremental is not for the next epoch.
        case epochMismatch(have: UInt32, incremental: UInt32)
    }

    /// `set_max_osd`: grow or shrink the per-OSD vectors.
    package mutating func setMaxOSD(_ count: Int32) {
        let n = Int(max(count, 0))
        func resize<T>(_ array: inout [T], _ fill: T) {
            if array.count > n { array.removeLast(array.count - n) } else { array.append(contentsOf: repeatElement(fill, count: n - array.count)) }
        }
        resize(&osdState, 0)
        resize(&osdWeight, 0)
        if !osdPrimaryAffinity.isEmpty { resize(&osdPrimaryAffinity, Self.defaultPrimaryAffinity) }
        maxOSD = Int32(n)
    }

    private mutating func setPrimaryAffinity(_ osd: Int32, _ value: UInt32) {
        guard osd >= 0, osd < maxOSD else { return }
        if osdPrimaryAffinity.isEmpty {
            osdPrimaryAffinity = Array(repeating: Self.defaultPrimaryAffinity, count: Int(maxOSD))
        }
        osdPrimaryAffinity[Int(osd)] = value
    }

    /// Applies `inc` (which must be for epoch + 1 of the same cluster).
    package mutating func apply(_ inc: OSDMapIncremental) throws {
        if inc.epoch == 1 {
            fsid = inc.fsid
        } else if inc.fsid != fsid {
            throw IncrementalError.fsidMismatch
        }
        guard inc.epoch == epoch &+ 1 else {
            throw IncrementalError.epochMismatch(have: epoch, incremental: inc.epoch)
        }
        if inc.fullMap.readableBytes > 0 {
            self = try OSDMap(decoding: inc.fullMap)
            return
        }
        epoch = inc.epoch
        modified = inc.modified
        if inc.newFlags >= 0 { flags = UInt32(inc.newFlags) }
        if inc.newMaxOSD >= 0 { setMaxOSD(inc.newMaxOSD) }
        if inc.newPoolMax != -1 { poolMax = Int32(truncatingIfNeeded: inc.newPoolMax) }
        for (id, pool) in inc.newPools {
            var pool = pool
            pool.lastChange = epoch
            pools[id] = pool
        }
        for (id, name) in inc.newPoolNames { poolNames[id] = name }
        for id in inc.oldPools {
            pools[id] = nil
            poolNames[id] = nil
        }
        func valid(_ osd: Int32) -> Bool { osd >= 0 && osd < maxOSD && Int(osd) < osdState.count && Int(osd) < osdWeight.count }
        for (osd, weight) in inc.newWeight where valid(osd) {
            osdWeight[Int(osd)] = weight
            if weight != 0 { osdState[Int(osd)] &= ~(Self.stateAutoOut | Self.stateNew) }
        }
        for (osd, affinity) in inc.newPrimaryAffinity { setPrimaryAffinity(osd, affinity) }
        for name in inc.oldErasureCodeProfiles { erasureCodeProfiles[name] = nil }
        for (name, profile) in inc.newErasureCodeProfiles { erasureCodeProfiles[name] = profile }
        for (osd, toggle) in inc.newState where valid(osd) {
            let s = toggle != 0 ? toggle : Self.stateUp
            if osdState[Int(osd)] & Self.stateExists != 0 && s & Self.stateExists != 0 {
                // The OSD was destroyed.
                if !osdPrimaryAffinity.isEmpty { osdPrimaryAffinity[Int(osd)] = Self.defaultPrimaryAffinity }
                osdState[Int(osd)] = 0
            } else {
                osdState[Int(osd)] ^= s
            }
        }
        for osd in inc.newUpClient where valid(osd) {
            osdState[Int(osd)] |= Self.stateExists | Self.stateUp
            osdState[Int(osd)] &= ~Self.stateStop
            if let addresses = inc.newUpClientAddresses[osd] {
                if clientAddresses.count <= Int(osd) {
                    clientAddresses.append(contentsOf: Array(repeating: [], count: Int(osd) + 1 - clientAddresses.count))
                }
                clientAddresses[Int(osd)] = addresses
            }
        }
        for (pg, osds) in inc.newPGTemp { pgTemp[pg] = osds.isEmpty ? nil : osds }
        for (pg, osd) in inc.newPrimaryTemp { primaryTemp[pg] = osd == -1 ? nil : osd }
        for (pg, osds) in inc.newPGUpmap { pgUpmap[pg] = osds }
        for pg in inc.oldPGUpmap { pgUpmap[pg] = nil }
        for (pg, items) in inc.newPGUpmapItems { pgUpmapItems[pg] = items }
        for pg in inc.oldPGUpmapItems { pgUpmapItems[pg] = nil }
        for (pg, osd) in inc.newPGUpmapPrimary { pgUpmapPrimaries[pg] = osd }
        for pg in inc.oldPGUpmapPrimary { pgUpmapPrimaries[pg] = nil }
        if inc.crush.readableBytes > 0 {
            crush = try CRUSHMap(decoding: inc.crush)
            crushVersion &+= 1
        }
    }
}
