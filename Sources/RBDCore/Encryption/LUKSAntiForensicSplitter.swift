import RADOSProto

/// LUKS's anti-forensic splitter: a key is stored as `stripes` blocks, each but the last
/// random, chained through a hash-based diffusion, so erasing any one block destroys the
/// key (LUKS1 On-Disk Format Specification §2.4; cryptsetup `lib/luks1/af.c`). LUKS2 key
/// slots use the same splitter (`af.type` "luks1").
enum LUKSAntiForensicSplitter {
    /// LUKS's stripe count; readers use it whatever a header says.
    static let stripes = 4000

    /// The bytes the split material of a `keySize`-byte key takes, rounded up to 512-byte sectors.
    static func materialSize(keySize: Int) -> Int {
        (keySize * stripes + 511) / 512 * 512
    }

    /// Hashes `block` in digest-size chunks, each prefixed with its big-endian index; a
    /// short last chunk is hashed alone and truncated.
    static func diffuse(_ block: inout [UInt8], hash: LUKSCrypto.Hash) {
        let size = hash.digestSize
        var index: UInt32 = 0
        var offset = 0
        while offset < block.count {
            let end = min(offset + size, block.count)
            let prefix = [UInt8(index >> 24), UInt8(index >> 16 & 0xff), UInt8(index >> 8 & 0xff), UInt8(index & 0xff)]
            let digest = LUKSCrypto.digest(hash, prefix, Array(block[offset..<end]))
            block.replaceSubrange(offset..<end, with: digest.prefix(end - offset))
            offset = end
            index += 1
        }
    }

    /// Splits `key` into `stripes` blocks (zero-padded to whole sectors).
    static func split(_ key: [UInt8], hash: LUKSCrypto.Hash) throws(RADOSError) -> [UInt8] {
        let size = key.count
        var material = [UInt8]()
        material.reserveCapacity(materialSize(keySize: size))
        var chained = [UInt8](repeating: 0, count: size)
        for _ in 0..<(stripes - 1) {
            let random = try LUKSCrypto.randomBytes(size)
            material += random
            for index in 0..<size { chained[index] ^= random[index] }
            diffuse(&chained, hash: hash)
        }
        for index in 0..<size { chained[index] ^= key[index] }
        material += chained
        material += [UInt8](repeating: 0, count: materialSize(keySize: size) - material.count)
        LUKSCrypto.wipe(&chained)
        return material
    }

    /// Recovers a `keySize`-byte key from its split material.
    static func merge(_ material: [UInt8], keySize: Int, hash: LUKSCrypto.Hash) -> [UInt8] {
        var chained = [UInt8](repeating: 0, count: keySize)
        for stripe in 0..<(stripes - 1) {
            let base = stripe * keySize
            for index in 0..<keySize { chained[index] ^= material[base + index] }
            diffuse(&chained, hash: hash)
        }
        let last = (stripes - 1) * keySize
        for index in 0..<keySize { chained[index] ^= material[last + index] }
        return chained
    }
}
