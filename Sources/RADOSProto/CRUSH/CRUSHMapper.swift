/// The CRUSH mapping algorithm: runs a rule for an input `x` and returns the items
/// it places, bit-exact with Ceph.
///
/// Source: ceph/ceph `src/crush/mapper.c` (`crush_do_rule`, `crush_choose_firstn`,
/// `crush_choose_indep`, `is_out`, the per-algorithm bucket choosers) as of Pacific,
/// cross-checked with kernel `net/ceph/crush/mapper.c`. Semantics kept exactly:
/// - the total tries are `choose_total_tries + 1`; local tries count retries;
/// - chooseleaf recursion uses `choose_leaf_tries`, else 1 when
///   `chooseleaf_descend_once`, else the total tries (firstn), and 1 for indep;
/// - `vary_r` feeds `r >> (vary_r - 1)` to the recursion; `stable` restarts it at rank 0;
/// - indep retries shift `r` by `numrep * ftotal` (`numrep + 1` for a uniform bucket
///   whose size is a multiple of numrep) and leaves holes as ``CRUSHMapper/itemNone``;
/// - a device whose weight is below 0x10000 is kept when
///   `hash2(x, id) & 0xffff < weight`.
///
/// Untrusted maps never trap or hang: a dangling bucket reference is treated like
/// Ceph's "bad item" (the replica is skipped, or left as a hole for indep), indices
/// into bucket arrays are checked, a descent longer than the number of buckets (a
/// cycle) is a bad item too, and retry counts are capped at ``maxTries`` (Ceph's own
/// maps use a few hundred at most; only absurd values differ from Ceph).
///
/// A mapper owns preallocated scratch (the three working vectors and the uniform
/// buckets' permutation state), so mapping does not allocate. It is not thread-safe:
/// use one mapper per thread or task.
package final class CRUSHMapper {
    /// `CRUSH_ITEM_NONE`: a hole in an indep result.
    package static let itemNone: Int32 = 0x7fff_ffff
    /// `CRUSH_ITEM_UNDEF`: not yet chosen (internal to indep).
    package static let itemUndefined: Int32 = 0x7fff_fffe
    /// Cap on any tries/retries count taken from a map or a rule step.
    package static let maxTries: UInt32 = 10_000
    /// Cap on the bucket choices of one ``doRule(_:x:resultMax:weights:chooseArgs:into:)``
    /// call. Capped tries still multiply (total × local × leaf tries) and a firstn step
    /// may ask for billions of replicas of a type that does not exist: a hostile map
    /// would spin for hours (both found by the crush-map fuzz target). Real maps make a
    /// few thousand choices per call at most (an erasure-coded rule with 100 tries
    /// included); past the budget the replicas not yet placed are left out, like a rule
    /// that runs out of tries.
    package static let choiceBudget = 100_000
    /// Bucket choices left in the current call.
    private var choicesLeft = 0

    package let map: CRUSHMap
    /// The largest result a call may ask for.
    package let maxResult: Int

    /// A bucket as the hot loop reads it: one reference instead of a struct of arrays,
    /// so visiting a bucket costs one retain rather than one per array.
    private final class Node {
        let id: Int32
        let type: UInt16
        let algorithm: CRUSHBucket.Algorithm
        let hash: UInt8
        let items: [Int32]
        let itemWeights: [UInt32]
        let sumWeights: [UInt32]
        let nodeWeights: [UInt32]
        let straws: [UInt32]

        init(_ b: CRUSHBucket) {
            id = b.id
            type = b.type
            algorithm = b.algorithm
            hash = b.hash
            items = b.items
            itemWeights = b.algorithm == .uniform ? Array(repeating: b.uniformItemWeight, count: b.items.count) : b.itemWeights
            sumWeights = b.sumWeights
            nodeWeights = b.nodeWeights
            straws = b.straws
        }
    }

    private let nodes: [Node?]

    private let scratch: UnsafeMutablePointer<Int32>
    // Permutation state of each bucket (`struct crush_work_bucket`).
    private let permX: UnsafeMutablePointer<UInt32>
    private let permN: UnsafeMutablePointer<UInt32>
    private let permStart: UnsafeMutablePointer<Int>
    private let perm: UnsafeMutablePointer<UInt32>
    private let permTotal: Int

    package init(map: CRUSHMap, maxResult: Int = 32) {
        self.map = map
        self.maxResult = max(1, min(maxResult, 1 << 16))
        nodes = map.buckets.map { $0.map(Node.init) }
        scratch = .allocate(capacity: 3 * self.maxResult)
        scratch.initialize(repeating: 0, count: 3 * self.maxResult)
        let count = map.buckets.count
        permX = .allocate(capacity: max(count, 1))
        permX.initialize(repeating: 0, count: max(count, 1))
        permN = .allocate(capacity: max(count, 1))
        permN.initialize(repeating: 0, count: max(count, 1))
        permStart = .allocate(capacity: max(count, 1))
        var total = 0
        for i in 0..<count {
            (permStart + i).initialize(to: total)
            total += map.buckets[i]?.size ?? 0
        }
        permTotal = total
        perm = .allocate(capacity: max(total, 1))
        perm.initialize(repeating: 0, count: max(total, 1))
    }

    deinit {
        scratch.deallocate()
        permX.deallocate()
        permN.deallocate()
        permStart.deallocate()
        perm.deallocate()
    }

    // MARK: - entry point

    /// `crush_do_rule`: runs rule `ruleID` for input `x`, asking for up to
    /// `resultMax` items, with per-device weights `weights` (16.16; index = device id;
    /// devices past the end count as out) and optional choose_args. Appends the result
    /// to `result` (cleared first) and returns its length.
    @discardableResult
    package func doRule(
        _ ruleID: Int,
        x: Int32,
        resultMax requested: Int,
        weights: UnsafeBufferPointer<UInt32>,
        chooseArgs: CRUSHChooseArgMap? = nil,
        into result: inout [Int32]
    ) -> Int {
        result.removeAll(keepingCapacity: true)
        let resultMax = min(requested, maxResult)
        choicesLeft = Self.choiceBudget
        guard resultMax > 0, ruleID >= 0, ruleID < map.rules.count, let rule = map.rules[ruleID] else { return 0 }
        let args = chooseArgs.map { $0.args }

        var w = scratch
        var o = scratch + resultMax
        let c = scratch + 2 * resultMax
        var wsize = 0

        var chooseTries = min(map.tunables.chooseTotalTries, Self.maxTries) + 1
        var chooseLeafTries: UInt32 = 0
        var localRetries = min(map.tunables.chooseLocalTries, Self.maxTries)
        var localFallbackRetries = min(map.tunables.chooseLocalFallbackTries, Self.maxTries)
        var varyR = UInt32(map.tunables.chooseleafVaryR)
        var stable = map.tunables.chooseleafStable != 0

        for step in rule.steps {
            guard let op = CRUSHRule.Op(rawValue: step.op) else { continue }
            switch op {
            case .take:
                let arg = step.arg1
                if (arg >= 0 && arg < map.maxDevices) || (arg < 0 && map.bucket(id: arg) != nil) {
                    w[0] = arg
                    wsize = 1
                }
            case .setChooseTries:
                if step.arg1 > 0 { chooseTries = min(UInt32(step.arg1), Self.maxTries) }
            case .setChooseLeafTries:
                if step.arg1 > 0 { chooseLeafTries = min(UInt32(step.arg1), Self.maxTries) }
            case .setChooseLocalTries:
                if step.arg1 >= 0 { localRetries = min(UInt32(step.arg1), Self.maxTries) }
            case .setChooseLocalFallbackTries:
                if step.arg1 >= 0 { localFallbackRetries = min(UInt32(step.arg1), Self.maxTries) }
            case .setChooseLeafVaryR:
                if step.arg1 >= 0 { varyR = UInt32(step.arg1) }
            case .setChooseLeafStable:
                if step.arg1 >= 0 { stable = step.arg1 != 0 }
            case .chooseFirstN, .chooseIndep, .chooseLeafFirstN, .chooseLeafIndep:
                guard wsize > 0 else { break }
                let firstN = op == .chooseFirstN || op == .chooseLeafFirstN
                let recurseToLeaf = op == .chooseLeafFirstN || op == .chooseLeafIndep
                var osize = 0
                for i in 0..<wsize {
                    var numrep = Int(step.arg1)
                    if numrep <= 0 {
                        numrep += resultMax
                        if numrep <= 0 { continue }
                    }
                    let start = w[i]
                    guard start < 0, let bucketIndex = bucketIndex(start) else { continue }
                    if firstN {
                        let recurseTries: UInt32
                        if chooseLeafTries != 0 {
                            recurseTries = chooseLeafTries
                        } else if map.tunables.chooseleafDescendOnce != 0 {
                            recurseTries = 1
                        } else {
                            recurseTries = chooseTries
                        }
                        osize += chooseFirstN(
                            bucketIndex, weights: weights, x: x, numrep: numrep, type: step.arg2,
                            out: o + osize, outpos: 0, outSize: resultMax - osize,
                            tries: chooseTries, recurseTries: recurseTries,
                            localRetries: localRetries, localFallbackRetries: localFallbackRetries,
                            recurseToLeaf: recurseToLeaf, varyR: varyR, stable: stable,
                            out2: c + osize, parentR: 0, args: args
                        )
                    } else {
                        let outSize = min(numrep, resultMax - osize)
                        chooseIndep(
                            bucketIndex, weights: weights, x: x, left: outSize, numrep: numrep, type: step.arg2,
                            out: o + osize, outpos: 0, tries: chooseTries,
                            recurseTries: chooseLeafTries != 0 ? chooseLeafTries : 1,
                            recurseToLeaf: recurseToLeaf, out2: c + osize, parentR: 0, args: args
                        )
                        osize += outSize
                    }
                }
                if recurseToLeaf {
                    o.update(from: c, count: osize)
                }
                swap(&o, &w)
                wsize = osize
            case .emit:
                var i = 0
                while i < wsize && result.count < resultMax {
                    result.append(w[i])
                    i += 1
                }
                wsize = 0
            case .noop:
                break
            }
        }
        return result.count
    }

    /// Convenience over an array of weights.
    @discardableResult
    package func doRule(
        _ ruleID: Int, x: Int32, resultMax: Int, weights: [UInt32], chooseArgs: CRUSHChooseArgMap? = nil, into result: inout [Int32]
    ) -> Int {
        weights.withUnsafeBufferPointer { doRule(ruleID, x: x, resultMax: resultMax, weights: $0, chooseArgs: chooseArgs, into: &result) }
    }

    // MARK: - helpers

    /// Index of the existing bucket `id` (< 0) in `map.buckets`, or nil.
    @inline(__always)
    private func bucketIndex(_ id: Int32) -> Int? {
        let index = -1 - Int(id)
        guard index >= 0, index < nodes.count, nodes[index] != nil else { return nil }
        return index
    }

    /// `is_out`: whether device `item` is rejected for input `x` by its weight.
    @inline(__always)
    private func isOut(_ weights: UnsafeBufferPointer<UInt32>, item: Int32, x: Int32) -> Bool {
        guard item >= 0, Int(item) < weights.count else { return true }
        let weight = weights[Int(item)]
        if weight >= 0x10000 { return false }
        if weight == 0 { return true }
        return (CRUSHHash.hash2(x, item) & 0xffff) >= weight
    }

    // MARK: - bucket choosers

    /// `crush_bucket_choose`: one item of bucket `index` (which must be non-empty).
    @inline(__always)
    private func bucketChoose(_ index: Int, _ bucket: Node, x: Int32, r: Int32, args: [CRUSHChooseArg?]?, position: Int) -> Int32 {
        switch bucket.algorithm {
        case .uniform:
            return permChoose(index, bucket, x: x, r: r)
        case .list:
            return listChoose(bucket, x: x, r: r)
        case .tree:
            return treeChoose(bucket, x: x, r: r)
        case .straw:
            return strawChoose(bucket, x: x, r: r)
        case .straw2:
            var arg: CRUSHChooseArg? = nil
            if let args, index < args.count { arg = args[index] }
            return straw2Choose(bucket, x: x, r: r, arg: arg, position: position)
        }
    }

    /// `bucket_perm_choose`: the `r`-th element of a pseudo-random permutation of the
    /// items seeded by `x`, computed lazily and cached per bucket.
    private func permChoose(_ index: Int, _ bucket: Node, x: Int32, r: Int32) -> Int32 {
        let size = UInt32(bucket.items.count)
        guard size > 0 else { return Self.itemNone }
        let ux = UInt32(bitPattern: x)
        let uid = UInt32(bitPattern: bucket.id)
        let pr = UInt32(bitPattern: r) % size
        let p = perm + permStart[index]
        let chosen: UInt32
        if permX[index] != ux || permN[index] == 0 {
            permX[index] = ux
            if pr == 0 {
                // The common r = 0 case: one hash, remember the pick, and mark the
                // permutation as not built yet (0xffff).
                let s = CRUSHHash.hash3(type: bucket.hash, ux, uid, 0) % size
                p[0] = s
                permN[index] = 0xffff
                return bucket.items[Int(s)]
            }
            for i in 0..<Int(size) { p[i] = UInt32(i) }
            permN[index] = 0
        } else if permN[index] == 0xffff {
            // Expand the r = 0 shortcut into a real one-step permutation.
            for i in 1..<Int(size) { p[i] = UInt32(i) }
            p[Int(p[0])] = 0
            permN[index] = 1
        }
        while permN[index] <= pr {
            let k = permN[index]
            if k < size - 1 {
                let i = CRUSHHash.hash3(type: bucket.hash, ux, uid, k) % (size - k)
                if i != 0 {
                    let t = p[Int(k + i)]
                    p[Int(k + i)] = p[Int(k)]
                    p[Int(k)] = t
                }
            }
            permN[index] = k + 1
        }
        chosen = p[Int(pr)]
        return bucket.items[Int(chosen)]
    }

    /// `bucket_list_choose`: walk from the tail, keep an item with probability weight / running sum.
    private func listChoose(_ bucket: Node, x: Int32, r: Int32) -> Int32 {
        let n = min(bucket.items.count, bucket.itemWeights.count, bucket.sumWeights.count)
        var i = n - 1
        while i >= 0 {
            var w = UInt64(CRUSHHash.hash4(type: bucket.hash, UInt32(bitPattern: x), UInt32(bitPattern: bucket.items[i]), UInt32(bitPattern: r), UInt32(bitPattern: bucket.id)))
            w &= 0xffff
            w = (w &* UInt64(bucket.sumWeights[i])) >> 16
            if w < UInt64(bucket.itemWeights[i]) { return bucket.items[i] }
            i -= 1
        }
        return bucket.items.first ?? Self.itemNone
    }

    /// `bucket_tree_choose`: descend the implicit binary tree by weight.
    private func treeChoose(_ bucket: Node, x: Int32, r: Int32) -> Int32 {
        let nodes = bucket.nodeWeights
        var n = nodes.count >> 1
        while n & 1 == 0 {
            // n == 0 (an empty or malformed tree) has no children: stop.
            guard n > 0, n < nodes.count else { return bucket.items.first ?? Self.itemNone }
            let w = UInt64(nodes[n])
            let t = (UInt64(CRUSHHash.hash4(type: bucket.hash, UInt32(bitPattern: x), UInt32(n), UInt32(bitPattern: r), UInt32(bitPattern: bucket.id))) &* w) >> 32
            let half = (n & -n) >> 1  // 1 << (height(n) - 1)
            let left = n - half
            if left >= 0, left < nodes.count, t < UInt64(nodes[left]) {
                n = left
            } else {
                n += half
            }
        }
        let slot = n >> 1
        guard slot < bucket.items.count else { return bucket.items.first ?? Self.itemNone }
        return bucket.items[slot]
    }

    /// `bucket_straw_choose`: the longest (16-bit hash × straw) wins; ties keep the first.
    private func strawChoose(_ bucket: Node, x: Int32, r: Int32) -> Int32 {
        let n = min(bucket.items.count, bucket.straws.count)
        var high = 0
        var highDraw: UInt64 = 0
        for i in 0..<n {
            var draw = UInt64(CRUSHHash.hash3(type: bucket.hash, UInt32(bitPattern: x), UInt32(bitPattern: bucket.items[i]), UInt32(bitPattern: r)))
            draw &= 0xffff
            draw &*= UInt64(bucket.straws[i])
            if i == 0 || draw > highDraw {
                high = i
                highDraw = draw
            }
        }
        return bucket.items.isEmpty ? Self.itemNone : bucket.items[high]
    }

    /// `bucket_straw2_choose`: each item draws ln(u) / weight (an exponential variable
    /// scaled by its weight); the largest draw wins. Zero-weight items never win unless
    /// all weights are zero (then the first item does).
    private func straw2Choose(_ bucket: Node, x: Int32, r: Int32, arg: CRUSHChooseArg?, position: Int) -> Int32 {
        let count = bucket.items.count
        guard count > 0 else { return Self.itemNone }
        let ux = UInt32(bitPattern: x), ur = UInt32(bitPattern: r), hash = bucket.hash
        // The weight vector and the hashed ids: the bucket's own unless choose_args
        // override them (sizes were checked at decode; shorter vectors read as weight 0).
        var weights = bucket.itemWeights
        var ids = bucket.items
        if let arg {
            if !arg.weightSets.isEmpty { weights = arg.weightSets[min(position, arg.weightSets.count - 1)] }
            if arg.ids.count == count { ids = arg.ids }
        }
        var high = 0
        var highDraw: Int64 = 0
        weights.withUnsafeBufferPointer { w in
            ids.withUnsafeBufferPointer { id in
                for i in 0..<count {
                    let weight = i < w.count ? w[i] : 0
                    let draw: Int64
                    if weight != 0 {
                        let u = CRUSHHash.hash3(type: hash, ux, UInt32(bitPattern: id[i]), ur) & 0xffff
                        let ln = Int64(bitPattern: CRUSHLn.ln(u)) &- 0x1_0000_0000_0000
                        draw = ln / Int64(weight)
                    } else {
                        draw = Int64.min
                    }
                    if i == 0 || draw > highDraw {
                        high = i
                        highDraw = draw
                    }
                }
            }
        }
        return bucket.items[high]
    }

    // MARK: - choose firstn

    /// `crush_choose_firstn`: choose up to `numrep` distinct items of `type` under
    /// bucket `start`, depth first, writing them at `out[outpos...]` (and their leaves
    /// at `out2` when recursing to leaves). Returns the new outpos.
    private func chooseFirstN(
        _ start: Int, weights: UnsafeBufferPointer<UInt32>, x: Int32, numrep: Int, type: Int32,
        out: UnsafeMutablePointer<Int32>, outpos startPos: Int, outSize: Int,
        tries: UInt32, recurseTries: UInt32, localRetries: UInt32, localFallbackRetries: UInt32,
        recurseToLeaf: Bool, varyR: UInt32, stable: Bool,
        out2: UnsafeMutablePointer<Int32>?, parentR: Int32, args: [CRUSHChooseArg?]?
    ) -> Int {
        var outpos = startPos
        var count = outSize
        var rep = stable ? 0 : outpos
        while rep < numrep && count > 0 && choicesLeft > 0 {
            defer { rep += 1 }
            var ftotal: UInt32 = 0
            var skipRep = false
            var item: Int32 = 0
            var retryDescent: Bool
            repeat {
                retryDescent = false
                var inIndex = start
                var flocal: UInt32 = 0
                var depth = 0
                var retryBucket: Bool
                repeat {
                    retryBucket = false
                    var collide = false
                    var reject = false
                    let r = Int32(truncatingIfNeeded: rep) &+ parentR &+ Int32(bitPattern: ftotal)
                    // `inIndex` always names an existing bucket (checked before descending).
                    guard let bucket = nodes[inIndex], choicesLeft > 0 else { skipRep = true; break }
                    choicesLeft -= 1
                    var itemType: Int32 = 0
                    if bucket.items.isEmpty {
                        reject = true
                    } else {
                        if localFallbackRetries > 0 && flocal >= UInt32(bucket.items.count >> 1) && flocal > localFallbackRetries {
                            item = permChoose(inIndex, bucket, x: x, r: r)
                        } else {
                            item = bucketChoose(inIndex, bucket, x: x, r: r, args: args, position: outpos)
                        }
                        if item >= map.maxDevices {
                            skipRep = true
                            break
                        }
                        if item < 0 {
                            guard let childIndex = bucketIndex(item), let child = nodes[childIndex] else {
                                skipRep = true
                                break
                            }
                            itemType = Int32(child.type)
                            if itemType != type {
                                depth += 1
                                guard depth <= map.buckets.count else {
                                    skipRep = true  // a cycle in the hierarchy
                                    break
                                }
                                inIndex = childIndex
                                retryBucket = true
                                continue
                            }
                        } else if type != 0 {
                            // A device where a bucket of another type was wanted.
                            skipRep = true
                            break
                        }
                        for i in 0..<outpos where out[i] == item {
                            collide = true
                            break
                        }
                        if !collide && recurseToLeaf {
                            if item < 0, let out2, let childIndex = bucketIndex(item) {
                                let subR: Int32 = varyR != 0 ? r >> (varyR - 1) : 0
                                let got = chooseFirstN(
                                    childIndex, weights: weights, x: x, numrep: stable ? 1 : outpos + 1, type: 0,
                                    out: out2, outpos: outpos, outSize: count,
                                    tries: recurseTries, recurseTries: 0,
                                    localRetries: localRetries, localFallbackRetries: localFallbackRetries,
                                    recurseToLeaf: false, varyR: varyR, stable: stable,
                                    out2: nil, parentR: subR, args: args
                                )
                                if got <= outpos { reject = true }
                            } else if let out2 {
                                out2[outpos] = item
                            }
                        }
                        if !reject && !collide && itemType == 0 {
                            reject = isOut(weights, item: item, x: x)
                        }
                    }
                    if reject || collide {
                        ftotal &+= 1
                        flocal &+= 1
                        if collide && flocal <= localRetries {
                            retryBucket = true
                        } else if localFallbackRetries > 0 && flocal <= UInt32(bucket.items.count) &+ localFallbackRetries {
                            retryBucket = true
                        } else if ftotal < tries {
                            retryDescent = true
                        } else {
                            skipRep = true
                        }
                    }
                } while retryBucket
            } while retryDescent
            if skipRep { continue }
            out[outpos] = item
            outpos += 1
            count -= 1
        }
        return outpos
    }

    // MARK: - choose indep

    /// `crush_choose_indep`: fill `left` positions `out[outpos..<outpos+left]`
    /// breadth first, so that a failed position does not shift the others; a position
    /// that cannot be filled holds ``itemNone``.
    private func chooseIndep(
        _ start: Int, weights: UnsafeBufferPointer<UInt32>, x: Int32, left initialLeft: Int, numrep: Int, type: Int32,
        out: UnsafeMutablePointer<Int32>, outpos: Int, tries: UInt32, recurseTries: UInt32,
        recurseToLeaf: Bool, out2: UnsafeMutablePointer<Int32>?, parentR: Int32, args: [CRUSHChooseArg?]?
    ) {
        var left = initialLeft
        let endpos = outpos + left
        for rep in outpos..<max(endpos, outpos) {
            out[rep] = Self.itemUndefined
            out2?[rep] = Self.itemUndefined
        }
        var ftotal: UInt32 = 0
        let numrep32 = Int32(truncatingIfNeeded: numrep)
        while left > 0 && ftotal < tries && choicesLeft > 0 {
            for rep in outpos..<endpos where out[rep] == Self.itemUndefined {
                var inIndex = start
                var depth = 0
                while true {
                    guard let bucket = nodes[inIndex], depth <= map.buckets.count else {
                        if depth > map.buckets.count {  // a cycle in the hierarchy
                            out[rep] = Self.itemNone
                            out2?[rep] = Self.itemNone
                            left -= 1
                        }
                        break
                    }
                    depth += 1
                    var r = Int32(truncatingIfNeeded: rep) &+ parentR
                    if bucket.algorithm == .uniform && numrep > 0 && bucket.items.count % numrep == 0 {
                        r = r &+ (numrep32 &+ 1) &* Int32(bitPattern: ftotal)
                    } else {
                        r = r &+ numrep32 &* Int32(bitPattern: ftotal)
                    }
                    if bucket.items.isEmpty || choicesLeft <= 0 { break }
                    choicesLeft -= 1
                    let item = bucketChoose(inIndex, bucket, x: x, r: r, args: args, position: outpos)
                    if item >= map.maxDevices {
                        out[rep] = Self.itemNone
                        out2?[rep] = Self.itemNone
                        left -= 1
                        break
                    }
                    var itemType: Int32 = 0
                    var childIndex = -1
                    if item < 0 {
                        guard let index = bucketIndex(item), let child = nodes[index] else {
                            // A dangling reference is a bad item, whatever type the step
                            // wants (a step may even ask for type -1).
                            out[rep] = Self.itemNone
                            out2?[rep] = Self.itemNone
                            left -= 1
                            break
                        }
                        itemType = Int32(child.type)
                        childIndex = index
                    }
                    if itemType != type {
                        if item >= 0 || childIndex < 0 {
                            out[rep] = Self.itemNone
                            out2?[rep] = Self.itemNone
                            left -= 1
                            break
                        }
                        inIndex = childIndex
                        continue
                    }
                    var collide = false
                    for i in outpos..<endpos where out[i] == item {
                        collide = true
                        break
                    }
                    if collide { break }
                    if recurseToLeaf, let out2 {
                        if item < 0 {
                            chooseIndep(
                                childIndex, weights: weights, x: x, left: 1, numrep: numrep, type: 0,
                                out: out2, outpos: rep, tries: recurseTries, recurseTries: 0,
                                recurseToLeaf: false, out2: nil, parentR: r, args: args
                            )
                            if out2[rep] == Self.itemNone { break }
                        } else {
                            out2[rep] = item
                        }
                    }
                    if itemType == 0 && isOut(weights, item: item, x: x) { break }
                    out[rep] = item
                    left -= 1
                    break
                }
            }
            ftotal &+= 1
        }
        for rep in outpos..<max(endpos, outpos) {
            if out[rep] == Self.itemUndefined { out[rep] = Self.itemNone }
            if let out2, out2[rep] == Self.itemUndefined { out2[rep] = Self.itemNone }
        }
    }
}
