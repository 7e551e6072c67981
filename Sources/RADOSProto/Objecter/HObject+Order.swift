/// The order OSDs sort objects in (`cmp(const hobject_t&, const hobject_t&)` in ceph/ceph
/// `src/common/hobject.cc`, bitwise sort): max last, then pool, then the hash with its
/// bits reversed, namespace, effective key (only when either object has a locator key),
/// name and snap, strings compared byte by byte.
///
/// The Objecter needs it to tell whether an op falls in a backoff range [begin, end).
extension HObject {
    /// The hash with its bits reversed (`hobject_t::get_bitwise_key_u32`).
    package var bitwiseKey: UInt32 { hash.bitReversed }

    /// -1, 0 or 1 as `self` sorts before, with or after `other`.
    package func compare(_ other: HObject) -> Int {
        if isMax != other.isMax { return isMax ? 1 : -1 }
        if isMax { return 0 }
        if pool != other.pool { return pool < other.pool ? -1 : 1 }
        if bitwiseKey != other.bitwiseKey { return bitwiseKey < other.bitwiseKey ? -1 : 1 }
        if let order = Self.compareBytes(namespace, other.namespace), order != 0 { return order }
        if !(key.isEmpty && other.key.isEmpty) {
            let left = key.isEmpty ? name : key, right = other.key.isEmpty ? other.name : other.key
            if let order = Self.compareBytes(left, right), order != 0 { return order }
        }
        if let order = Self.compareBytes(name, other.name), order != 0 { return order }
        if snap != other.snap { return snap < other.snap ? -1 : 1 }
        return 0
    }

    /// Whether `self` lies in [begin, end).
    package func isIn(from begin: HObject, to end: HObject) -> Bool {
        compare(begin) >= 0 && compare(end) < 0
    }

    private static func compareBytes(_ left: String, _ right: String) -> Int? {
        if left == right { return 0 }
        return left.utf8.lexicographicallyPrecedes(right.utf8) ? -1 : 1
    }
}

extension UInt32 {
    /// The 32 bits in reverse order.
    package var bitReversed: UInt32 {
        var value = self
        value = ((value >> 1) & 0x5555_5555) | ((value & 0x5555_5555) << 1)
        value = ((value >> 2) & 0x3333_3333) | ((value & 0x3333_3333) << 2)
        value = ((value >> 4) & 0x0F0F_0F0F) | ((value & 0x0F0F_0F0F) << 4)
        value = ((value >> 8) & 0x00FF_00FF) | ((value & 0x00FF_00FF) << 8)
        return (value >> 16) | (value << 16)
    }
}
