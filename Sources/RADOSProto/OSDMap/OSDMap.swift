/// The cluster map of OSDs and pools, as much of it as a client uses to place I/O.
///
/// Source: ceph/ceph `src/osd/OSDMap.h` (`class OSDMap`), the "client-usable" part of
/// its encoding (see `OSDMap+Decode.swift`). Placement is in `OSDMap+Placement.swift`.
package struct OSDMap: Sendable {
    /// `CEPH_OSD_EXISTS`, `CEPH_OSD_UP` (`src/include/rados.h`).
    package static let stateExists: UInt32 = 1 << 0
    package static let stateUp: UInt32 = 1 << 1
    /// Weights and primary affinity are 16.16; 0x10000 is "fully in" / default affinity.
    package static let weightIn: UInt32 = 0x10000
    package static let defaultPrimaryAffinity: UInt32 = 0x10000

    /// The cluster fsid, as 16 raw bytes (uuid_d).
    package var fsid: [UInt8]
    package var epoch: UInt32
    /// `utime_t` as raw (seconds, nanoseconds).
    package var created: (seconds: UInt32, nanoseconds: UInt32)
    package var modified: (seconds: UInt32, nanoseconds: UInt32)
    package var pools: [Int64: PoolInfo]
    package var poolNames: [Int64: String]
    package var poolMax: Int32
    package var flags: UInt32
    package var maxOSD: Int32
    /// Per OSD: `CEPH_OSD_*` state bits.
    package var osdState: [UInt32]
    /// Per OSD: the in/out weight (16.16; 0 = out).
    package var osdWeight: [UInt32]
    /// Per OSD, or empty when every OSD has the default affinity.
    package var osdPrimaryAffinity: [UInt32]
    package var pgTemp: [PlacementGroupID: [Int32]]
    package var primaryTemp: [PlacementGroupID: Int32]
    package var pgUpmap: [PlacementGroupID: [Int32]]
    package var pgUpmapItems: [PlacementGroupID: [(from: Int32, to: Int32)]]
    package var pgUpmapPrimaries: [PlacementGroupID: Int32]
    package var erasureCodeProfiles: [String: [String: String]]
    package var crushVersion: Int32
    package var crush: CRUSHMap
    /// Per OSD: the addresses clients reach it at (`osd_addrs->client_addrs`), v2 and v1.
    package var clientAddresses: [[EntityAddress]] = []

    /// The msgr2 address clients use for `osd`, if it is up and has one.
    package func clientAddress(of osd: Int32) -> EntityAddress? {
        guard osd >= 0, Int(osd) < clientAddresses.count, isUp(osd) else { return nil }
        return clientAddresses[Int(osd)].first { $0.type == EntityAddress.AddressType.msgr2.rawValue }
    }

    package init(
        fsid: [UInt8] = Array(repeating: 0, count: 16), epoch: UInt32, pools: [Int64: PoolInfo], poolNames: [Int64: String] = [:],
        maxOSD: Int32, osdState: [UInt32], osdWeight: [UInt32], crush: CRUSHMap
    ) {
        self.fsid = fsid
        self.epoch = epoch
        self.created = (0, 0)
        self.modified = (0, 0)
        self.pools = pools
        self.poolNames = poolNames
        self.poolMax = Int32(truncatingIfNeeded: pools.keys.max() ?? 0)
        self.flags = 0
        self.maxOSD = maxOSD
        self.osdState = osdState
        self.osdWeight = osdWeight
        self.osdPrimaryAffinity = []
        self.pgTemp = [:]
        self.primaryTemp = [:]
        self.pgUpmap = [:]
        self.pgUpmapItems = [:]
        self.pgUpmapPrimaries = [:]
        self.erasureCodeProfiles = [:]
        self.crushVersion = 0
        self.crush = crush
    }

    /// `exists(osd)`.
    @inline(__always)
    package func exists(_ osd: Int32) -> Bool {
        osd >= 0 && osd < maxOSD && Int(osd) < osdState.count && osdState[Int(osd)] & Self.stateExists != 0
    }

    /// `is_up(osd)`.
    @inline(__always)
    package func isUp(_ osd: Int32) -> Bool {
        exists(osd) && osdState[Int(osd)] & Self.stateUp != 0
    }

    /// The in/out weight of an OSD (0 for an unknown id).
    @inline(__always)
    package func weight(_ osd: Int32) -> UInt32 {
        osd >= 0 && Int(osd) < osdWeight.count ? osdWeight[Int(osd)] : 0
    }

    /// `osdmaptool --mark-up-in`: every OSD up and fully in (not persisted by Ceph either).
    package mutating func markAllUpIn() {
        for i in osdState.indices {
            osdState[i] |= Self.stateExists | Self.stateUp
            osdWeight[i] = Self.weightIn
        }
    }

    /// `osdmaptool --mark-out N`.
    package mutating func markOut(_ osd: Int32) {
        if osd >= 0, Int(osd) < osdWeight.count { osdWeight[Int(osd)] = 0 }
    }
}
