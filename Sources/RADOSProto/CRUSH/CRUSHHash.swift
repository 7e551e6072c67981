/// CRUSH's integer hashes: Robert Jenkins' 96-bit mix ("rjenkins1"), the only hash
/// type Ceph defines (`CRUSH_HASH_RJENKINS1` = 0).
///
/// Source: ceph/ceph `src/crush/hash.c` (kernel `net/ceph/crush/hash.c`). Every
/// variant starts from the seed 1315423911 xor-ed with its inputs and mixes the
/// inputs against the constants 231232 and 1232 in a fixed order; the order of the
/// mixes is part of the format, so each arity is spelled out below. All arithmetic
/// is modulo 2^32. Signed inputs (bucket ids, `r`) enter as their bit pattern.
package enum CRUSHHash {
    /// `CRUSH_HASH_RJENKINS1`, the value of a bucket's `hash` field.
    package static let rjenkins1: UInt8 = 0

    private static let seed: UInt32 = 1_315_423_911
    private static let k1: UInt32 = 231_232
    private static let k2: UInt32 = 1232

    /// One round of Jenkins' mix over (a, b, c); `c` carries the result. Shared by the
    /// CRUSH hashes and Ceph's string hash (``ObjectHash/rjenkins(_:)``).
    @inline(__always)
    package static func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        a = a &- b; a = a &- c; a ^= c >> 13
        b = b &- c; b = b &- a; b ^= a << 8
        c = c &- a; c = c &- b; c ^= b >> 13
        a = a &- b; a = a &- c; a ^= c >> 12
        b = b &- c; b = b &- a; b ^= a << 16
        c = c &- a; c = c &- b; c ^= b >> 5
        a = a &- b; a = a &- c; a ^= c >> 3
        b = b &- c; b = b &- a; b ^= a << 10
        c = c &- a; c = c &- b; c ^= b >> 15
    }

    /// `crush_hash32_rjenkins1_2`.
    @inline(__always)
    package static func hash2(_ a0: UInt32, _ b0: UInt32) -> UInt32 {
        var a = a0, b = b0
        var h = seed ^ a ^ b
        var x = k1, y = k2
        mix(&a, &b, &h)
        mix(&x, &a, &h)
        mix(&b, &y, &h)
        return h
    }

    /// `crush_hash32_rjenkins1_3`.
    @inline(__always)
    package static func hash3(_ a0: UInt32, _ b0: UInt32, _ c0: UInt32) -> UInt32 {
        var a = a0, b = b0, c = c0
        var h = seed ^ a ^ b ^ c
        var x = k1, y = k2
        mix(&a, &b, &h)
        mix(&c, &x, &h)
        mix(&y, &a, &h)
        mix(&b, &x, &h)
        mix(&y, &c, &h)
        return h
    }

    /// `crush_hash32_rjenkins1_4`.
    @inline(__always)
    package static func hash4(_ a0: UInt32, _ b0: UInt32, _ c0: UInt32, _ d0: UInt32) -> UInt32 {
        var a = a0, b = b0, c = c0, d = d0
        var h = seed ^ a ^ b ^ c ^ d
        var x = k1, y = k2
        mix(&a, &b, &h)
        mix(&c, &d, &h)
        mix(&a, &x, &h)
        mix(&y, &b, &h)
        mix(&c, &x, &h)
        mix(&y, &d, &h)
        return h
    }

    /// `crush_hash32_rjenkins1_5`.
    package static func hash5(_ a0: UInt32, _ b0: UInt32, _ c0: UInt32, _ d0: UInt32, _ e0: UInt32) -> UInt32 {
        var a = a0, b = b0, c = c0, d = d0, e = e0
        var h = seed ^ a ^ b ^ c ^ d ^ e
        var x = k1, y = k2
        mix(&a, &b, &h)
        mix(&c, &d, &h)
        mix(&e, &x, &h)
        mix(&y, &a, &h)
        mix(&b, &x, &h)
        mix(&y, &c, &h)
        mix(&d, &x, &h)
        mix(&y, &e, &h)
        return h
    }

    /// `crush_hash32_3(type, …)`: Ceph returns 0 for a hash type it does not know.
    @inline(__always)
    package static func hash3(type: UInt8, _ a: UInt32, _ b: UInt32, _ c: UInt32) -> UInt32 {
        type == rjenkins1 ? hash3(a, b, c) : 0
    }

    /// `crush_hash32_4(type, …)`: Ceph returns 0 for a hash type it does not know.
    @inline(__always)
    package static func hash4(type: UInt8, _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> UInt32 {
        type == rjenkins1 ? hash4(a, b, c, d) : 0
    }

    /// Signed convenience used by the mapper and by `OSDMap` (placement seeds, pool ids).
    @inline(__always)
    package static func hash2(_ a: Int32, _ b: Int32) -> UInt32 {
        hash2(UInt32(bitPattern: a), UInt32(bitPattern: b))
    }
}
