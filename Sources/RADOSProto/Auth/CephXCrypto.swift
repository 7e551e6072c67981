import NIOCore

/// The cephx encrypted envelope.
///
/// Source: kernel `net/ceph/auth_x.c` (`ceph_x_encrypt`, `__ceph_x_decrypt`), ceph/ceph
/// `src/auth/cephx/CephxProtocol.h` (`encode_encrypt_enc_bl`). The plaintext is u8 version
/// (1), u64 magic `0xff009cad8826aa55`, then the payload; it is AES-CBC encrypted with
/// the key, and usually sent as a length-prefixed byte list.
package enum CephXEnvelope {
    package static let magic: UInt64 = 0xFF00_9CAD_8826_AA55

    /// The ciphertext (no length prefix) of `payload` under `key`.
    package static func seal(_ payload: ByteBuffer, key: CryptoKey) throws(RADOSError) -> [UInt8] {
        var plain = ByteBuffer()
        plain.writeDencU8(1)
        plain.writeDencU64(magic)
        var copy = payload
        plain.writeBuffer(&copy)
        return try plain.withUnsafeReadableBytes { raw throws(RADOSError) in try key.encrypt(raw) }
    }

    /// Opens ciphertext (no length prefix) and returns the payload after the header.
    package static func open(_ ciphertext: ByteBuffer, key: CryptoKey) throws(RADOSError) -> ByteBuffer {
        let plain = try ciphertext.withUnsafeReadableBytes { raw throws(RADOSError) in try key.decrypt(raw) }
        var buffer = ByteBuffer(bytes: plain)
        guard buffer.readInteger(as: UInt8.self) != nil,
              buffer.readInteger(endianness: .little, as: UInt64.self) == magic
        else { throw RADOSError(.authenticationFailed, "a cephx blob has a bad magic (wrong key?)") }
        return buffer
    }

    /// Writes `u32 length` + ciphertext.
    package static func writeSealed(_ payload: ByteBuffer, key: CryptoKey, into out: inout ByteBuffer) throws(RADOSError) {
        out.writeDencBytes(try seal(payload, key: key))
    }

    /// Reads `u32 length` + ciphertext and opens it.
    package static func readSealed(from buffer: inout ByteBuffer, key: CryptoKey) throws -> ByteBuffer {
        let ciphertext = try buffer.readDencBytes(limit: 1 << 20)
        return try open(ciphertext, key: key)
    }
}

extension DencError {
    /// The same error without the bytes at the failure point: for decoding that runs on
    /// decrypted cephx payloads, which hold session keys and connection secrets.
    package var redacted: DencError {
        var copy = self
        copy.bytes = []
        return copy
    }
}

/// Runs `body` (which decodes decrypted cephx data) and strips payload bytes from any
/// decoding error it throws, so no key material reaches an error message.
package func withRedactedDecodingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as DencError {
        throw error.redacted
    }
}
