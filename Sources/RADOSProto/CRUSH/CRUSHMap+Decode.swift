import NIOCore

/// The binary CRUSH map, as `crushtool -c`/`--build` write it and as the OSDMap
/// embeds it.
///
/// Source: ceph/ceph `src/crush/CrushWrapper.cc` (`CrushWrapper::decode`,
/// `decode_crush_bucket`, `decode_32_or_64_string_map`). Layout, all little-endian:
/// - u32 magic `0x00010000`, s32 max_buckets, u32 max_rules, s32 max_devices;
/// - max_buckets buckets: u32 alg (0 = no bucket), then s32 id, u16 type, u8 alg,
///   u8 hash, u32 weight, u32 size, size × s32 items, and per algorithm: uniform u32
///   item_weight; list size × (u32 weight, u32 sum); tree u8 num_nodes + that many u32
///   node weights; straw size × (u32 weight, u32 straw); straw2 size × u32 weight;
/// - max_rules rules: u32 present, then u32 len, u8 ruleset, u8 type, u8 min_size,
///   u8 max_size, len × (u32 op, s32 arg1, s32 arg2);
/// - type, item and rule names: maps s32 → string (a historical bug wrote 64-bit keys:
///   a zero length means the key had four more bytes and the real length follows);
/// - then, each only if bytes remain: u32 choose_local_tries, u32
///   choose_local_fallback_tries, u32 choose_total_tries; u32 chooseleaf_descend_once;
///   u8 chooseleaf_vary_r; u8 straw_calc_version; u32 allowed_bucket_algs; u8
///   chooseleaf_stable; device classes (map s32→s32, map s32→string, map
///   s32→map s32→s32); choose_args (u32 count × (s64 key, u32 n × (u32 bucket index,
///   u32 positions × (u32 n, n × u32 weight), u32 n, n × s32 id))); and, after Pacific,
///   u32 msr_descents, u32 msr_collision_tries (read and ignored).
extension CRUSHMap {
    /// `CRUSH_MAGIC`.
    package static let magic: UInt32 = 0x0001_0000
    /// Caps on counts in a map we accept (Ceph's own maps are far smaller).
    package static let maxBuckets = 1 << 20
    package static let maxRules = 1 << 16
    package static let maxItemsPerBucket = 1 << 20
    package static let maxRuleSteps = 1 << 12

    /// Decodes a whole CRUSH map; the buffer must hold exactly one map.
    package init(decoding buffer: ByteBuffer) throws {
        self = try buffer.decodeExactly("CrushWrapper") { try CRUSHMap(from: &$0) }
    }

    /// Decodes a CRUSH map from the front of `buffer`, consuming everything up to its end.
    package init(from buffer: inout ByteBuffer) throws {
        let magic = try buffer.readDencU32()
        guard magic == Self.magic else {
            throw DencError(.invalidValue("bad CRUSH magic 0x\(String(magic, radix: 16))"), at: buffer)
        }
        let maxBuckets = try buffer.readDencI32()
        let maxRules = try buffer.readDencU32()
        var maxDevices = try buffer.readDencI32()
        // Each bucket takes at least 4 bytes, each rule 4: bound the counts by the bytes left too.
        guard maxBuckets >= 0, Int(maxBuckets) <= Self.maxBuckets, Int(maxBuckets) * 4 <= buffer.readableBytes else {
            throw DencError(.lengthTooLarge(Int(maxBuckets), limit: Self.maxBuckets), at: buffer, context: ["max_buckets"])
        }
        guard Int(maxRules) <= Self.maxRules, Int(maxRules) * 4 <= buffer.readableBytes else {
            throw DencError(.lengthTooLarge(Int(maxRules), limit: Self.maxRules), at: buffer, context: ["max_rules"])
        }
        guard maxDevices >= 0 else {
            throw DencError(.invalidValue("negative max_devices \(maxDevices)"), at: buffer)
        }

        var buckets: [CRUSHBucket?] = []
        buckets.reserveCapacity(Int(maxBuckets))
        for _ in 0..<Int(maxBuckets) {
            do {
                buckets.append(try Self.decodeBucket(&buffer))
            } catch let error as DencError {
                throw error.within("crush_bucket")
            }
        }

        var rules: [CRUSHRule?] = []
        rules.reserveCapacity(Int(maxRules))
        for _ in 0..<Int(maxRules) {
            do {
                rules.append(try Self.decodeRule(&buffer))
            } catch let error as DencError {
                throw error.within("crush_rule")
            }
        }

        // crush_finalize: max_devices covers every device a bucket names.
        for case let bucket? in buckets {
            for item in bucket.items where item >= maxDevices {
                maxDevices = item == Int32.max ? item : item + 1
            }
        }

        self.init(buckets: buckets, rules: rules, maxDevices: maxDevices)
        typeNames = try Self.decodeNameMap(&buffer)
        itemNames = try Self.decodeNameMap(&buffer)
        ruleNames = try Self.decodeNameMap(&buffer)

        if buffer.readableBytes > 0 {
            tunables.chooseLocalTries = try buffer.readDencU32()
            tunables.chooseLocalFallbackTries = try buffer.readDencU32()
            tunables.chooseTotalTries = try buffer.readDencU32()
        }
        if buffer.readableBytes > 0 { tunables.chooseleafDescendOnce = try buffer.readDencU32() }
        if buffer.readableBytes > 0 { tunables.chooseleafVaryR = try buffer.readDencU8() }
        if buffer.readableBytes > 0 { tunables.strawCalcVersion = try buffer.readDencU8() }
        if buffer.readableBytes > 0 { tunables.allowedBucketAlgorithms = try buffer.readDencU32() }
        if buffer.readableBytes > 0 { tunables.chooseleafStable = try buffer.readDencU8() }
        if buffer.readableBytes > 0 {
            classMap = try buffer.readDencMap(minimumEntrySize: 8, key: { try $0.readDencI32() }, value: { try $0.readDencI32() })
            classNames = try buffer.readDencMap(minimumEntrySize: 8, key: { try $0.readDencI32() }, value: { try $0.readDencString() })
            classBuckets = try buffer.readDencMap(
                minimumEntrySize: 8,
                key: { try $0.readDencI32() },
                value: { try $0.readDencMap(minimumEntrySize: 8, key: { try $0.readDencI32() }, value: { try $0.readDencI32() }) }
            )
        }
        if buffer.readableBytes > 0 {
            let buckets = self.buckets
            chooseArgs = try buffer.readDencMap(
                minimumEntrySize: 12,
                key: { try $0.readDencI64() },
                value: { try Self.decodeChooseArgMap(&$0, buckets: buckets) }
            )
        }
        if buffer.readableBytes > 0 {
            _ = try buffer.readDencU32()  // msr_descents (Squid and later)
            _ = try buffer.readDencU32()  // msr_collision_tries
        }
    }

    private static func decodeBucket(_ buffer: inout ByteBuffer) throws -> CRUSHBucket? {
        let outerAlg = try buffer.readDencU32()
        if outerAlg == 0 { return nil }
        let start = buffer
        let id = try buffer.readDencI32()
        let type = try buffer.readDencU16()
        let algRaw = try buffer.readDencU8()
        let hash = try buffer.readDencU8()
        let weight = try buffer.readDencU32()
        guard let algorithm = CRUSHBucket.Algorithm(rawValue: algRaw), UInt32(algRaw) == outerAlg else {
            throw DencError(.invalidValue("unsupported bucket algorithm \(outerAlg)/\(algRaw)"), at: start)
        }
        guard id < 0 else {
            throw DencError(.invalidValue("bucket id \(id) is not negative"), at: start)
        }
        let size = try buffer.readDencLength(limit: maxItemsPerBucket, minimumUnitSize: 4)
        var items: [Int32] = []
        items.reserveCapacity(size)
        for _ in 0..<size { items.append(try buffer.readDencI32()) }
        var bucket = CRUSHBucket(id: id, type: type, algorithm: algorithm, hash: hash, weight: weight, items: items)
        switch algorithm {
        case .uniform:
            bucket.uniformItemWeight = try buffer.readDencU32()
        case .list:
            try requireBytes(&buffer, size * 8)
            bucket.itemWeights.reserveCapacity(size)
            bucket.sumWeights.reserveCapacity(size)
            for _ in 0..<size {
                bucket.itemWeights.append(try buffer.readDencU32())
                bucket.sumWeights.append(try buffer.readDencU32())
            }
        case .tree:
            let nodes = Int(try buffer.readDencU8())
            try requireBytes(&buffer, nodes * 4)
            bucket.nodeWeights.reserveCapacity(nodes)
            for _ in 0..<nodes { bucket.nodeWeights.append(try buffer.readDencU32()) }
        case .straw:
            try requireBytes(&buffer, size * 8)
            bucket.itemWeights.reserveCapacity(size)
            bucket.straws.reserveCapacity(size)
            for _ in 0..<size {
                bucket.itemWeights.append(try buffer.readDencU32())
                bucket.straws.append(try buffer.readDencU32())
            }
        case .straw2:
            try requireBytes(&buffer, size * 4)
            bucket.itemWeights.reserveCapacity(size)
            for _ in 0..<size { bucket.itemWeights.append(try buffer.readDencU32()) }
        }
        return bucket
    }

    private static func decodeRule(_ buffer: inout ByteBuffer) throws -> CRUSHRule? {
        let present = try buffer.readDencU32()
        if present == 0 { return nil }
        let length = try buffer.readDencLength(limit: maxRuleSteps, minimumUnitSize: 12)
        let ruleset = try buffer.readDencU8()
        let type = try buffer.readDencU8()
        let minSize = try buffer.readDencU8()
        let maxSize = try buffer.readDencU8()
        try requireBytes(&buffer, length * 12)
        var steps: [CRUSHRule.Step] = []
        steps.reserveCapacity(length)
        for _ in 0..<length {
            let op = try buffer.readDencU32()
            let arg1 = try buffer.readDencI32()
            let arg2 = try buffer.readDencI32()
            steps.append(CRUSHRule.Step(op: op, arg1: arg1, arg2: arg2))
        }
        return CRUSHRule(type: type, ruleset: ruleset, minSize: minSize, maxSize: maxSize, steps: steps)
    }

    /// `decode_32_or_64_string_map`.
    private static func decodeNameMap(_ buffer: inout ByteBuffer) throws -> [Int32: String] {
        let count = try buffer.readDencLength(limit: DencLimit.count, minimumUnitSize: 8)
        var result: [Int32: String] = [:]
        result.reserveCapacity(count)
        for _ in 0..<count {
            let key = try buffer.readDencI32()
            var length = try buffer.readDencU32()
            if length == 0 { length = try buffer.readDencU32() }
            guard Int(length) <= DencLimit.string, let name = buffer.readString(length: Int(length)) else {
                throw DencError(.truncated(needed: Int(length), available: buffer.readableBytes), at: buffer, context: ["name"])
            }
            result[key] = name
        }
        return result
    }

    private static func decodeChooseArgMap(_ buffer: inout ByteBuffer, buckets: [CRUSHBucket?]) throws -> CRUSHChooseArgMap {
        var args = [CRUSHChooseArg?](repeating: nil, count: buckets.count)
        let count = try buffer.readDencLength(limit: buckets.count, minimumUnitSize: 12)
        for _ in 0..<count {
            let start = buffer
            let index = Int(try buffer.readDencU32())
            guard index < buckets.count, let bucket = buckets[index] else {
                throw DencError(.invalidValue("choose_args for missing bucket index \(index)"), at: start)
            }
            let positions = try buffer.readDencLength(limit: 1 << 8, minimumUnitSize: 4)
            var sets: [[UInt32]] = []
            sets.reserveCapacity(positions)
            for _ in 0..<positions {
                let weights = try buffer.readDencArray(limit: maxItemsPerBucket, minimumElementSize: 4) { try $0.readDencU32() }
                guard weights.count == bucket.size else {
                    throw DencError(.invalidValue("weight set of \(weights.count) for a bucket of \(bucket.size)"), at: start)
                }
                sets.append(weights)
            }
            let ids = try buffer.readDencArray(limit: maxItemsPerBucket, minimumElementSize: 4) { try $0.readDencI32() }
            guard ids.isEmpty || ids.count == bucket.size else {
                throw DencError(.invalidValue("\(ids.count) choose_args ids for a bucket of \(bucket.size)"), at: start)
            }
            args[index] = CRUSHChooseArg(weightSets: sets, ids: ids)
        }
        return CRUSHChooseArgMap(args: args)
    }

    private static func requireBytes(_ buffer: inout ByteBuffer, _ count: Int) throws {
        guard count <= buffer.readableBytes else {
            throw DencError(.truncated(needed: count, available: buffer.readableBytes), at: buffer)
        }
    }
}
