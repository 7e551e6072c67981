import NIOCore
import Testing

@testable import RADOSProto

/// The mapper and decoder on fixture maps, against lines crushtool printed for them
/// (see `CRUSHFixtures.swift`), plus hand-built maps for paths crushtool's builder
/// does not produce.
@Suite struct CRUSHMapperTests {
    @Test func straw2MatchesCrushtool() throws {
        let map = try CRUSHMap(decoding: CRUSHFixtures.straw2)
        #expect(map.maxDevices == 16)
        #expect(map.buckets.compactMap { $0 }.count == 7)
        #expect(map.tunables.chooseTotalTries == 50 && map.tunables.chooseleafStable == 1 && map.tunables.chooseleafVaryR == 1)
        #expect(map.typeNames[1] == "host" && map.itemNames[-1] == "host0" && map.ruleNames[0] == "replicated_rule")
        #expect(CRUSHTestReport.mappings(map: map, rule: nil, numRep: 3, minX: 0, maxX: 15) == CRUSHFixtures.straw2Mappings)
    }

    @Test func deviceWeightsBelowOne() throws {
        let map = try CRUSHMap(decoding: CRUSHFixtures.straw2)
        let weights: [Int32: UInt32] = [0: CRUSHTestReport.fixedWeight(0.5), 15: 0]
        #expect(weights[0] == 0x8000)
        #expect(CRUSHTestReport.mappings(map: map, rule: nil, numRep: 3, minX: 0, maxX: 15, deviceWeights: weights) == CRUSHFixtures.straw2ReweightedMappings)
    }

    @Test func everyBucketAlgorithmMatchesCrushtool() throws {
        let map = try CRUSHMap(decoding: CRUSHFixtures.mixed)
        let algorithms = Set(map.buckets.compactMap { $0?.algorithm })
        #expect(algorithms == [.uniform, .list, .tree, .straw, .straw2])
        #expect(CRUSHTestReport.mappings(map: map, rule: nil, numRep: 3, minX: 0, maxX: 15) == CRUSHFixtures.mixedMappings)
    }

    @Test func crushLnEndpoints() {
        // x = 0: normalised to 0x8000 with exponent 0, table entries 0 → 0.
        #expect(CRUSHLn.ln(0) == 0)
        // x = 0xffff: exponent 15 and the last table pair: 15 << 44 | 0xffff0000000.
        #expect(CRUSHLn.ln(0xffff) == 0xffff_f000_0000)
        // (Ceph's tables are not exactly monotonic; bit-exactness is checked through
        // the straw2 mappings above and in the crushtool integration tests.)
        // Inputs above 16 bits are masked, never out of the tables.
        #expect(CRUSHLn.ln(0x1_ffff) == CRUSHLn.ln(0xffff))
    }

    @Test func unknownHashTypeHashesToZero() {
        #expect(CRUSHHash.hash3(type: 1, 1, 2, 3) == 0)
        #expect(CRUSHHash.hash3(type: 0, 1, 2, 3) == CRUSHHash.hash3(1, 2, 3))
    }

    /// A hand-built map: root (straw2) over two hosts of two devices; rules for firstn,
    /// indep with a hole, and choose_args.
    static func smallMap() -> CRUSHMap {
        var host0 = CRUSHBucket(id: -2, type: 1, algorithm: .straw2, weight: 0x20000, items: [0, 1])
        host0.itemWeights = [0x10000, 0x10000]
        var host1 = CRUSHBucket(id: -3, type: 1, algorithm: .straw2, weight: 0x20000, items: [2, 3])
        host1.itemWeights = [0x10000, 0x10000]
        var root = CRUSHBucket(id: -1, type: 2, algorithm: .straw2, weight: 0x40000, items: [-2, -3])
        root.itemWeights = [0x20000, 0x20000]
        let firstn = CRUSHRule(steps: [.init(.take, -1), .init(.chooseLeafFirstN, 0, 1), .init(.emit)])
        let indep = CRUSHRule(type: 3, ruleset: 1, steps: [.init(.take, -1), .init(.chooseLeafIndep, 0, 1), .init(.emit)])
        var map = CRUSHMap(buckets: [root, host0, host1], rules: [firstn, indep], maxDevices: 4)
        map.tunables.chooseTotalTries = 50
        map.tunables.chooseleafDescendOnce = 1
        map.tunables.chooseleafVaryR = 1
        map.tunables.chooseleafStable = 1
        return map
    }

    @Test func firstnNeverRepeatsAHostAndIndepLeavesHoles() {
        let mapper = CRUSHMapper(map: Self.smallMap())
        let weights: [UInt32] = [0x10000, 0x10000, 0x10000, 0x10000]
        var out: [Int32] = []
        for x in Int32(0)..<200 {
            mapper.doRule(0, x: x, resultMax: 3, weights: weights, into: &out)
            // Only two hosts: firstn returns two devices on different hosts.
            #expect(out.count == 2)
            #expect(Set(out.map { $0 / 2 }).count == 2)
            mapper.doRule(1, x: x, resultMax: 3, weights: weights, into: &out)
            // indep keeps three positions; the third cannot be filled.
            #expect(out.count == 3)
            #expect(out.filter { $0 == CRUSHMapper.itemNone }.count == 1)
        }
    }

    @Test func zeroWeightDeviceIsNeverChosenAndChooseArgsOverride() {
        var map = Self.smallMap()
        let mapper = CRUSHMapper(map: map)
        var out: [Int32] = []
        for x in Int32(0)..<200 {
            mapper.doRule(0, x: x, resultMax: 2, weights: [0, 0x10000, 0x10000, 0x10000], into: &out)
            #expect(!out.contains(0))
        }
        // A weight set that zeroes device 1 in host0 at every position.
        var args = [CRUSHChooseArg?](repeating: nil, count: 3)
        args[1] = CRUSHChooseArg(weightSets: [[0x10000, 0]])
        map.chooseArgs[CRUSHChooseArgMap.defaultIndex] = CRUSHChooseArgMap(args: args)
        let withArgs = CRUSHMapper(map: map)
        for x in Int32(0)..<200 {
            withArgs.doRule(0, x: x, resultMax: 2, weights: [0x10000, 0x10000, 0x10000, 0x10000], chooseArgs: map.chooseArgs(forIndex: 7), into: &out)
            #expect(!out.contains(1))
        }
    }

    @Test func cyclesAndAbsurdTriesTerminate() {
        var map = Self.smallMap()
        // host1 contains the root: a cycle.
        map.buckets[2]?.items = [-1, 2]
        map.buckets[2]?.itemWeights = [0x10000, 0x10000]
        map.tunables.chooseTotalTries = .max  // capped at CRUSHMapper.maxTries
        map.tunables.chooseLocalTries = 0
        map.tunables.chooseLocalFallbackTries = 0
        let mapper = CRUSHMapper(map: map)
        var out: [Int32] = []
        for x in Int32(0)..<20 {
            mapper.doRule(0, x: x, resultMax: 3, weights: [0x10000, 0x10000, 0x10000, 0x10000], into: &out)
            mapper.doRule(1, x: x, resultMax: 3, weights: [0x10000, 0x10000, 0x10000, 0x10000], into: &out)
        }
    }

    @Test func danglingReferencesDoNotTrap() {
        var map = Self.smallMap()
        // host1 names a bucket that does not exist and a device past max_devices.
        map.buckets[2]?.items = [-40, 99]
        map.buckets[2]?.itemWeights = [0x10000, 0x10000]
        let mapper = CRUSHMapper(map: map)
        var out: [Int32] = []
        for x in Int32(0)..<100 {
            mapper.doRule(0, x: x, resultMax: 3, weights: [0x10000, 0x10000], into: &out)
            #expect(out.allSatisfy { $0 == 0 || $0 == 1 })
            mapper.doRule(1, x: x, resultMax: 3, weights: [0x10000, 0x10000], into: &out)
            #expect(out.allSatisfy { $0 == 0 || $0 == 1 || $0 == CRUSHMapper.itemNone })
        }
        // Rule ids out of range and empty requests map to nothing.
        #expect(mapper.doRule(9, x: 1, resultMax: 3, weights: [], into: &out) == 0)
        #expect(mapper.doRule(0, x: 1, resultMax: 0, weights: [], into: &out) == 0)
    }
}
