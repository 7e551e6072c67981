/// The per-PG lines of `osdmaptool --test-map-pgs-dump[-all]` and the line of
/// `--test-map-object`, for textual comparison with Ceph.
///
/// Source: ceph/ceph `src/tools/osdmaptool.cc`: for each pool (or `--pool`), a
/// `pool P pg_num N` header, then for ps in 0..<pg_num either
/// `<pgid>\t[acting]\t<acting primary>` or
/// `<pgid> raw ([..], pP) up ([..], pU) acting ([..], pA)`; vectors print as
/// `[a,b,c]` with holes as 2147483647. The statistics table osdmaptool prints after
/// the PG lines is not reproduced.
package enum OSDMapTestReport {
    static func list(_ osds: [Int32]) -> String {
        "[" + osds.map(String.init).joined(separator: ",") + "]"
    }

    package static func pgDump(map: OSDMap, pool only: Int64?, all: Bool) -> [String] {
        let mapper = CRUSHMapper(map: map.crush, maxResult: 64)
        var lines: [String] = []
        for poolID in map.pools.keys.sorted() {
            if let only, only != poolID { continue }
            guard let pool = map.pools[poolID] else { continue }
            lines.append("pool \(poolID) pg_num \(pool.pgNum)")
            for ps in 0..<pool.pgNum {
                let pg = PlacementGroupID(pool: poolID, seed: ps)
                guard let m = map.mapping(pg, mapper: mapper) else { continue }
                if all {
                    lines.append("\(pg) raw (\(list(m.raw)), p\(m.rawPrimary)) up (\(list(m.up)), p\(m.upPrimary)) acting (\(list(m.acting)), p\(m.actingPrimary))")
                } else {
                    lines.append("\(pg)\t\(list(m.acting))\t\(m.actingPrimary)")
                }
            }
        }
        return lines
    }

    /// ` object 'NAME' -> <pgid> -> [acting]`.
    package static func objectLine(map: OSDMap, object: String, pool: Int64, namespace: String = "") -> String? {
        guard let pg = map.placementGroup(object: object, pool: pool, namespace: namespace) else { return nil }
        let mapper = CRUSHMapper(map: map.crush, maxResult: 64)
        let acting = map.mapping(pg, mapper: mapper)?.acting ?? []
        return " object '\(object)' -> \(pg) -> \(list(acting))"
    }
}
