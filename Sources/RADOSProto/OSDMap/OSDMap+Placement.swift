/// Where an object or a placement group lives: object → PG → raw CRUSH result →
/// up set (existing, up OSDs; upmaps applied) → acting set (pg_temp, primary_temp)
/// and primaries (primary affinity).
///
/// Source: ceph/ceph `src/osd/OSDMap.cc` (`object_locator_to_pg`,
/// `_pg_to_raw_osds`, `_remove_nonexistent_osds`, `_apply_upmap`, `_raw_to_up_osds`,
/// `_pick_primary`, `_apply_primary_affinity`, `_get_temp_osds`,
/// `_pg_to_up_acting_osds`); kernel `net/ceph/osdmap.c` (`ceph_pg_to_up_acting_osds`).
extension OSDMap {
    /// The up and acting sets of a PG with their primaries (-1 when none).
    package struct Mapping: Sendable, Hashable {
        package var up: [Int32]
        package var upPrimary: Int32
        package var acting: [Int32]
        package var actingPrimary: Int32
        /// The CRUSH result with nonexistent OSDs removed, before upmaps and up/down
        /// filtering (`pg_to_raw_osds`, `raw` in osdmaptool's dump), and its first OSD.
        package var raw: [Int32]
        package var rawPrimary: Int32
    }

    /// `object_locator_to_pg` followed by `raw_pg_to_pg`: the PG of an object.
    package func placementGroup(object name: String, pool poolID: Int64, namespace: String = "", key: String = "") -> PlacementGroupID? {
        guard let pool = pools[poolID] else { return nil }
        let seed = pool.hashKey(key.isEmpty ? name : key, namespace: namespace)
        return pool.rawPGToPG(PlacementGroupID(pool: poolID, seed: seed))
    }

    /// The rule a pool uses: Pacific maps where every rule's ruleset equals its id use
    /// the pool's `crush_rule` as the rule id (if its type matches); otherwise the first
    /// rule whose mask matches (`crush_find_rule`).
    package func ruleID(for pool: PoolInfo) -> Int? {
        let rules = crush.rules
        let wanted = Int(pool.crushRule)
        let allUniform = rules.enumerated().allSatisfy { index, rule in rule.map { Int($0.ruleset) == index } ?? true }
        if allUniform {
            guard wanted < rules.count, let rule = rules[wanted], rule.type == pool.type else { return nil }
            return wanted
        }
        for (index, rule) in rules.enumerated() {
            guard let rule else { continue }
            if rule.ruleset == pool.crushRule, rule.type == pool.type, rule.minSize <= pool.size, rule.maxSize >= pool.size {
                return index
            }
        }
        return nil
    }

    /// `_pg_to_raw_osds`: the CRUSH result for a PG, with OSDs that do not exist removed
    /// (replicated) or replaced by `CRUSH_ITEM_NONE` (erasure). Also returns the CRUSH input.
    package func rawOSDs(_ pg: PlacementGroupID, pool: PoolInfo, mapper: CRUSHMapper) -> (osds: [Int32], pps: UInt32) {
        let pps = pool.rawPGToPPS(pg)
        var osds: [Int32] = []
        if let rule = ruleID(for: pool) {
            let args = crush.chooseArgs(forIndex: pg.pool)
            mapper.doRule(rule, x: Int32(bitPattern: pps), resultMax: Int(pool.size), weights: osdWeight, chooseArgs: args, into: &osds)
        }
        if pool.canShiftOSDs {
            osds.removeAll { !exists($0) }
        } else {
            for i in osds.indices where !exists(osds[i]) { osds[i] = CRUSHMapper.itemNone }
        }
        return (osds, pps)
    }

    /// `_apply_upmap`: explicit pg_upmap (unless a target is out), then pg_upmap_items
    /// pairs (each only if its target is not already present and not out).
    package func applyUpmap(_ pg: PlacementGroupID, pool: PoolInfo, raw: inout [Int32]) {
        let pg = pool.rawPGToPG(pg)
        if let explicit = pgUpmap[pg] {
            for osd in explicit where osd != CRUSHMapper.itemNone && osd >= 0 && osd < maxOSD && weight(osd) == 0 {
                return
            }
            raw = explicit
        }
        if let items = pgUpmapItems[pg] {
            for (from, to) in items {
                var present = false
                var position = -1
                let targetOut = to != CRUSHMapper.itemNone && to >= 0 && to < maxOSD && weight(to) == 0
                for (i, osd) in raw.enumerated() {
                    if osd == to {
                        present = true
                        break
                    }
                    if osd == from && position < 0 && !targetOut {
                        position = i
                    }
                }
                if !present && position >= 0 { raw[position] = to }
            }
        }
    }

    /// `_raw_to_up_osds`: keep OSDs that exist and are up (shifting left for replicated
    /// pools, leaving holes for erasure pools).
    package func upOSDs(raw: [Int32], pool: PoolInfo) -> [Int32] {
        if pool.canShiftOSDs {
            return raw.filter { exists($0) && isUp($0) }
        }
        return raw.map { exists($0) && isUp($0) ? $0 : CRUSHMapper.itemNone }
    }

    /// `_pick_primary`: the first OSD that is not a hole, or -1.
    package static func pickPrimary(_ osds: [Int32]) -> Int32 {
        osds.first { $0 != CRUSHMapper.itemNone } ?? -1
    }

    /// `_apply_primary_affinity`: an OSD with affinity a < 1 stays primary only when
    /// `hash2(pps, osd) >> 16 < a`; the first rejected one is the fallback. Replicated
    /// pools move the chosen primary to the front.
    package func applyPrimaryAffinity(pps: UInt32, pool: PoolInfo, osds: inout [Int32], primary: inout Int32) {
        guard !osdPrimaryAffinity.isEmpty else { return }
        func affinity(_ osd: Int32) -> UInt32 {
            osd >= 0 && Int(osd) < osdPrimaryAffinity.count ? osdPrimaryAffinity[Int(osd)] : Self.defaultPrimaryAffinity
        }
        guard osds.contains(where: { $0 != CRUSHMapper.itemNone && affinity($0) != Self.defaultPrimaryAffinity }) else { return }
        var position = -1
        for (i, osd) in osds.enumerated() where osd != CRUSHMapper.itemNone {
            let a = affinity(osd)
            if a < Self.defaultPrimaryAffinity && (CRUSHHash.hash2(pps, UInt32(bitPattern: osd)) >> 16) >= a {
                if position < 0 { position = i }
            } else {
                position = i
                break
            }
        }
        guard position >= 0 else { return }
        primary = osds[position]
        if pool.canShiftOSDs && position > 0 {
            osds.remove(at: position)
            osds.insert(primary, at: 0)
        }
    }

    /// `_get_temp_osds`: the pg_temp set (down or missing OSDs dropped or holed) and the
    /// temp primary (primary_temp, else the first OSD of pg_temp, else -1).
    package func tempOSDs(_ pg: PlacementGroupID, pool: PoolInfo) -> (osds: [Int32], primary: Int32) {
        let pg = pool.rawPGToPG(pg)
        var temp: [Int32] = []
        for osd in pgTemp[pg] ?? [] {
            if !exists(osd) || !isUp(osd) {
                if !pool.canShiftOSDs { temp.append(CRUSHMapper.itemNone) }
            } else {
                temp.append(osd)
            }
        }
        if let primary = primaryTemp[pg] { return (temp, primary) }
        return (temp, temp.first { $0 != CRUSHMapper.itemNone } ?? -1)
    }

    /// `_pg_to_up_acting_osds`: the whole pipeline for one PG; nil when its pool does not exist.
    package func mapping(_ pg: PlacementGroupID, mapper: CRUSHMapper) -> Mapping? {
        guard let pool = pools[pg.pool] else { return nil }
        var (acting, actingPrimary) = tempOSDs(pg, pool: pool)
        let (rawResult, pps) = rawOSDs(pg, pool: pool, mapper: mapper)
        let crushRaw = rawResult
        var raw = rawResult
        applyUpmap(pg, pool: pool, raw: &raw)
        var up = upOSDs(raw: raw, pool: pool)
        var upPrimary = Self.pickPrimary(up)
        applyPrimaryAffinity(pps: pps, pool: pool, osds: &up, primary: &upPrimary)
        if acting.isEmpty {
            acting = up
            if actingPrimary == -1 { actingPrimary = upPrimary }
        }
        return Mapping(
            up: up, upPrimary: upPrimary, acting: acting, actingPrimary: actingPrimary,
            raw: crushRaw, rawPrimary: Self.pickPrimary(crushRaw)
        )
    }
}
