/// Ceph's string hashes, which turn an object name into a placement seed.
///
/// Source: ceph/ceph `src/common/ceph_hash.cc` (kernel `net/ceph/ceph_hash.c`):
/// `CEPH_STR_HASH_LINUX` (1, the dcache hash) and `CEPH_STR_HASH_RJENKINS` (2, Bob
/// Jenkins' lookup2 with the golden-ratio seed, taking the key 12 bytes at a time
/// little-endian, the length added into `c`, and the tail bytes folded in before
/// the last mix). Pools use rjenkins.
package enum ObjectHash: UInt8, Sendable {
    case linux = 1
    case rjenkins = 2

    /// `ceph_str_hash(type, …)`: unknown types hash to 0 … but callers refuse them first.
    package static func hash(_ type: UInt8, _ bytes: some Collection<UInt8>) -> UInt32 {
        switch ObjectHash(rawValue: type) {
        case .linux: return linuxHash(bytes)
        case .rjenkins: return rjenkins(bytes)
        case nil: return 0
        }
    }

    package static func linuxHash(_ bytes: some Collection<UInt8>) -> UInt32 {
        var hash: UInt64 = 0
        for c in bytes {
            hash = (hash &+ (UInt64(c) << 4) &+ (UInt64(c) >> 4)) &* 11
        }
        return UInt32(truncatingIfNeeded: hash)
    }

    /// `ceph_str_hash_rjenkins`. Hashes contiguous input (a native string's UTF-8) in
    /// place: it runs once per I/O.
    package static func rjenkins(_ input: some Collection<UInt8>) -> UInt32 {
        if let hash = input.withContiguousStorageIfAvailable({ rjenkins(bytes: $0) }) { return hash }
        return Array(input).withUnsafeBufferPointer { rjenkins(bytes: $0) }
    }

    private static func rjenkins(bytes k: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var a: UInt32 = 0x9e37_79b9
        var b = a
        var c: UInt32 = 0
        var i = 0
        var left = k.count
        @inline(__always) func word(_ at: Int) -> UInt32 {
            UInt32(k[at]) | UInt32(k[at + 1]) << 8 | UInt32(k[at + 2]) << 16 | UInt32(k[at + 3]) << 24
        }
        while left >= 12 {
            a = a &+ word(i)
            b = b &+ word(i + 4)
            c = c &+ word(i + 8)
            CRUSHHash.mix(&a, &b, &c)
            i += 12
            left -= 12
        }
        c = c &+ UInt32(truncatingIfNeeded: k.count)
        // The tail: bytes 8...10 go to c above its low (length) byte, 4...7 to b, 0...3 to a.
        if left >= 11 { c = c &+ UInt32(k[i + 10]) << 24 }
        if left >= 10 { c = c &+ UInt32(k[i + 9]) << 16 }
        if left >= 9 { c = c &+ UInt32(k[i + 8]) << 8 }
        if left >= 8 { b = b &+ UInt32(k[i + 7]) << 24 }
        if left >= 7 { b = b &+ UInt32(k[i + 6]) << 16 }
        if left >= 6 { b = b &+ UInt32(k[i + 5]) << 8 }
        if left >= 5 { b = b &+ UInt32(k[i + 4]) }
        if left >= 4 { a = a &+ UInt32(k[i + 3]) << 24 }
        if left >= 3 { a = a &+ UInt32(k[i + 2]) << 16 }
        if left >= 2 { a = a &+ UInt32(k[i + 1]) << 8 }
        if left >= 1 { a = a &+ UInt32(k[i]) }
        CRUSHHash.mix(&a, &b, &c)
        return c
    }
}
