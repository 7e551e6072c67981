/// A CRUSH rule: a short program of steps run by the mapper for each input.
///
/// Source: ceph/ceph `src/crush/crush.h` (`struct crush_rule`, `crush_rule_step`,
/// `enum crush_opcodes`). Pacific still encodes the legacy mask (ruleset, type,
/// min_size, max_size) beside the steps; the mapper uses only the steps.
package struct CRUSHRule: Sendable, Hashable {
    /// One step: an opcode and two arguments whose meaning depends on it.
    package struct Step: Sendable, Hashable {
        /// The raw opcode (`CRUSH_RULE_*`); unknown opcodes are kept and ignored by the mapper, as in Ceph.
        package var op: UInt32
        package var arg1: Int32
        package var arg2: Int32

        package init(op: UInt32, arg1: Int32, arg2: Int32) {
            self.op = op
            self.arg1 = arg1
            self.arg2 = arg2
        }

        package init(_ op: Op, _ arg1: Int32 = 0, _ arg2: Int32 = 0) {
            self.init(op: op.rawValue, arg1: arg1, arg2: arg2)
        }
    }

    /// `enum crush_opcodes`.
    package enum Op: UInt32, Sendable {
        case noop = 0
        case take = 1
        case chooseFirstN = 2
        case chooseIndep = 3
        case emit = 4
        case chooseLeafFirstN = 6
        case chooseLeafIndep = 7
        case setChooseTries = 8
        case setChooseLeafTries = 9
        case setChooseLocalTries = 10
        case setChooseLocalFallbackTries = 11
        case setChooseLeafVaryR = 12
        case setChooseLeafStable = 13
    }

    /// `pg_pool_t::TYPE_*` the rule was written for (1 replicated, 3 erasure).
    package var type: UInt8
    package var ruleset: UInt8
    package var minSize: UInt8
    package var maxSize: UInt8
    package var steps: [Step]

    package init(type: UInt8 = 1, ruleset: UInt8 = 0, minSize: UInt8 = 1, maxSize: UInt8 = 10, steps: [Step]) {
        self.type = type
        self.ruleset = ruleset
        self.minSize = minSize
        self.maxSize = maxSize
        self.steps = steps
    }
}
