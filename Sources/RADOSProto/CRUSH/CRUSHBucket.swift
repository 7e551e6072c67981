/// A CRUSH bucket: an interior node of the hierarchy (host, rack, root, …) that picks
/// one of its items for an input `x` and replica rank `r`.
///
/// Source: ceph/ceph `src/crush/crush.h` (`struct crush_bucket` and the per-algorithm
/// `crush_bucket_uniform/list/tree/straw/straw2`). Ids are negative; the bucket with
/// id `-1 - i` sits at index `i` of ``CRUSHMap/buckets``. Weights are 16.16 fixed point.
package struct CRUSHBucket: Sendable, Hashable {
    /// `CRUSH_BUCKET_*`: how a bucket chooses among its items.
    package enum Algorithm: UInt8, Sendable, Hashable {
        case uniform = 1
        case list = 2
        case tree = 3
        case straw = 4
        case straw2 = 5
    }

    package var id: Int32
    /// Index into the map's type names (`host`, `rack`, …); 0 is the device type.
    package var type: UInt16
    package var algorithm: Algorithm
    /// Hash function; only ``CRUSHHash/rjenkins1`` (0) is defined.
    package var hash: UInt8
    /// Sum of the item weights (16.16).
    package var weight: UInt32
    /// Children: device ids (>= 0) or bucket ids (< 0).
    package var items: [Int32]

    /// uniform: the weight every item has.
    package var uniformItemWeight: UInt32 = 0
    /// list, straw, straw2: one weight per item.
    package var itemWeights: [UInt32] = []
    /// list: running sums of the weights (from the first item to this one).
    package var sumWeights: [UInt32] = []
    /// tree: node weights of the implicit binary tree (leaves at odd indices).
    package var nodeWeights: [UInt32] = []
    /// straw: one precomputed straw length per item.
    package var straws: [UInt32] = []

    package init(id: Int32, type: UInt16, algorithm: Algorithm, hash: UInt8 = CRUSHHash.rjenkins1, weight: UInt32, items: [Int32]) {
        self.id = id
        self.type = type
        self.algorithm = algorithm
        self.hash = hash
        self.weight = weight
        self.items = items
    }

    package var size: Int { items.count }
}
