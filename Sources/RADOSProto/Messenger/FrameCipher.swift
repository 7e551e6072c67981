import Crypto
import Foundation
import NIOCore

/// AES-128-GCM of msgr2.1 secure mode, one direction pair of a connection.
///
/// Source: kernel `net/ceph/messenger_v2.c` (`setup_crypto`, `gcm_inc_nonce`), ceph/ceph
/// `src/msg/async/crypto_onwire.cc`. The connection secret handed over by cephx holds the
/// 16-byte key, then the client's 12-byte receive nonce, then its 12-byte send nonce. A
/// nonce is a 4-byte fixed part and a little-endian 64-bit counter that goes up by one
/// after every seal or open. There is no additional authenticated data.
package struct FrameCipher: Sendable, CustomStringConvertible {
    package static let keyLength = 16
    package static let nonceLength = 12
    package static let requiredSecretLength = keyLength + 2 * nonceLength

    private let key: SymmetricKey
    private var receiveNonce: [UInt8]
    private var sendNonce: [UInt8]

    /// Builds the client side from a connection secret.
    package init(connectionSecret secret: [UInt8]) throws(MessengerError) {
        guard secret.count >= Self.requiredSecretLength else {
            throw .authenticationFailed("connection secret too short (\(secret.count) bytes)")
        }
        key = SymmetricKey(data: secret[0..<Self.keyLength])
        receiveNonce = Array(secret[Self.keyLength..<(Self.keyLength + Self.nonceLength)])
        sendNonce = Array(secret[(Self.keyLength + Self.nonceLength)..<Self.requiredSecretLength])
    }

    /// The peer's view (its send is our receive); for tests and loopback peers.
    package func mirrored() -> FrameCipher {
        var copy = self
        swap(&copy.receiveNonce, &copy.sendNonce)
        return copy
    }

    package var description: String { "FrameCipher(AES-128-GCM, key redacted)" }

    private static func advance(_ nonce: inout [UInt8]) {
        var counter: UInt64 = 0
        for i in 0..<8 { counter |= UInt64(nonce[4 + i]) << (8 * UInt64(i)) }
        counter &+= 1
        for i in 0..<8 { nonce[4 + i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
    }

    /// Seals `plaintext` and appends ciphertext then the 16-byte tag to `out`.
    package mutating func seal(_ plaintext: ByteBuffer, into out: inout ByteBuffer) {
        // Nonce and key sizes are fixed above, so these cannot fail.
        guard let nonce = try? AES.GCM.Nonce(data: sendNonce),
              let box = plaintext.withUnsafeReadableBytes({ try? AES.GCM.seal($0, using: key, nonce: nonce) })
        else { preconditionFailure("AES-GCM with a 16-byte key and 12-byte nonce cannot fail") }
        Self.advance(&sendNonce)
        out.writeBytes(box.ciphertext)
        out.writeBytes(box.tag)
    }

    /// Opens ciphertext-and-tag `sealed` (its last 16 bytes are the tag).
    package mutating func open(_ sealed: ByteBuffer, what: String) throws(MessengerError) -> ByteBuffer {
        guard sealed.readableBytes >= FrameLayout.gcmTagLength else { throw .badAuthTag(what) }
        let ciphertextLength = sealed.readableBytes - FrameLayout.gcmTagLength
        let opened: Data? = sealed.withUnsafeReadableBytes { raw in
            guard let nonce = try? AES.GCM.Nonce(data: receiveNonce),
                  let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: raw[0..<ciphertextLength], tag: raw[ciphertextLength...])
            else { return nil }
            return try? AES.GCM.open(box, using: key)
        }
        guard let opened else { throw .badAuthTag(what) }
        Self.advance(&receiveNonce)
        return ByteBuffer(bytes: opened)
    }
}
