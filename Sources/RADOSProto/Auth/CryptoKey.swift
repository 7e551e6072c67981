import Crypto
import CryptoExtras
import Foundation
import NIOCore

/// A Ceph `CryptoKey`: the secret of an entity, or a session key.
///
/// Source: ceph/ceph `src/auth/Crypto.cc` (`CryptoKey::encode`), kernel `net/ceph/crypto.c`.
/// Encoding: u16 type (1 = AES), `utime_t` created (u32 sec, u32 nsec), u16 length, then
/// the secret (16 bytes for AES-128). A keyring's `key =` line is the base64 of this.
///
/// The legacy cephx cipher is AES-128-CBC with PKCS#7 padding and the fixed IV
/// `"cephsageyudagreg"`.
///
/// Never printed: `description` is redacted.
package struct CryptoKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package static let typeAES: UInt16 = 1
    package static let fixedIV: [UInt8] = Array("cephsageyudagreg".utf8)

    package var type: UInt16
    package var createdSeconds: UInt32
    package var createdNanoseconds: UInt32
    package var secret: [UInt8]

    package init(type: UInt16 = CryptoKey.typeAES, createdSeconds: UInt32 = 0, createdNanoseconds: UInt32 = 0, secret: [UInt8]) {
        self.type = type
        self.createdSeconds = createdSeconds
        self.createdNanoseconds = createdNanoseconds
        self.secret = secret
    }

    package var description: String { "CryptoKey(redacted)" }
    package var debugDescription: String { description }
    /// Reflection (`dump`, Mirror) shows no fields either.
    package var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Why a keyring text is not a key; the text itself is never part of it.
    package enum DecodeFailure: String, Error, Sendable {
        case notBase64 = "the key is not valid base64"
        case truncated = "the key is too short for a CryptoKey"
        case trailingBytes = "the key has bytes after its CryptoKey"
        case unsupportedType = "the key is not an AES key (type 1)"
        case badLength = "the AES key is not 16 bytes"
    }

    /// Decodes the base64 form found in keyrings (`key = …`), consuming it exactly.
    package init(keyringBase64 text: some StringProtocol) throws(DecodeFailure) {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw .notBase64 }
        var buffer = ByteBuffer(bytes: data)
        guard buffer.readableBytes >= 12,
              let type = buffer.readInteger(endianness: .little, as: UInt16.self),
              let seconds = buffer.readInteger(endianness: .little, as: UInt32.self),
              let nanoseconds = buffer.readInteger(endianness: .little, as: UInt32.self),
              let length = buffer.readInteger(endianness: .little, as: UInt16.self) else { throw .truncated }
        guard buffer.readableBytes >= Int(length) else { throw .truncated }
        guard buffer.readableBytes == Int(length) else { throw .trailingBytes }
        guard type == Self.typeAES else { throw .unsupportedType }
        guard length == 16 else { throw .badLength }
        self.init(type: type, createdSeconds: seconds, createdNanoseconds: nanoseconds, secret: buffer.readBytes(length: Int(length)) ?? [])
    }

    /// Decodes the base64 form found in keyrings, failing with a configuration error.
    package init(base64 text: String) throws(RADOSError) {
        do {
            try self.init(keyringBase64: text)
        } catch {
            throw RADOSError(.invalidConfiguration, error.rawValue)
        }
    }

    /// The base64 `CryptoKey` encoding (what keyrings hold).
    package var base64: String {
        var buffer = ByteBuffer()
        buffer.writeInteger(type, endianness: .little)
        buffer.writeInteger(createdSeconds, endianness: .little)
        buffer.writeInteger(createdNanoseconds, endianness: .little)
        buffer.writeInteger(UInt16(truncatingIfNeeded: secret.count), endianness: .little)
        buffer.writeBytes(secret)
        return Data(buffer.readableBytesView).base64EncodedString()
    }

    private func check() throws(RADOSError) {
        guard type == Self.typeAES, secret.count == 16 else {
            throw RADOSError(.unsupported, "only AES-128 cephx keys are supported")
        }
    }

    /// AES-128-CBC, PKCS#7 padding, Ceph's fixed IV.
    package func encrypt(_ plaintext: some DataProtocol) throws(RADOSError) -> [UInt8] {
        try check()
        do {
            return Array(try AES._CBC.encrypt(plaintext, using: SymmetricKey(data: secret), iv: AES._CBC.IV(ivBytes: Self.fixedIV)))
        } catch {
            throw RADOSError(.authenticationFailed, "AES-CBC encryption failed")
        }
    }

    package func decrypt(_ ciphertext: some DataProtocol) throws(RADOSError) -> [UInt8] {
        try check()
        do {
            return Array(try AES._CBC.decrypt(ciphertext, using: SymmetricKey(data: secret), iv: AES._CBC.IV(ivBytes: Self.fixedIV)))
        } catch {
            throw RADOSError(.authenticationFailed, "a cephx blob did not decrypt (wrong key?)")
        }
    }
}

extension ByteBuffer {
    package mutating func readCryptoKey() throws -> CryptoKey {
        let type = try readDencU16()
        let sec = try readDencU32()
        let nsec = try readDencU32()
        let length = Int(try readDencU16())
        guard length <= 64 else { throw DencError(.lengthTooLarge(length, limit: 64), at: self) }
        var bytes = try readDencFixed(length)
        return CryptoKey(type: type, createdSeconds: sec, createdNanoseconds: nsec, secret: bytes.readBytes(length: length) ?? [])
    }

    package mutating func writeCryptoKey(_ key: CryptoKey) {
        writeDencU16(key.type)
        writeDencU32(key.createdSeconds)
        writeDencU32(key.createdNanoseconds)
        writeDencU16(UInt16(truncatingIfNeeded: key.secret.count))
        writeBytes(key.secret)
    }
}
