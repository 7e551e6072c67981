import CArgon2
import COpenSSL
import RADOSProto

/// The cryptographic building blocks of LUKS (hashes, PBKDF2, Argon2, random bytes),
/// over OpenSSL's libcrypto and libargon2 — the same libraries libcryptsetup uses on
/// Debian, so the same parameters give the same bytes.
enum LUKSCrypto {
    /// A hash a LUKS header may name (`hashSpec`, `af.hash`, `kdf.hash`, `digest.hash`).
    enum Hash: String, Sendable {
        case sha1, sha256, sha512

        init(name: String) throws(RADOSError) {
            guard let hash = Hash(rawValue: name.lowercased()) else {
                throw RADOSError(.unsupported, "the LUKS header names hash \(name), which this client does not support (sha1, sha256, sha512)", errno: 95)
            }
            self = hash
        }

        var digestSize: Int {
            switch self {
            case .sha1: return 20
            case .sha256: return 32
            case .sha512: return 64
            }
        }

        var md: OpaquePointer? {
            switch self {
            case .sha1: return EVP_sha1()
            case .sha256: return EVP_sha256()
            case .sha512: return EVP_sha512()
            }
        }
    }

    static func digest(_ hash: Hash, _ parts: [UInt8]...) -> [UInt8] {
        let context = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(context) }
        EVP_DigestInit_ex(context, hash.md, nil)
        for part in parts { part.withUnsafeBytes { _ = EVP_DigestUpdate(context, $0.baseAddress, $0.count) } }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return Array(out.prefix(Int(length)))
    }

    /// PBKDF2-HMAC (PKCS #5) as LUKS uses it for key slots and digests.
    static func pbkdf2(_ hash: Hash, password: [UInt8], salt: [UInt8], iterations: UInt32, length: Int) throws(RADOSError) -> [UInt8] {
        guard iterations > 0, iterations <= Int32.max, length > 0 else {
            throw RADOSError(.invalidArgument, "the LUKS header's PBKDF2 parameters are invalid (iterations \(iterations), length \(length))", errno: 22)
        }
        var out = [UInt8](repeating: 0, count: length)
        let ok = password.withUnsafeBufferPointer { pw in
            salt.withUnsafeBufferPointer { salt in
                PKCS5_PBKDF2_HMAC(
                    pw.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, Int32(pw.count),
                    salt.baseAddress, Int32(salt.count), Int32(iterations), hash.md, Int32(length), &out)
            }
        }
        guard ok == 1 else { throw RADOSError(.clusterError, "PBKDF2 failed in libcrypto", errno: 5) }
        return out
    }

    enum Argon2Type: String, Sendable { case argon2i, argon2id }

    /// Argon2 (version 0x13) with cryptsetup's mapping: `time` iterations, `memory` KiB,
    /// `cpus` lanes and threads.
    static func argon2(_ type: Argon2Type, password: [UInt8], salt: [UInt8], time: UInt32, memoryKiB: UInt32, cpus: UInt32, length: Int) throws(RADOSError) -> [UInt8] {
        // libargon2's own bounds (t >= 1, m >= 8 per lane) and a ceiling on what a header
        // may make us allocate (cryptsetup's is 4 GiB).
        guard time >= 1, cpus >= 1, cpus <= 16, memoryKiB >= 8 * cpus, memoryKiB <= 4 << 20, length > 0 else {
            throw RADOSError(.invalidArgument, "the LUKS header's Argon2 parameters are out of range (time \(time), memory \(memoryKiB) KiB, cpus \(cpus))", errno: 22)
        }
        var out = [UInt8](repeating: 0, count: length)
        let status = password.withUnsafeBytes { pw in
            salt.withUnsafeBytes { salt in
                out.withUnsafeMutableBytes { out in
                    switch type {
                    case .argon2i: return argon2i_hash_raw(time, memoryKiB, cpus, pw.baseAddress, pw.count, salt.baseAddress, salt.count, out.baseAddress, out.count)
                    case .argon2id: return argon2id_hash_raw(time, memoryKiB, cpus, pw.baseAddress, pw.count, salt.baseAddress, salt.count, out.baseAddress, out.count)
                    }
                }
            }
        }
        guard status == 0 else {
            throw RADOSError(.clusterError, "Argon2 failed in libargon2 (error \(status))", errno: 12)
        }
        return out
    }

    /// Cryptographically random bytes (volume keys, salts).
    static func randomBytes(_ count: Int) throws(RADOSError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&out, Int32(count)) == 1 else {
            throw RADOSError(.clusterError, "cannot generate random bytes for the encryption key", errno: 11)
        }
        return out
    }

    /// Overwrites key material before it is released (as far as Swift's copies allow).
    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { OPENSSL_cleanse(base, $0.count) } }
    }

    /// Constant-time equality of two digests.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { a in b.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
    }
}
