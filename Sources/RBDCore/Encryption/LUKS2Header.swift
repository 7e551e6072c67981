import Foundation
import RADOSProto

/// A LUKS2 header: two copies of a 4 KiB binary header (big-endian, SHA-256 checksum over
/// it and the JSON area that follows), whose JSON names the key slots, the data segment
/// and the digest that checks a volume key (LUKS2 On-Disk Format Specification 1.1.1;
/// cryptsetup `lib/luks2/luks2_disk_metadata.c`, `luks2_json_metadata.c`).
struct LUKS2Header: Sendable {
    static let magic: [UInt8] = [0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE]
    static let secondaryMagic: [UInt8] = [0x53, 0x4B, 0x55, 0x4C, 0xBA, 0xBE]
    static let binarySize = 4096
    /// The sizes cryptsetup allows for one copy (binary header plus JSON area).
    static let allowedSizes: Set<UInt64> = [0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000]
    static let defaultSize: UInt64 = 0x4000
    /// cryptsetup's default key slots area: 16 MiB less the two header copies.
    static let defaultKeyslotsSize: UInt64 = (16 << 20) - 2 * defaultSize

    enum KDF: Sendable {
        case pbkdf2(hash: LUKSCrypto.Hash, iterations: UInt32, salt: [UInt8])
        case argon2(LUKSCrypto.Argon2Type, time: UInt32, memoryKiB: UInt32, cpus: UInt32, salt: [UInt8])
    }

    struct Keyslot: Sendable {
        var id: String
        var keySize: Int
        var afHash: LUKSCrypto.Hash
        var areaOffset: UInt64
        var areaEncryption: String
        var areaKeySize: Int
        var kdf: KDF
        var priority: Int
    }

    struct Digest: Sendable {
        var keyslots: [String]
        var segments: [String]
        var hash: LUKSCrypto.Hash
        var iterations: UInt32
        var salt: [UInt8]
        var digest: [UInt8]
    }

    var headerSize: UInt64
    var keyslots: [Keyslot]
    /// The data segment: where it starts, its sector size and cipher.
    var segmentID: String
    var dataOffset: UInt64
    var sectorSize: Int
    var encryption: String
    var digests: [Digest]

    static func isLUKS2(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 8 && Array(bytes[0..<6]) == magic && bytes[6] == 0 && bytes[7] == 2
    }

    /// The size of one header copy, from the primary binary header (first 4 KiB).
    static func headerSize(_ bytes: [UInt8]) throws(RADOSError) -> UInt64 {
        guard isLUKS2(bytes) else { throw RADOSError(.invalidArgument, "the image has no LUKS2 header", errno: 22) }
        guard bytes.count >= binarySize else { throw RADOSError(.invalidArgument, "the LUKS2 header is truncated (\(bytes.count) bytes)", errno: 22) }
        let size = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard allowedSizes.contains(size) else {
            throw RADOSError(.invalidArgument, "the LUKS2 header's size \(size) is not one cryptsetup allows", errno: 22)
        }
        return size
    }

    /// Decodes the header from the image's first `2 * headerSize` bytes: the primary copy
    /// if its checksum holds, else the secondary.
    static func decode(_ bytes: [UInt8]) throws(RADOSError) -> LUKS2Header {
        let size = try headerSize(bytes)
        guard bytes.count >= Int(2 * size) else {
            throw RADOSError(.invalidArgument, "the LUKS2 header runs past the bytes read", errno: 22)
        }
        var failure: RADOSError?
        for (offset, expected) in [(0, magic), (Int(size), secondaryMagic)] {
            let copy = Array(bytes[offset..<(offset + Int(size))])
            do {
                return try decodeCopy(copy, offset: UInt64(offset), magic: expected)
            } catch {
                failure = failure ?? error
            }
        }
        throw failure ?? RADOSError(.invalidArgument, "the LUKS2 header does not decode", errno: 22)
    }

    static func checksum(_ copy: [UInt8]) -> [UInt8] {
        var zeroed = copy
        zeroed.replaceSubrange(0x1C0..<0x200, with: [UInt8](repeating: 0, count: 64))
        return LUKSCrypto.digest(.sha256, zeroed)
    }

    private static func decodeCopy(_ copy: [UInt8], offset: UInt64, magic expected: [UInt8]) throws(RADOSError) -> LUKS2Header {
        func u64(_ at: Int) -> UInt64 { copy[at..<(at + 8)].reduce(0) { $0 << 8 | UInt64($1) } }
        func text(_ at: Int, _ size: Int) -> String { String(decoding: copy[at..<(at + size)].prefix { $0 != 0 }, as: UTF8.self) }
        guard Array(copy[0..<6]) == expected, copy[6] == 0, copy[7] == 2, u64(8) == UInt64(copy.count), u64(0x100) == offset else {
            throw RADOSError(.invalidArgument, "the LUKS2 header copy at \(offset) is damaged", errno: 22)
        }
        guard text(0x48, 32) == "sha256" else {
            throw RADOSError(.unsupported, "the LUKS2 header's checksum algorithm \(text(0x48, 32)) is not supported", errno: 95)
        }
        guard LUKSCrypto.equal(checksum(copy), Array(copy[0x1C0..<0x1E0])) else {
            throw RADOSError(.invalidArgument, "the LUKS2 header copy at \(offset) fails its checksum", errno: 22)
        }
        let jsonArea = copy[binarySize...]
        let jsonBytes = Array(jsonArea.prefix { $0 != 0 })
        guard jsonBytes.count < jsonArea.count else {
            throw RADOSError(.invalidArgument, "the LUKS2 JSON area is not terminated", errno: 22)
        }
        var header = try decodeJSON(jsonBytes)
        header.headerSize = UInt64(copy.count)
        return header
    }

    // MARK: JSON

    private struct JSONFault: Error { var what: String }

    private static func decodeJSON(_ bytes: [UInt8]) throws(RADOSError) -> LUKS2Header {
        do {
            return try parse(bytes)
        } catch let fault as JSONFault {
            throw RADOSError(.invalidArgument, "the LUKS2 metadata is invalid: \(fault.what)", errno: 22)
        } catch let error as RADOSError {
            throw error
        } catch {
            throw RADOSError(.invalidArgument, "the LUKS2 metadata is not JSON", errno: 22)
        }
    }

    private static func parse(_ bytes: [UInt8]) throws -> LUKS2Header {
        guard let root = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { throw JSONFault(what: "not an object") }
        func object(_ value: Any?, _ what: String) throws -> [String: Any] {
            guard let object = value as? [String: Any] else { throw JSONFault(what: "\(what) is missing") }
            return object
        }
        func string(_ value: Any?, _ what: String) throws -> String {
            guard let text = value as? String else { throw JSONFault(what: "\(what) is not a string") }
            return text
        }
        // Offsets and sizes are decimal strings; counts are integers.
        func number(_ value: Any?, _ what: String) throws -> UInt64 {
            if let text = value as? String, let number = UInt64(text) { return number }
            if let number = value as? NSNumber, number.int64Value >= 0 { return number.uint64Value }
            throw JSONFault(what: "\(what) is not a number")
        }
        func base64(_ value: Any?, _ what: String) throws -> [UInt8] {
            guard let data = Data(base64Encoded: try string(value, what)) else { throw JSONFault(what: "\(what) is not base64") }
            return Array(data)
        }
        func kdf(_ value: Any?) throws -> KDF {
            let kdf = try object(value, "kdf")
            let type = try string(kdf["type"], "kdf.type")
            let salt = try base64(kdf["salt"], "kdf.salt")
            guard salt.count == 32 else { throw JSONFault(what: "kdf.salt is \(salt.count) bytes, not 32") }
            switch type {
            case "pbkdf2":
                let iterations = try number(kdf["iterations"], "kdf.iterations")
                guard iterations <= UInt64(Int32.max) else { throw JSONFault(what: "kdf.iterations is too large") }
                return .pbkdf2(hash: try LUKSCrypto.Hash(name: try string(kdf["hash"], "kdf.hash")), iterations: UInt32(iterations), salt: salt)
            case "argon2i", "argon2id":
                let time = try number(kdf["time"], "kdf.time"), memory = try number(kdf["memory"], "kdf.memory"), cpus = try number(kdf["cpus"], "kdf.cpus")
                guard time <= UInt64(UInt32.max), memory <= UInt64(UInt32.max), cpus <= 64 else { throw JSONFault(what: "argon2 parameters are too large") }
                return .argon2(type == "argon2i" ? .argon2i : .argon2id, time: UInt32(time), memoryKiB: UInt32(memory), cpus: UInt32(cpus), salt: salt)
            default:
                throw RADOSError(.unsupported, "LUKS2 key slot KDF \(type) is not supported (pbkdf2, argon2i, argon2id)", errno: 95)
            }
        }
        var keyslots: [Keyslot] = []
        for (id, value) in try object(root["keyslots"], "keyslots") {
            let slot = try object(value, "keyslot \(id)")
            guard (slot["type"] as? String) == "luks2" else { continue }
            let af = try object(slot["af"], "keyslot \(id).af")
            let area = try object(slot["area"], "keyslot \(id).area")
            let keySize = try number(slot["key_size"], "key_size"), areaKeySize = try number(area["key_size"], "area.key_size")
            guard keySize > 0, keySize <= 64, areaKeySize > 0, areaKeySize <= 64 else { throw JSONFault(what: "keyslot \(id) has an invalid key size") }
            keyslots.append(Keyslot(
                id: id, keySize: Int(keySize), afHash: try LUKSCrypto.Hash(name: try string(af["hash"], "af.hash")),
                areaOffset: try number(area["offset"], "area.offset"), areaEncryption: try string(area["encryption"], "area.encryption"),
                areaKeySize: Int(areaKeySize), kdf: try kdf(slot["kdf"]), priority: Int((try? number(slot["priority"], "priority")) ?? 1)))
        }
        let segments = try object(root["segments"], "segments")
        guard let (segmentID, segmentValue) = segments.min(by: { (UInt64($0.key) ?? .max) < (UInt64($1.key) ?? .max) }) else { throw JSONFault(what: "no segment") }
        let segment = try object(segmentValue, "segment \(segmentID)")
        guard (segment["type"] as? String) == "crypt" else { throw JSONFault(what: "segment \(segmentID) is not a crypt segment") }
        let sectorSize = try number(segment["sector_size"], "sector_size")
        guard [512, 1024, 2048, 4096].contains(sectorSize) else { throw JSONFault(what: "sector size \(sectorSize) is not supported") }
        guard try number(segment["iv_tweak"] ?? "0", "iv_tweak") == 0 else {
            throw RADOSError(.unsupported, "a LUKS2 segment with an IV tweak is not supported", errno: 95)
        }
        var digests: [Digest] = []
        for (id, value) in try object(root["digests"], "digests") {
            let digest = try object(value, "digest \(id)")
            guard (digest["type"] as? String) == "pbkdf2" else { continue }
            let iterations = try number(digest["iterations"], "digest iterations")
            guard iterations > 0, iterations <= UInt64(Int32.max) else { throw JSONFault(what: "digest \(id) has invalid iterations") }
            digests.append(Digest(
                keyslots: (digest["keyslots"] as? [String]) ?? [], segments: (digest["segments"] as? [String]) ?? [],
                hash: try LUKSCrypto.Hash(name: try string(digest["hash"], "digest hash")), iterations: UInt32(iterations),
                salt: try base64(digest["salt"], "digest salt"), digest: try base64(digest["digest"], "digest")))
        }
        return LUKS2Header(
            headerSize: 0, keyslots: keyslots, segmentID: segmentID,
            dataOffset: try number(segment["offset"], "segment offset"), sectorSize: Int(sectorSize),
            encryption: try string(segment["encryption"], "segment encryption"), digests: digests)
    }

    /// How far into the image the key slots' material reaches, in bytes.
    var materialEnd: Int {
        let ends = keyslots.map { Int(clamping: $0.areaOffset) + LUKSAntiForensicSplitter.materialSize(keySize: $0.keySize) }
        return max(Int(2 * headerSize), ends.max() ?? 0)
    }

    /// The volume key the passphrase opens; `image` holds the first ``materialEnd`` bytes.
    func unlock(passphrase: [UInt8], image: [UInt8]) throws(RADOSError) -> [UInt8] {
        for digest in digests where digest.segments.contains(segmentID) {
            // cryptsetup accepts a digest or salt of another length as verified; we refuse it.
            guard digest.salt.count == 32, digest.digest.count == 20 || digest.digest.count == digest.hash.digestSize else {
                throw RADOSError(.invalidArgument, "the LUKS2 digest has an invalid length", errno: 22)
            }
            let candidates = keyslots.filter { digest.keyslots.contains($0.id) && $0.priority > 0 }.sorted { $0.priority > $1.priority }
            for slot in candidates {
                let start = Int(clamping: slot.areaOffset)
                let size = LUKSAntiForensicSplitter.materialSize(keySize: slot.keySize)
                guard start >= 0, start + size <= image.count else {
                    throw RADOSError(.invalidArgument, "LUKS2 key slot \(slot.id)'s material runs past the bytes read", errno: 22)
                }
                var slotKey: [UInt8]
                switch slot.kdf {
                case .pbkdf2(let hash, let iterations, let salt):
                    slotKey = try LUKSCrypto.pbkdf2(hash, password: passphrase, salt: salt, iterations: iterations, length: slot.areaKeySize)
                case .argon2(let type, let time, let memory, let cpus, let salt):
                    slotKey = try LUKSCrypto.argon2(type, password: passphrase, salt: salt, time: time, memoryKiB: memory, cpus: cpus, length: slot.areaKeySize)
                }
                defer { LUKSCrypto.wipe(&slotKey) }
                guard slot.areaEncryption.hasPrefix("aes-") else {
                    throw RADOSError(.unsupported, "LUKS2 key slot encryption \(slot.areaEncryption) is not supported", errno: 95)
                }
                var material = Array(image[start..<(start + size)])
                defer { LUKSCrypto.wipe(&material) }
                try LUKSKeyMaterial.crypt(&material, cipherName: "aes", cipherMode: String(slot.areaEncryption.dropFirst(4)), key: slotKey, encrypt: false)
                var key = LUKSAntiForensicSplitter.merge(material, keySize: slot.keySize, hash: slot.afHash)
                let check = try LUKSCrypto.pbkdf2(digest.hash, password: key, salt: digest.salt, iterations: digest.iterations, length: digest.digest.count)
                if LUKSCrypto.equal(check, digest.digest) { return key }
                LUKSCrypto.wipe(&key)
            }
        }
        throw RADOSError(.permissionDenied, "no key slot of the LUKS2 header opens with this passphrase", errno: 1)
    }

    // MARK: format

    /// A new header for `key` with key slot 0 for `passphrase`, laid out as cryptsetup
    /// lays it out when librbd formats (16 KiB copies, the data at 16 MiB rounded up to
    /// `alignment`, 4096-byte sectors); returns the bytes up to the data offset.
    static func format(key: [UInt8], passphrase: [UInt8], alignment: UInt64, sectorSize: Int, cost: LUKSKDFCost) throws(RADOSError) -> [UInt8] {
        let size = key.count
        let align = max(1, alignment)
        let minimum = 2 * defaultSize + defaultKeyslotsSize
        let dataOffset = (minimum + align - 1) / align * align
        let areaOffset = 2 * defaultSize
        let areaSize = (UInt64(size * LUKSAntiForensicSplitter.stripes) + 4095) / 4096 * 4096
        let slotSalt = try LUKSCrypto.randomBytes(32)
        var slotKey: [UInt8]
        let kdfJSON: String
        if let argon2 = cost.argon2 {
            slotKey = try LUKSCrypto.argon2(.argon2id, password: passphrase, salt: slotSalt, time: argon2.time, memoryKiB: argon2.memoryKiB, cpus: argon2.cpus, length: size)
            kdfJSON = #"{"type":"argon2id","time":\#(argon2.time),"memory":\#(argon2.memoryKiB),"cpus":\#(argon2.cpus),"salt":"\#(Data(slotSalt).base64EncodedString())"}"#
        } else {
            slotKey = try LUKSCrypto.pbkdf2(.sha256, password: passphrase, salt: slotSalt, iterations: cost.slotIterations, length: size)
            kdfJSON = #"{"type":"pbkdf2","hash":"sha256","iterations":\#(cost.slotIterations),"salt":"\#(Data(slotSalt).base64EncodedString())"}"#
        }
        defer { LUKSCrypto.wipe(&slotKey) }
        var material = try LUKSAntiForensicSplitter.split(key, hash: LUKSCrypto.Hash.sha256)
        try LUKSKeyMaterial.crypt(&material, cipherName: "aes", cipherMode: "xts-plain64", key: slotKey, encrypt: true)
        let digestSalt = try LUKSCrypto.randomBytes(32)
        let digest = try LUKSCrypto.pbkdf2(.sha256, password: key, salt: digestSalt, iterations: cost.digestIterations, length: 32)
        let json = #"{"keyslots":{"0":{"type":"luks2","key_size":\#(size),"af":{"type":"luks1","stripes":4000,"hash":"sha256"},"area":{"type":"raw","offset":"\#(areaOffset)","size":"\#(areaSize)","encryption":"aes-xts-plain64","key_size":\#(size)},"kdf":\#(kdfJSON)}},"tokens":{},"segments":{"0":{"type":"crypt","offset":"\#(dataOffset)","size":"dynamic","iv_tweak":"0","encryption":"aes-xts-plain64","sector_size":\#(sectorSize)}},"digests":{"0":{"type":"pbkdf2","keyslots":["0"],"segments":["0"],"hash":"sha256","iterations":\#(cost.digestIterations),"salt":"\#(Data(digestSalt).base64EncodedString())","digest":"\#(Data(digest).base64EncodedString())"}},"config":{"json_size":"\#(defaultSize - UInt64(binarySize))","keyslots_size":"\#(defaultKeyslotsSize)"}}"#
        let uuid = try LUKSKeyMaterial.newUUID()
        var out: [UInt8] = []
        out.reserveCapacity(Int(dataOffset))
        for (offset, copyMagic) in [(UInt64(0), magic), (defaultSize, secondaryMagic)] {
            var copy = [UInt8](repeating: 0, count: Int(defaultSize))
            func put(_ bytes: [UInt8], _ at: Int) { copy.replaceSubrange(at..<(at + bytes.count), with: bytes) }
            func put(_ value: UInt64, _ at: Int) { put((0..<8).map { UInt8(value >> (56 - 8 * UInt64($0)) & 0xff) }, at) }
            put(copyMagic, 0)
            copy[7] = 2
            put(defaultSize, 8)
            put(UInt64(1), 0x10)
            put(Array("sha256".utf8), 0x48)
            put(try LUKSCrypto.randomBytes(64), 0x68)
            put(Array(uuid.utf8), 0xA8)
            put(offset, 0x100)
            put(Array(json.utf8), binarySize)
            put(checksum(copy), 0x1C0)
            out += copy
        }
        out += material
        out += [UInt8](repeating: 0, count: Int(dataOffset) - out.count)
        return out
    }
}
