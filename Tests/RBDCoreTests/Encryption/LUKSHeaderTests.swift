import Foundation
import RADOSProto
import Testing
@testable import RBDCore

/// LUKS headers driven by hand: what we format decodes and opens again, with the layout
/// librbd gets from libcryptsetup; a wrong passphrase is EPERM; damaged or hostile
/// headers fail with an error, never a trap. (Interop with cryptsetup and librbd is in
/// the integration tests `LUKSHeaderInteropTests` and `ImageEncryptionTests`.)
struct LUKSHeaderTests {
    let passphrase = Array("secret".utf8)

    @Test(arguments: [32, 64])
    func luks1RoundTripsWithCryptsetupsLayout(keySize: Int) throws {
        let key = try LUKSCrypto.randomBytes(keySize)
        let bytes = try LUKS1Header.format(key: key, passphrase: passphrase, alignment: 4 << 20, cost: .testing)
        // The data starts at the key slots' end rounded up to the object size: 4 MiB.
        #expect(bytes.count == 4 << 20)
        let header = try LUKS1Header.decode(bytes)
        #expect(header.payloadOffset == 8192 && header.keyBytes == UInt32(keySize))
        #expect(header.cipherName == "aes" && header.cipherMode == "xts-plain64" && header.hashSpec == "sha256")
        // Slots 4 KiB-aligned from sector 8; only slot 0 active.
        let expected: [UInt32] = keySize == 64 ? [8, 512, 1016, 1520, 2024, 2528, 3032, 3536] : [8, 264, 520, 776, 1032, 1288, 1544, 1800]
        #expect(header.slots.map(\.materialOffset) == expected)
        #expect(header.slots.map(\.active) == [true] + Array(repeating: false, count: 7))
        #expect(try header.unlock(passphrase: passphrase, image: bytes) == key)
        let refused = #expect(throws: RADOSError.self) { try header.unlock(passphrase: Array("wrong".utf8), image: bytes) }
        #expect(refused?.errno == 1)
        // Small objects: the data follows the last slot (4040 sectors for a 512-bit key).
        let small = try LUKS1Header.format(key: key, passphrase: passphrase, alignment: 4096, cost: .testing)
        #expect(small.count == (keySize == 64 ? 4040 : 2056) * 512)
    }

    @Test func luks2RoundTripsAndSurvivesADamagedPrimary() throws {
        let key = try LUKSCrypto.randomBytes(64)
        var bytes = try LUKS2Header.format(key: key, passphrase: passphrase, alignment: 4 << 20, sectorSize: 4096, cost: .testing)
        #expect(bytes.count == 16 << 20)
        #expect(Array(bytes[0..<6]) == LUKS2Header.magic && Array(bytes[0x4000..<0x4006]) == LUKS2Header.secondaryMagic)
        let header = try LUKS2Header.decode(bytes)
        #expect(header.dataOffset == 16 << 20 && header.sectorSize == 4096 && header.encryption == "aes-xts-plain64")
        #expect(header.keyslots.count == 1 && header.keyslots[0].areaOffset == 32768)
        #expect(try header.unlock(passphrase: passphrase, image: bytes) == key)
        #expect(throws: RADOSError.self) { try header.unlock(passphrase: Array("wrong".utf8), image: bytes) }
        // A flipped byte in the primary's JSON fails its checksum; the secondary is used.
        bytes[0x1010] ^= 0x01
        #expect(try LUKS2Header.decode(bytes).unlock(passphrase: passphrase, image: bytes) == key)
        bytes[0x5010] ^= 0x01
        let both = #expect(throws: RADOSError.self) { try LUKS2Header.decode(bytes) }
        #expect(both?.message.contains("checksum") == true, "\(String(describing: both))")
    }

    @Test func sectorsEncryptWithPlain64IVsAndZeroSectorsReadAsZeros() throws {
        let key = try LUKSCrypto.randomBytes(64)
        let encryption = try ImageEncryption(dataOffset: 16 << 20, key: key, sectorSize: 4096)
        var data = (0..<(3 * 4096)).map { UInt8($0 & 0xff) }
        let plain = data
        encryption.encrypt(&data, logicalOffset: 8192)
        // Each sector is its own data unit: the second sector alone, with IV 24 (12288 / 512).
        var second = Array(plain[4096..<8192])
        let cipher = try XTSSectorCipher(key: key, sectorSize: 4096)
        cipher.crypt(&second, firstIV: 24, encrypt: true)
        #expect(Array(data[4096..<8192]) == second)
        var withHole = data + [UInt8](repeating: 0, count: 4096)
        encryption.decrypt(&withHole, logicalOffset: 8192)
        #expect(Array(withHole.prefix(3 * 4096)) == plain)
        #expect(withHole.suffix(4096).allSatisfy { $0 == 0 })
    }

    /// Truncated, bit-flipped and random headers are refused with an error.
    @Test func hostileHeadersNeverTrap() throws {
        var rng = SystemRandomNumberGenerator()
        let luks1 = try LUKS1Header.format(key: try LUKSCrypto.randomBytes(32), passphrase: passphrase, alignment: 4096, cost: .testing)
        let luks2 = try LUKS2Header.format(key: try LUKSCrypto.randomBytes(32), passphrase: passphrase, alignment: 4096, sectorSize: 512, cost: .testing)
        for length in [0, 5, 8, 100, 591, 592, 1024] {
            _ = try? LUKS1Header.decode(Array(luks1.prefix(length)))
            _ = try? LUKS2Header.decode(Array(luks2.prefix(length)))
        }
        for _ in 0..<200 {
            var one = Array(luks1.prefix(4096))
            one[Int.random(in: 0..<1024, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            if let header = try? LUKS1Header.decode(one) { _ = header.materialEnd }
            var two = Array(luks2.prefix(0x8000))
            let at = Int.random(in: 0..<0x1400, using: &rng)
            two[at] = UInt8.random(in: 0...255, using: &rng)
            // Keep the checksum right, so the JSON and binary fields themselves are parsed.
            two.replaceSubrange(0x1C0..<0x1E0, with: LUKS2Header.checksum(Array(two.prefix(0x4000))))
            if let header = try? LUKS2Header.decode(two) { _ = header.materialEnd }
        }
        let garbage = (0..<0x8000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        #expect(throws: RADOSError.self) { try LUKS1Header.decode(garbage) }
        #expect(throws: RADOSError.self) { try LUKS2Header.decode(garbage) }
    }
}
