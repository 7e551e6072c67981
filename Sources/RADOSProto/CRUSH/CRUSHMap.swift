/// A decoded CRUSH map: the hierarchy, the rules, the tunables, and the names.
///
/// Source: ceph/ceph `src/crush/crush.h` (`struct crush_map`) and
/// `src/crush/CrushWrapper.h` (names, device classes, choose_args). The mapper is in
/// ``CRUSHMapper``; the binary format in `CRUSHMap+Decode.swift`.
package struct CRUSHMap: Sendable, Hashable {
    /// Buckets by index `-1 - id`; nil where the id is unused.
    package var buckets: [CRUSHBucket?]
    /// Rules by rule id; nil where the id is unused.
    package var rules: [CRUSHRule?]
    /// One more than the highest device id.
    package var maxDevices: Int32
    package var tunables: CRUSHTunables

    package var typeNames: [Int32: String] = [:]
    package var itemNames: [Int32: String] = [:]
    package var ruleNames: [Int32: String] = [:]
    /// Device class of an item (device or bucket id → class id).
    package var classMap: [Int32: Int32] = [:]
    package var classNames: [Int32: String] = [:]
    /// Shadow trees: original bucket id → (class id → shadow bucket id).
    package var classBuckets: [Int32: [Int32: Int32]] = [:]
    /// Weight sets, keyed by pool id or ``CRUSHChooseArgMap/defaultIndex``.
    package var chooseArgs: [Int64: CRUSHChooseArgMap] = [:]

    package init(buckets: [CRUSHBucket?], rules: [CRUSHRule?], maxDevices: Int32, tunables: CRUSHTunables = CRUSHTunables()) {
        self.buckets = buckets
        self.rules = rules
        self.maxDevices = maxDevices
        self.tunables = tunables
    }

    /// The bucket with id `id` (< 0), or nil.
    @inline(__always)
    package func bucket(id: Int32) -> CRUSHBucket? {
        let index = -1 - Int(id)
        guard index >= 0, index < buckets.count else { return nil }
        return buckets[index]
    }

    /// `CrushWrapper::choose_args_get_with_fallback`: the set for `index`, else the
    /// default set, else none.
    package func chooseArgs(forIndex index: Int64) -> CRUSHChooseArgMap? {
        chooseArgs[index] ?? chooseArgs[CRUSHChooseArgMap.defaultIndex]
    }

    /// `CrushWrapper::get_item_weight`: the weight of `item` in the first bucket (by
    /// index) that is it or holds it; nil when no bucket does.
    package func itemWeight(_ item: Int32) -> Int32? {
        for case let bucket? in buckets {
            if bucket.id == item { return Int32(bitPattern: bucket.weight) }
            guard let i = bucket.items.firstIndex(of: item) else { continue }
            let weight: UInt32?
            switch bucket.algorithm {
            case .uniform: weight = bucket.uniformItemWeight
            case .list, .straw, .straw2: weight = i < bucket.itemWeights.count ? bucket.itemWeights[i] : nil
            case .tree:
                let node = ((i + 1) << 1) - 1
                weight = node < bucket.nodeWeights.count ? bucket.nodeWeights[node] : nil
            }
            return weight.map { Int32(bitPattern: $0) }
        }
        return nil
    }

    /// Whether a device appears in some bucket (`CrushWrapper::check_item_present`).
    package func devicesPresent() -> Set<Int32> {
        var present = Set<Int32>()
        for case let bucket? in buckets {
            for item in bucket.items where item >= 0 { present.insert(item) }
        }
        return present
    }
}
