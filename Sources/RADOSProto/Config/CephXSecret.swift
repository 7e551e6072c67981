import Foundation

/// A cephx secret: the decoded form of a keyring's `key = …` (a `CryptoKey`).
///
/// Encoding (`src/auth/Crypto.cc`, `CryptoKey::encode`): le16 type (1 = AES), utime
/// created (le32 seconds, le32 nanoseconds), le16 length, then the key bytes (16 for
/// AES-128). The base64 text of that is what `ceph-authtool --gen-print-key` prints.
///
/// The key never appears in `description`, `debugDescription` or reflection.
package struct CephXSecret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    package static let typeAES: UInt16 = 1

    package let type: UInt16
    package let createdSeconds: UInt32
    package let createdNanoseconds: UInt32
    /// The raw AES key.
    package let keyBytes: [UInt8]

    package init(type: UInt16 = CephXSecret.typeAES, createdSeconds: UInt32 = 0, createdNanoseconds: UInt32 = 0, keyBytes: [UInt8]) {
        self.type = type
        self.createdSeconds = createdSeconds
        self.createdNanoseconds = createdNanoseconds
        self.keyBytes = keyBytes
    }

    /// Why a text is not a secret; the text itself is never part of it.
    package enum DecodeFailure: String, Error, Sendable {
        case notBase64 = "the key is not valid base64"
        case truncated = "the key is too short for a CryptoKey"
        case trailingBytes = "the key has bytes after its CryptoKey"
        case unsupportedType = "the key is not an AES key (type 1)"
        case badLength = "the AES key is not 16 bytes"
    }

    /// Decodes the base64 form of a `CryptoKey`, consuming it exactly.
    package init(base64 text: some StringProtocol) throws(DecodeFailure) {
        guard let data = Data(base64Encoded: String(text).cephTrimmed()) else { throw .notBase64 }
        let bytes = [UInt8](data)
        guard bytes.count >= 12 else { throw .truncated }
        func le16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        func le32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        let type = le16(0)
        let length = Int(le16(10))
        guard bytes.count >= 12 + length else { throw .truncated }
        guard bytes.count == 12 + length else { throw .trailingBytes }
        guard type == CephXSecret.typeAES else { throw .unsupportedType }
        guard length == 16 else { throw .badLength }
        self.init(type: type, createdSeconds: le32(2), createdNanoseconds: le32(6), keyBytes: Array(bytes[12...]))
    }

    /// The base64 `CryptoKey` encoding (what keyrings hold).
    package var base64: String {
        var bytes: [UInt8] = []
        func put16(_ v: UInt16) { bytes += [UInt8(v & 0xff), UInt8(v >> 8)] }
        func put32(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((v >> UInt32(s)) & 0xff)) } }
        put16(type)
        put32(createdSeconds)
        put32(createdNanoseconds)
        put16(UInt16(truncatingIfNeeded: keyBytes.count))
        bytes += keyBytes
        return Data(bytes).base64EncodedString()
    }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "CephXSecret(<redacted>)" }
    package var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
