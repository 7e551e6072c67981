import Foundation

/// The per-PG lines of `osdmaptool --test-map-pgs-dump[-all]` and the line of
/// `--test-map-object`, for textual comparison with Ceph.
///
/// Source: ceph/ceph `src/tools/osdmaptool.cc`: for each pool (or `--pool`), a
/// `pool P pg_num N` header, then for ps in 0..<pg_num either
/// `<pgid>\t[acting]\t<acting primary>` or
/// `<pgid> raw ([..], pP) up ([..], pU) acting ([..], pA)`; vectors print as
/// `[a,b,c]` with holes as 2147483647. Then the statistics of ``statistics(map:pool:)``.
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

    /// The table osdmaptool prints after the PG lines: per OSD that is in and has a
    /// positive CRUSH weight, how many PGs' acting sets hold it, start with it, and have
    /// it as primary, its CRUSH weight and its in-weight; then the count of such OSDs,
    /// the (integer) average count, its standard deviation and the expected one for a
    /// uniform spread, the least and most loaded OSDs, and how many PGs have each size.
    /// Floating-point values print as C++ streams do by default (`%g`).
    package static func statistics(map: OSDMap, pool only: Int64?) -> [String] {
        let n = Int(map.maxOSD)
        var count = [Int](repeating: 0, count: n)
        var first = [Int](repeating: 0, count: n)
        var primaries = [Int](repeating: 0, count: n)
        var sizes: [Int: Int] = [:]
        let mapper = CRUSHMapper(map: map.crush, maxResult: 64)
        for poolID in map.pools.keys.sorted() {
            if let only, only != poolID { continue }
            guard let pool = map.pools[poolID] else { continue }
            for ps in 0..<pool.pgNum {
                let pg = PlacementGroupID(pool: poolID, seed: ps)
                guard let m = map.mapping(pg, mapper: mapper) else { continue }
                sizes[m.acting.count, default: 0] += 1
                for osd in m.acting where osd != CRUSHMapper.itemNone && osd >= 0 && Int(osd) < n {
                    count[Int(osd)] += 1
                }
                if let head = m.acting.first, head != CRUSHMapper.itemNone, head >= 0, Int(head) < n { first[Int(head)] += 1 }
                if m.actingPrimary >= 0, Int(m.actingPrimary) < n { primaries[Int(m.actingPrimary)] += 1 }
            }
        }
        func g(_ value: Double) -> String { String(format: "%g", value) }
        var lines = ["#osd\tcount\tfirst\tprimary\tc wt\twt"]
        var total = 0
        var inCount = 0
        var minOSD = -1
        var maxOSD = -1
        var counted: [Int] = []
        for i in 0..<n {
            let osd = Int32(i)
            guard map.exists(osd), map.weight(osd) != 0, let crushWeight = map.crush.itemWeight(osd), crushWeight > 0 else { continue }
            inCount += 1
            counted.append(i)
            let cwt = Float(crushWeight) / Float(0x10000)
            let wt = Float(map.weight(osd)) / Float(0x10000)
            lines.append("osd.\(i)\t\(count[i])\t\(first[i])\t\(primaries[i])\t\(g(Double(cwt)))\t\(g(Double(wt)))")
            total += count[i]
            if count[i] > 0 && (minOSD < 0 || count[i] < count[minOSD]) { minOSD = i }
            if count[i] > 0 && (maxOSD < 0 || count[i] > count[maxOSD]) { maxOSD = i }
        }
        let average = inCount > 0 ? total / inCount : 0
        var deviation = 0.0
        for i in counted {
            let d = Double(average - count[i])
            deviation += d * d
        }
        deviation /= Double(inCount)
        deviation = deviation.squareRoot()
        let expected = (Double(total) / Double(inCount) * (1.0 - 1.0 / Double(inCount))).squareRoot()
        lines.append(" in \(inCount)")
        lines.append(" avg \(average) stddev \(g(deviation)) (\(g(deviation / Double(average)))x) (expected \(g(expected)) \(g(expected / Double(average)))x))")
        if minOSD >= 0 { lines.append(" min osd.\(minOSD) \(count[minOSD])") }
        if maxOSD >= 0 { lines.append(" max osd.\(maxOSD) \(count[maxOSD])") }
        for size in sizes.keys.sorted() where sizes[size, default: 0] > 0 {
            lines.append("size \(size)\t\(sizes[size, default: 0])")
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
