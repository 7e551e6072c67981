import Testing

@testable import RADOSProto

/// Object → PG hashing and the PG → up/acting pipeline on hand-built maps, for the
/// paths osdmaptool cannot set up (pg_temp, primary_temp, primary affinity, erasure
/// holes). Expectations follow `src/osd/OSDMap.cc`; the crushtool/osdmaptool
/// comparisons are in the integration tests.
@Suite struct OSDMapPlacementTests {
    /// Seeds printed by osdmaptool for pool 1 with pg_num 16,384 (mask 0x3fff).
    @Test func objectNameHashMatchesOsdmaptool() {
        #expect(ObjectHash.rjenkins(Array("foo".utf8)) & 0x3fff == 0x3406)
        #expect(ObjectHash.rjenkins(Array("rbd_data.1234.0000000000000001".utf8)) & 0x3fff == 0x153)
        #expect(ObjectHash.rjenkins(Array("rbd_header.abc".utf8)) & 0x3fff == 0x3dc2)
    }

    @Test func namespaceIsPrefixedWithUnitSeparator() {
        let pool = PoolInfo(type: 1, size: 3, minSize: 2, crushRule: 0, pgNum: 64, pgpNum: 64)
        #expect(pool.hashKey("obj", namespace: "ns") == ObjectHash.rjenkins(Array("ns\u{1f}obj".utf8)))
        #expect(pool.hashKey("obj", namespace: "") == ObjectHash.rjenkins(Array("obj".utf8)))
    }

    @Test func stableModAndMasks() {
        let pool = PoolInfo(type: 1, size: 3, minSize: 2, crushRule: 0, pgNum: 12, pgpNum: 12)
        #expect(pool.pgNumMask == 15)
        // Values whose low 4 bits are < 12 keep them; others drop to 3 bits.
        #expect(PoolInfo.stableMod(11, 12, 15) == 11)
        #expect(PoolInfo.stableMod(13, 12, 15) == 5)
        #expect(pool.rawPGToPG(PlacementGroupID(pool: 1, seed: 0xffff_fffe)).seed == 6)
        #expect(PlacementGroupID(pool: 1, seed: 0x1f).description == "1.1f")
    }

    static func map(type: UInt8 = PoolInfo.typeReplicated) -> OSDMap {
        var crush = CRUSHMapperTests.smallMap()
        crush.rules[0]?.type = type
        crush.rules[0]?.ruleset = 0
        crush.rules[1] = nil
        let pool = PoolInfo(type: type, size: 2, minSize: 1, crushRule: 0, pgNum: 8, pgpNum: 8)
        let all = OSDMap.stateExists | OSDMap.stateUp
        return OSDMap(epoch: 1, pools: [1: pool], maxOSD: 4, osdState: [all, all, all, all], osdWeight: [0x10000, 0x10000, 0x10000, 0x10000], crush: crush)
    }

    @Test func pgTempAndPrimaryTempOverrideActing() throws {
        var map = Self.map()
        let pg = PlacementGroupID(pool: 1, seed: 3)
        let mapper = CRUSHMapper(map: map.crush)
        let plain = try #require(map.mapping(pg, mapper: mapper))
        #expect(plain.acting == plain.up && plain.actingPrimary == plain.upPrimary)
        map.pgTemp[pg] = [3, 1]
        var m = try #require(map.mapping(pg, mapper: mapper))
        #expect(m.acting == [3, 1] && m.actingPrimary == 3 && m.up == plain.up)
        map.primaryTemp[pg] = 1
        m = try #require(map.mapping(pg, mapper: mapper))
        #expect(m.actingPrimary == 1)
        // A down OSD in pg_temp is dropped (replicated).
        map.osdState[3] = OSDMap.stateExists
        m = try #require(map.mapping(pg, mapper: mapper))
        #expect(m.acting == [1])
    }

    @Test func downOSDsLeaveHolesInErasurePools() throws {
        var map = Self.map(type: PoolInfo.typeErasure)
        let mapper = CRUSHMapper(map: map.crush)
        let pg = PlacementGroupID(pool: 1, seed: 5)
        let before = try #require(map.mapping(pg, mapper: mapper))
        let victim = before.up[0]
        map.osdState[Int(victim)] = OSDMap.stateExists  // down
        let after = try #require(map.mapping(pg, mapper: mapper))
        #expect(after.up.count == before.up.count)
        #expect(after.up[0] == CRUSHMapper.itemNone)
        #expect(after.upPrimary == before.up[1])
    }

    @Test func upmapItemsAndRejectedTargets() throws {
        var map = Self.map()
        let mapper = CRUSHMapper(map: map.crush)
        let pg = PlacementGroupID(pool: 1, seed: 2)
        let before = try #require(map.mapping(pg, mapper: mapper))
        let from = before.up[0]
        let to: Int32 = (0..<4).first { !before.up.contains($0) && $0 / 2 != from / 2 } ?? (from ^ 1)
        map.pgUpmapItems[pg] = [(from: from, to: to)]
        #expect(try #require(map.mapping(pg, mapper: mapper)).up[0] == to)
        // An out target makes the item ignored; an explicit pg_upmap with an out OSD too.
        map.osdWeight[Int(to)] = 0
        #expect(try #require(map.mapping(pg, mapper: mapper)).up[0] == from)
        map.pgUpmap[pg] = [to, from]
        #expect(try #require(map.mapping(pg, mapper: mapper)).up == before.up)
    }

    @Test func primaryAffinityZeroMovesThePrimary() throws {
        var map = Self.map()
        let mapper = CRUSHMapper(map: map.crush)
        map.osdPrimaryAffinity = [0x10000, 0x10000, 0x10000, 0x10000]
        for seed in UInt32(0)..<8 {
            let pg = PlacementGroupID(pool: 1, seed: seed)
            let before = try #require(map.mapping(pg, mapper: mapper))
            var demoted = map
            demoted.osdPrimaryAffinity[Int(before.upPrimary)] = 0
            let after = try #require(demoted.mapping(pg, mapper: mapper))
            #expect(after.upPrimary != before.upPrimary)
            #expect(after.up.first == after.upPrimary)
            #expect(Set(after.up) == Set(before.up))
        }
    }
}
