import RADOSProto

/// A LUKS1 header: the 592-byte `phdr` (big-endian integers, NUL-padded strings) with
/// eight key slots, whose split key material follows in 512-byte sectors (LUKS1 On-Disk
/// Format Specification 1.2.3; cryptsetup `lib/luks1/luks.h`, `keymanage.c`).
struct LUKS1Header: Sendable, Equatable {
    static let magic: [UInt8] = [0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE]
    /// What cryptsetup reads and writes: the 592-byte header padded with zeros.
    static let encodedSize = 1024
    static let slotCount = 8
    static let activeSlot: UInt32 = 0x00AC_71F3
    static let inactiveSlot: UInt32 = 0x0000_DEAD

    struct KeySlot: Sendable, Equatable {
        var active: Bool
        var iterations: UInt32
        var salt: [UInt8]
        /// In 512-byte sectors from the start of the header.
        var materialOffset: UInt32
        var stripes: UInt32
    }

    var cipherName: String
    var cipherMode: String
    var hashSpec: String
    /// Where the data starts, in 512-byte sectors.
    var payloadOffset: UInt32
    var keyBytes: UInt32
    var mkDigest: [UInt8]
    var mkDigestSalt: [UInt8]
    var mkDigestIterations: UInt32
    var uuid: String
    var slots: [KeySlot]

    static func isLUKS1(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 8 && Array(bytes[0..<6]) == magic && bytes[6] == 0 && bytes[7] == 1
    }

    static func decode(_ bytes: [UInt8]) throws(RADOSError) -> LUKS1Header {
        guard bytes.count >= 592, Array(bytes[0..<6]) == magic else {
            throw RADOSError(.invalidArgument, "the image has no LUKS header", errno: 22)
        }
        guard bytes[6] == 0, bytes[7] == 1 else {
            throw RADOSError(.invalidArgument, "the image's LUKS header is version \(Int(bytes[6]) << 8 | Int(bytes[7])), not LUKS1", errno: 22)
        }
        func u32(_ at: Int) -> UInt32 { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        func text(_ at: Int, _ size: Int) -> String {
            String(decoding: bytes[at..<(at + size)].prefix { $0 != 0 }, as: UTF8.self)
        }
        var slots: [KeySlot] = []
        for index in 0..<slotCount {
            let base = 0xD0 + 48 * index
            let state = u32(base)
            guard state == activeSlot || state == inactiveSlot else {
                throw RADOSError(.invalidArgument, "LUKS1 key slot \(index) is neither active nor inactive (0x\(String(state, radix: 16)))", errno: 22)
            }
            slots.append(KeySlot(active: state == activeSlot, iterations: u32(base + 4), salt: Array(bytes[(base + 8)..<(base + 40)]), materialOffset: u32(base + 40), stripes: u32(base + 44)))
        }
        let header = LUKS1Header(
            cipherName: text(0x08, 32), cipherMode: text(0x28, 32), hashSpec: text(0x48, 32),
            payloadOffset: u32(0x68), keyBytes: u32(0x6C), mkDigest: Array(bytes[0x70..<0x84]),
            mkDigestSalt: Array(bytes[0x84..<0xA4]), mkDigestIterations: u32(0xA4), uuid: text(0xA8, 40), slots: slots)
        try header.validate()
        return header
    }

    /// What libcryptsetup checks on load, so a header we accept is one it accepts.
    func validate() throws(RADOSError) {
        guard keyBytes > 0, keyBytes <= 64 else {
            throw RADOSError(.invalidArgument, "the LUKS1 header's key size \(keyBytes) is invalid", errno: 22)
        }
        let materialSectors = UInt32(LUKSAntiForensicSplitter.materialSize(keySize: Int(keyBytes)) / 512)
        for (index, slot) in slots.enumerated() {
            guard slot.stripes == UInt32(LUKSAntiForensicSplitter.stripes), slot.materialOffset >= 2,
                  payloadOffset == 0 || UInt64(slot.materialOffset) + UInt64(materialSectors) <= UInt64(payloadOffset)
            else {
                throw RADOSError(.invalidArgument, "LUKS1 key slot \(index) is invalid (offset \(slot.materialOffset), stripes \(slot.stripes))", errno: 22)
            }
        }
    }

    func encode() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.encodedSize)
        func put(_ value: UInt32, _ at: Int) {
            out[at] = UInt8(value >> 24)
            out[at + 1] = UInt8(value >> 16 & 0xff)
            out[at + 2] = UInt8(value >> 8 & 0xff)
            out[at + 3] = UInt8(value & 0xff)
        }
        func put(_ bytes: [UInt8], _ at: Int) { out.replaceSubrange(at..<(at + bytes.count), with: bytes) }
        put(Self.magic, 0)
        out[7] = 1
        put(Array(cipherName.utf8.prefix(31)), 0x08)
        put(Array(cipherMode.utf8.prefix(31)), 0x28)
        put(Array(hashSpec.utf8.prefix(31)), 0x48)
        put(payloadOffset, 0x68)
        put(keyBytes, 0x6C)
        put(mkDigest, 0x70)
        put(mkDigestSalt, 0x84)
        put(mkDigestIterations, 0xA4)
        put(Array(uuid.utf8.prefix(39)), 0xA8)
        for (index, slot) in slots.enumerated() {
            let base = 0xD0 + 48 * index
            put(slot.active ? Self.activeSlot : Self.inactiveSlot, base)
            put(slot.iterations, base + 4)
            put(slot.salt, base + 8)
            put(slot.materialOffset, base + 40)
            put(slot.stripes, base + 44)
        }
        return out
    }

    /// How far into the image the active key slots' material reaches, in bytes.
    var materialEnd: Int {
        let size = LUKSAntiForensicSplitter.materialSize(keySize: Int(keyBytes))
        return slots.filter(\.active).map { Int($0.materialOffset) * 512 + size }.max() ?? Self.encodedSize
    }

    /// The volume key the passphrase opens, trying each active slot; `image` holds the
    /// image's first ``materialEnd`` bytes.
    func unlock(passphrase: [UInt8], image: [UInt8]) throws(RADOSError) -> [UInt8] {
        let hash = try LUKSCrypto.Hash(name: hashSpec)
        let size = Int(keyBytes)
        let materialSize = LUKSAntiForensicSplitter.materialSize(keySize: size)
        for slot in slots where slot.active {
            let start = Int(slot.materialOffset) * 512
            guard start + materialSize <= image.count else {
                throw RADOSError(.invalidArgument, "the LUKS1 key material runs past the bytes read", errno: 22)
            }
            var slotKey = try LUKSCrypto.pbkdf2(hash, password: passphrase, salt: slot.salt, iterations: slot.iterations, length: size)
            defer { LUKSCrypto.wipe(&slotKey) }
            var material = Array(image[start..<(start + materialSize)])
            defer { LUKSCrypto.wipe(&material) }
            try LUKSKeyMaterial.crypt(&material, cipherName: cipherName, cipherMode: cipherMode, key: slotKey, encrypt: false)
            var key = LUKSAntiForensicSplitter.merge(material, keySize: size, hash: hash)
            let digest = try LUKSCrypto.pbkdf2(hash, password: key, salt: mkDigestSalt, iterations: mkDigestIterations, length: 20)
            if LUKSCrypto.equal(digest, mkDigest) { return key }
            LUKSCrypto.wipe(&key)
        }
        throw RADOSError(.permissionDenied, "no key slot of the LUKS1 header opens with this passphrase", errno: 1)
    }

    /// A new header for `key` with one active slot (slot 0) for `passphrase`, laid out as
    /// cryptsetup lays it out for `alignment` (librbd passes the image's object size);
    /// returns the header and its key material, `payloadOffset * 512` bytes in all.
    static func format(key: [UInt8], passphrase: [UInt8], alignment: UInt64, cost: LUKSKDFCost) throws(RADOSError) -> [UInt8] {
        let size = key.count
        let materialSectors = UInt32(LUKSAntiForensicSplitter.materialSize(keySize: size) / 512)
        // Slots from sector 8 on, each 4 KiB-aligned (LUKS_ALIGN_KEYSLOTS).
        var offsets: [UInt32] = []
        var next: UInt32 = 8
        for _ in 0..<slotCount {
            offsets.append(next)
            next = (next + materialSectors + 7) / 8 * 8
        }
        let headerSectors = UInt64(offsets[slotCount - 1] + materialSectors)
        let alignSectors = max(1, alignment / 512)
        let payloadSectors = (headerSectors + alignSectors - 1) / alignSectors * alignSectors
        guard payloadSectors <= UInt64(UInt32.max) else {
            throw RADOSError(.invalidArgument, "the object size \(alignment) is too large for a LUKS1 data offset", errno: 22)
        }
        let hash = LUKSCrypto.Hash.sha256
        let digestSalt = try LUKSCrypto.randomBytes(32)
        let digestIterations = cost.digestIterations
        let digest = try LUKSCrypto.pbkdf2(hash, password: key, salt: digestSalt, iterations: digestIterations, length: 20)
        let slotSalt = try LUKSCrypto.randomBytes(32)
        let slotIterations = cost.slotIterations
        var slots = offsets.map { KeySlot(active: false, iterations: 0, salt: [UInt8](repeating: 0, count: 32), materialOffset: $0, stripes: UInt32(LUKSAntiForensicSplitter.stripes)) }
        slots[0] = KeySlot(active: true, iterations: slotIterations, salt: slotSalt, materialOffset: offsets[0], stripes: UInt32(LUKSAntiForensicSplitter.stripes))
        let header = LUKS1Header(
            cipherName: "aes", cipherMode: "xts-plain64", hashSpec: hash.rawValue, payloadOffset: UInt32(payloadSectors),
            keyBytes: UInt32(size), mkDigest: digest, mkDigestSalt: digestSalt, mkDigestIterations: digestIterations,
            uuid: try LUKSKeyMaterial.newUUID(), slots: slots)
        var slotKey = try LUKSCrypto.pbkdf2(hash, password: passphrase, salt: slotSalt, iterations: slotIterations, length: size)
        defer { LUKSCrypto.wipe(&slotKey) }
        var material = try LUKSAntiForensicSplitter.split(key, hash: hash)
        try LUKSKeyMaterial.crypt(&material, cipherName: "aes", cipherMode: "xts-plain64", key: slotKey, encrypt: true)
        var out = header.encode()
        out += [UInt8](repeating: 0, count: Int(offsets[0]) * 512 - out.count)
        out += material
        out += [UInt8](repeating: 0, count: Int(payloadSectors) * 512 - out.count)
        return out
    }
}
