/// Per-bucket overrides of straw2 weights and hashed ids ("choose_args", the
/// balancer's weight sets).
///
/// Source: ceph/ceph `src/crush/crush.h` (`struct crush_choose_arg`,
/// `crush_weight_set`, `crush_choose_arg_map`) and `get_choose_arg_weights` /
/// `get_choose_arg_ids` in `src/crush/mapper.c`. A weight set has one weight vector
/// per output position; position `p` uses vector `min(p, count - 1)`.
package struct CRUSHChooseArg: Sendable, Hashable {
    /// One weight vector per position, each as long as the bucket.
    package var weightSets: [[UInt32]]
    /// Replacement ids fed to the hash instead of the items' ids (empty: none).
    package var ids: [Int32]

    package init(weightSets: [[UInt32]] = [], ids: [Int32] = []) {
        self.weightSets = weightSets
        self.ids = ids
    }
}

/// The choose_args for a whole map: one optional entry per bucket index (`-1 - id`).
package struct CRUSHChooseArgMap: Sendable, Hashable {
    package var args: [CRUSHChooseArg?]

    package init(args: [CRUSHChooseArg?]) {
        self.args = args
    }

    /// The key Ceph uses for the map-wide set (`CrushWrapper::DEFAULT_CHOOSE_ARGS`).
    package static let defaultIndex: Int64 = -1
}
