import Foundation
import RADOSProto

/// How LUKS encrypts a key slot's split material: with the slot's key, in 512-byte
/// sectors whose IV counts from 0 at the material's start, whatever the data's sector
/// size (cryptsetup `lib/luks1/keyencryption.c`).
enum LUKSKeyMaterial {
    static func crypt(_ material: inout [UInt8], cipherName: String, cipherMode: String, key: [UInt8], encrypt: Bool) throws(RADOSError) {
        guard cipherName == "aes", cipherMode == "xts-plain64" else {
            throw RADOSError(.unsupported, "LUKS key material encrypted with \(cipherName)-\(cipherMode) is not supported (aes-xts-plain64)", errno: 95)
        }
        let cipher = try XTSSectorCipher(key: key, sectorSize: 512)
        cipher.crypt(&material, firstIV: 0, encrypt: encrypt)
    }

    /// A random (version 4) UUID in lower-case text, as cryptsetup writes it.
    static func newUUID() throws(RADOSError) -> String {
        var bytes = try LUKSCrypto.randomBytes(16)
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }
}

/// What a new header's key derivation costs. The default is what libcryptsetup 2.6 picks
/// when librbd formats (librbd sets no KDF): PBKDF2 iterations for 2 s per key slot and
/// 125 ms per digest (at least 1000), and for LUKS2 key slots Argon2id with 4 passes,
/// 1 GiB and up to 4 threads.
package struct LUKSKDFCost: Sendable {
    var slotIterations: UInt32
    var digestIterations: UInt32
    var argon2: (time: UInt32, memoryKiB: UInt32, cpus: UInt32)?

    /// Measured on this machine like cryptsetup's benchmark.
    package static func standard() throws(RADOSError) -> LUKSKDFCost {
        let perMillisecond = try pbkdf2IterationsPerMillisecond()
        let cpus = UInt32(min(4, max(1, ProcessInfo.processInfo.activeProcessorCount)))
        return LUKSKDFCost(
            slotIterations: UInt32(max(1000, min(Double(UInt32.max), perMillisecond * 2000))),
            digestIterations: UInt32(max(1000, min(Double(UInt32.max), perMillisecond * 125))),
            argon2: (time: 4, memoryKiB: 1 << 20, cpus: cpus))
    }

    /// Cheap parameters for tests (librbd's own tests format with 1000 PBKDF2 iterations
    /// the same way); the header is as valid, only easier to brute-force.
    package static let testing = LUKSKDFCost(slotIterations: 1000, digestIterations: 1000, argon2: (time: 4, memoryKiB: 32 << 10, cpus: 1))

    static func pbkdf2IterationsPerMillisecond() throws(RADOSError) -> Double {
        let iterations: UInt32 = 20_000
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try LUKSCrypto.pbkdf2(.sha256, password: Array("benchmark".utf8), salt: [UInt8](repeating: 0, count: 32), iterations: iterations, length: 64)
        let elapsed = max(1, DispatchTime.now().uptimeNanoseconds - start)
        return Double(iterations) / (Double(elapsed) / 1e6)
    }
}
