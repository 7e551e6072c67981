import NIOCore
import Testing

@testable import RADOSProto

/// Incremental decoding and application. The encoding below is written field by field
/// after `OSDMap::Incremental::encode` (ceph/ceph `src/osd/OSDMap.cc`), since Ceph's
/// tools cannot produce an incremental without a monitor.
@Suite struct OSDMapIncrementalTests {
    static let pg = PlacementGroupID(pool: 1, seed: 3)

    static func writePG(_ b: inout ByteBuffer, _ pg: PlacementGroupID) {
        b.writeDencU8(1)  // pg_t struct version
        b.writeDencI64(pg.pool)
        b.writeDencU32(pg.seed)
        b.writeDencI32(-1)  // preferred
    }

    /// An incremental for epoch 2 that marks osd.1 down, osd.2 out, sets a pg_temp,
    /// a primary_temp, primary affinity 0 for osd.3, a pg_upmap_items entry and renames
    /// pool 1; the CRC is computed as Ceph does.
    static func encodedIncremental(epoch: UInt32 = 2, corruptCRC: Bool = false) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeDencVersioned(version: 8, compat: 7) { w in  // wrapper
            w.writeDencVersioned(version: 9, compat: 1) { c in  // client-usable data
                c.writeBytes([UInt8](repeating: 0, count: 16))  // fsid
                c.writeDencU32(epoch)  // epoch
                c.writeDencU32(100); c.writeDencU32(0)  // modified (utime)
                c.writeDencI64(-1)  // new_pool_max: unchanged
                c.writeDencI32(-1)  // new_flags: unchanged
                c.writeDencU32(0)  // fullmap: empty bufferlist
                c.writeDencU32(0)  // crush: empty bufferlist
                c.writeDencI32(-1)  // new_max_osd: unchanged
                c.writeDencU32(0)  // new_pools: none
                c.writeDencU32(1); c.writeDencI64(1); c.writeDencString("renamed")  // new_pool_names
                c.writeDencU32(0)  // old_pools
                c.writeDencU32(0)  // new_up_client
                c.writeDencU32(1); c.writeDencI32(1); c.writeDencU32(0)  // new_state: osd.1 toggle UP (0 = UP)
                c.writeDencU32(1); c.writeDencI32(2); c.writeDencU32(0)  // new_weight: osd.2 → 0 (out)
                c.writeDencU32(1); writePG(&c, pg); c.writeDencU32(2); c.writeDencI32(3); c.writeDencI32(0)  // new_pg_temp: [3, 0]
                c.writeDencU32(1); writePG(&c, pg); c.writeDencI32(0)  // new_primary_temp: osd.0
                c.writeDencU32(1); c.writeDencI32(3); c.writeDencU32(0)  // new_primary_affinity: osd.3 → 0
                c.writeDencU32(0)  // new_erasure_code_profiles
                c.writeDencU32(0)  // old_erasure_code_profiles
                c.writeDencU32(0)  // new_pg_upmap
                c.writeDencU32(0)  // old_pg_upmap
                c.writeDencU32(1); writePG(&c, PlacementGroupID(pool: 1, seed: 5)); c.writeDencU32(1); c.writeDencI32(0); c.writeDencI32(3)  // new_pg_upmap_items: 0 → 3
                c.writeDencU32(0)  // old_pg_upmap_items
                c.writeDencU32(0); c.writeDencU32(0)  // new_removed_snaps, new_purged_snaps
                c.writeBytes([UInt8](repeating: 0, count: 16))  // new_last_up_change, new_last_in_change
                c.writeDencU32(0); c.writeDencU32(0)  // new/old pg_upmap_primary
            }
            w.writeDencVersioned(version: 9, compat: 1) { o in  // OSD-only data (skipped by clients)
                o.writeDencU32(0xdead_beef)
            }
            w.writeDencU32(0)  // inc_crc, filled below
            w.writeDencU32(0x1234)  // full_crc
        }
        // inc_crc covers [start, inc_crc) and then (inc_crc, end).
        let crcOffset = b.writerIndex - 8
        var crc = CRC32C.checksum(b.getSlice(at: 0, length: crcOffset)!, seed: 0xFFFF_FFFF)
        crc = CRC32C.checksum(b.getSlice(at: crcOffset + 4, length: 4)!, seed: crc)
        b.setInteger(corruptCRC ? crc ^ 1 : crc, at: crcOffset, endianness: .little)
        return b
    }

    @Test func decodesEveryClientField() throws {
        let inc = try OSDMapIncremental(decoding: Self.encodedIncremental())
        #expect(inc.epoch == 2 && inc.newPoolMax == -1 && inc.newFlags == -1 && inc.newMaxOSD == -1)
        #expect(inc.newPoolNames == [1: "renamed"])
        #expect(inc.newState == [1: 0] && inc.newWeight == [2: 0])
        #expect(inc.newPGTemp == [Self.pg: [3, 0]] && inc.newPrimaryTemp == [Self.pg: 0])
        #expect(inc.newPrimaryAffinity == [3: 0])
        #expect(inc.newPGUpmapItems[PlacementGroupID(pool: 1, seed: 5)]?.map { [$0.from, $0.to] } == [[0, 3]])
    }

    @Test func badCRCAndTruncationThrow() {
        #expect(throws: DencError.self) { try OSDMapIncremental(decoding: Self.encodedIncremental(corruptCRC: true)) }
        let full = Self.encodedIncremental()
        for length in 0..<full.readableBytes {
            #expect(throws: DencError.self) { try OSDMapIncremental(decoding: full.getSlice(at: 0, length: length)!) }
        }
    }

    @Test func appliesToTheMap() throws {
        var map = OSDMapPlacementTests.map()
        map.poolNames[1] = "rbd"
        try map.apply(try OSDMapIncremental(decoding: Self.encodedIncremental()))
        #expect(map.epoch == 2)
        #expect(map.poolNames[1] == "renamed")
        #expect(!map.isUp(1) && map.exists(1))
        #expect(map.weight(2) == 0)
        #expect(map.pgTemp[Self.pg] == [3, 0] && map.primaryTemp[Self.pg] == 0)
        #expect(map.osdPrimaryAffinity == [0x10000, 0x10000, 0x10000, 0])
        let mapping = try #require(map.mapping(Self.pg, mapper: CRUSHMapper(map: map.crush)))
        #expect(mapping.acting == [3, 0] && mapping.actingPrimary == 0)
        #expect(!mapping.up.contains(1) && !mapping.up.contains(2))
        // The same incremental again is for the wrong epoch.
        #expect(throws: OSDMap.IncrementalError.self) { try map.apply(try OSDMapIncremental(decoding: Self.encodedIncremental())) }
    }

    @Test func maxOSDGrowsWithNonexistentOutSlots() {
        var map = OSDMapPlacementTests.map()
        map.setMaxOSD(6)
        #expect(map.osdState.count == 6 && map.osdWeight[5] == 0 && !map.exists(5))
        map.setMaxOSD(2)
        #expect(map.maxOSD == 2 && !map.exists(3))
    }
}
