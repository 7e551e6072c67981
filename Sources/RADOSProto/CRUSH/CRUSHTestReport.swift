/// The mapping lines of `crushtool --test --show-mappings`, so that SwiftRBD's mapper
/// can be diffed against Ceph's textually.
///
/// Source: ceph/ceph `src/crush/CrushTester.cc` (`CrushTester::test`): for each
/// existing rule (or only `--rule`), for each replica count (`--num-rep`, else the
/// rule's min..max size), for each x in min...max: `CRUSH rule R x X [a,b,c]`. Device
/// weights are those given with `--weight` (``fixedWeight(_:)``), else 0x10000 for
/// every device some bucket holds and 0 for the others; the choose_args set is looked
/// up with fallback to the default one.
package enum CRUSHTestReport {
    package static func mappings(
        map: CRUSHMap, rule: Int?, numRep: Int?, minX: Int32, maxX: Int32, chooseArgsIndex: Int64 = 0,
        deviceWeights: [Int32: UInt32] = [:]
    ) -> [String] {
        let present = map.devicesPresent()
        let weights: [UInt32] = (0..<Int(max(map.maxDevices, 0))).map {
            deviceWeights[Int32($0)] ?? (present.contains(Int32($0)) ? 0x10000 : 0)
        }
        guard weights.contains(where: { $0 != 0 }) else { return [] }
        let mapper = CRUSHMapper(map: map, maxResult: 256)
        let args = map.chooseArgs(forIndex: chooseArgsIndex)
        var lines: [String] = []
        var result: [Int32] = []
        result.reserveCapacity(256)
        for ruleID in map.rules.indices {
            if let rule, rule != ruleID { continue }
            guard let r = map.rules[ruleID] else { continue }
            let range: ClosedRange<Int>
            if let numRep {
                range = numRep...numRep
            } else {
                guard r.minSize <= r.maxSize else { continue }
                range = Int(r.minSize)...Int(r.maxSize)
            }
            for nr in range {
                guard minX <= maxX else { continue }
                for x in minX...maxX {
                    mapper.doRule(ruleID, x: x, resultMax: nr, weights: weights, chooseArgs: args, into: &result)
                    lines.append("CRUSH rule \(ruleID) x \(x) [\(result.map(String.init).joined(separator: ","))]")
                }
            }
        }
        return lines
    }

    /// `CrushTester::set_device_weight`: a 0...1 weight as 16.16, computed in single
    /// precision and truncated, clamped to 0...0x10000.
    package static func fixedWeight(_ weight: Double) -> UInt32 {
        let scaled = Float(weight) * Float(0x10000)
        guard scaled.isFinite else { return 0 }
        return UInt32(min(max(Int64(scaled), 0), 0x10000))
    }
}
