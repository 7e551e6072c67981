import COpenSSL
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
    /// OpenSSL contexts holding the expanded key, one per direction: a frame sets only
    /// its nonce, so the key schedule is computed once per connection, not per frame.
    private var contexts: GCMKeyedContexts

    /// Builds the client side from a connection secret.
    package init(connectionSecret secret: [UInt8]) throws(MessengerError) {
        guard secret.count >= Self.requiredSecretLength else {
            throw .authenticationFailed("connection secret too short (\(secret.count) bytes)")
        }
        key = SymmetricKey(data: secret[0..<Self.keyLength])
        receiveNonce = Array(secret[Self.keyLength..<(Self.keyLength + Self.nonceLength)])
        sendNonce = Array(secret[(Self.keyLength + Self.nonceLength)..<Self.requiredSecretLength])
        guard let contexts = GCMKeyedContexts(key: key) else {
            throw .authenticationFailed("OpenSSL could not set up AES-128-GCM")
        }
        self.contexts = contexts
    }

    /// The peer's view (its send is our receive), with contexts of its own; for tests and
    /// loopback peers.
    package func mirrored() -> FrameCipher {
        var copy = self
        swap(&copy.receiveNonce, &copy.sendNonce)
        copy.contexts = GCMKeyedContexts(key: key) ?? contexts
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
        seal(length: plaintext.readableBytes, into: &out) { $0.append(plaintext) }
    }

    /// Seals a plaintext given in pieces (`feed` appends them, and zero padding, to the
    /// stream it is handed) straight into `out`: the one pass over the payload is the
    /// encryption itself, with no plaintext or ciphertext buffer in between. `length` is
    /// the plaintext's total size (room for it and the tag is reserved once).
    package mutating func seal(length: Int, into out: inout ByteBuffer, _ feed: (inout SealingStream) -> Void) {
        let context = contexts.seal
        let started = sendNonce.withUnsafeBytes { nonce in
            EVP_EncryptInit_ex(context.pointer, nil, nil, nil, nonce.bindMemory(to: UInt8.self).baseAddress)
        }
        var sealed = started == 1
        // The ciphertext goes straight into `out`'s free space (reserved here, once).
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: length + FrameLayout.gcmTagLength) { target in
            var stream = SealingStream(context: context.pointer, target: UnsafeMutableRawBufferPointer(rebasing: target[0..<length]))
            if sealed { feed(&stream) }
            sealed = sealed && !stream.failed && stream.written == length
            return sealed ? length : 0
        }
        var tag = [UInt8](repeating: 0, count: FrameLayout.gcmTagLength)
        var finalLength: Int32 = 0
        sealed = sealed
            && EVP_EncryptFinal_ex(context.pointer, nil, &finalLength) == 1
            && EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_GET_TAG, Int32(FrameLayout.gcmTagLength), &tag) == 1
        // A 16-byte key, a 12-byte nonce and a caller that feeds exactly `length` bytes:
        // OpenSSL has no reason to fail, and a frame sealed wrong must never be sent.
        precondition(sealed, "AES-128-GCM sealing failed (OpenSSL, or a frame fed more or less than its length)")
        Self.advance(&sendNonce)
        out.writeBytes(tag)
    }

    /// Appends plaintext to a sealing in progress (``seal(length:into:_:)``): each
    /// piece is encrypted into the output as it comes.
    package struct SealingStream {
        fileprivate let context: OpaquePointer
        fileprivate let target: UnsafeMutableRawBufferPointer
        fileprivate var written = 0
        fileprivate var failed = false
        private static let zeros = [UInt8](repeating: 0, count: 64)

        /// Encrypts `bytes` onto the output.
        package mutating func append(_ bytes: ByteBuffer) {
            bytes.withUnsafeReadableBytes { append($0) }
        }

        /// Encrypts one byte onto the output.
        package mutating func append(byte: UInt8) {
            withUnsafeBytes(of: byte) { append($0) }
        }

        /// Encrypts `count` zero bytes (padding) onto the output.
        package mutating func appendZeros(_ count: Int) {
            var left = count
            while left > 0 {
                let chunk = min(left, Self.zeros.count)
                Self.zeros.withUnsafeBytes { append(UnsafeRawBufferPointer(rebasing: $0[0..<chunk])) }
                left -= chunk
            }
        }

        private mutating func append(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count > 0, !failed else { return }
            guard written + bytes.count <= target.count, let destination = target.baseAddress else {
                failed = true
                return
            }
            var produced: Int32 = 0
            let ok = EVP_EncryptUpdate(context, destination.advanced(by: written).assumingMemoryBound(to: UInt8.self), &produced,
                                       bytes.bindMemory(to: UInt8.self).baseAddress, Int32(bytes.count)) == 1
            if ok, Int(produced) == bytes.count { written += bytes.count } else { failed = true }
        }
    }

    /// Opens ciphertext-and-tag `sealed` (its last 16 bytes are the tag), decrypting
    /// straight into the buffer it returns.
    package mutating func open(_ sealed: ByteBuffer, what: String) throws(MessengerError) -> ByteBuffer {
        guard sealed.readableBytes >= FrameLayout.gcmTagLength else { throw .badAuthTag(what) }
        let ciphertextLength = sealed.readableBytes - FrameLayout.gcmTagLength
        let context = contexts.open
        var plain = ByteBufferAllocator().buffer(capacity: max(ciphertextLength, 1))
        let opened: Bool = sealed.withUnsafeReadableBytes { raw in
            let started = receiveNonce.withUnsafeBytes { nonce in
                EVP_DecryptInit_ex(context.pointer, nil, nil, nil, nonce.bindMemory(to: UInt8.self).baseAddress)
            }
            guard started == 1 else { return false }
            let input = raw.bindMemory(to: UInt8.self)
            var ok = true
            if ciphertextLength > 0 {
                plain.writeWithUnsafeMutableBytes(minimumWritableBytes: ciphertextLength) { target in
                    var written: Int32 = 0
                    ok = EVP_DecryptUpdate(context.pointer, target.bindMemory(to: UInt8.self).baseAddress, &written, input.baseAddress, Int32(ciphertextLength)) == 1
                        && Int(written) == ciphertextLength
                    return ok ? ciphertextLength : 0
                }
            }
            guard ok else { return false }
            var tag = Array(raw[ciphertextLength...])
            guard EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_SET_TAG, Int32(FrameLayout.gcmTagLength), &tag) == 1 else { return false }
            var finalLength: Int32 = 0
            return EVP_DecryptFinal_ex(context.pointer, nil, &finalLength) == 1
        }
        guard opened else { throw .badAuthTag(what) }
        Self.advance(&receiveNonce)
        return plain
    }
}

/// One OpenSSL cipher context, with a key set up in it.
final class GCMContext {
    let pointer: OpaquePointer

    init?(key: SymmetricKey, encrypting: Bool) {
        guard let pointer = EVP_CIPHER_CTX_new() else { return nil }
        self.pointer = pointer
        let keyed = key.withUnsafeBytes { key in
            encrypting
                ? EVP_EncryptInit_ex(pointer, EVP_aes_128_gcm(), nil, key.bindMemory(to: UInt8.self).baseAddress, nil)
                : EVP_DecryptInit_ex(pointer, EVP_aes_128_gcm(), nil, key.bindMemory(to: UInt8.self).baseAddress, nil)
        }
        guard keyed == 1 else { return nil }
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }
}

/// The two keyed contexts of a connection's cipher: sealing and opening. Each frame
/// starts its context afresh with the frame's nonce (`EVP_*Init_ex` with only the IV),
/// so nothing but the expanded key carries over between frames.
///
/// Unchecked `Sendable`: a connection seals and opens its frames on its event loop only
/// (its encoder and decoder hold the cipher), so a context is never used by two threads
/// at once; ``FrameCipher/mirrored()`` gives the peer's view contexts of its own.
final class GCMKeyedContexts: @unchecked Sendable {
    let seal: GCMContext
    let open: GCMContext

    init?(key: SymmetricKey) {
        guard let seal = GCMContext(key: key, encrypting: true), let open = GCMContext(key: key, encrypting: false) else { return nil }
        self.seal = seal
        self.open = open
    }
}
