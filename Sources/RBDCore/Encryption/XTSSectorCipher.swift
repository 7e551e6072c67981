import COpenSSL
import NIOConcurrencyHelpers
import RADOSProto

/// AES-XTS over whole sectors with the `plain64` IV, as dm-crypt and librbd use it: each
/// sector of `sectorSize` bytes is one XTS data unit whose tweak is the little-endian
/// number of its first 512-byte sector (so 4096-byte sectors count 0, 8, 16, …; ceph/ceph
/// `src/librbd/crypto/BlockCrypto.cc`). One OpenSSL context per direction is keyed once;
/// a sector only sets its IV.
final class XTSSectorCipher: @unchecked Sendable {
    let sectorSize: Int
    private let lock = NIOLock()
    private let encryptor: OpaquePointer
    private let decryptor: OpaquePointer

    /// `key` is the whole XTS key: 32 bytes for AES-128, 64 for AES-256.
    init(key: [UInt8], sectorSize: Int) throws(RADOSError) {
        let cipher: OpaquePointer?
        switch key.count {
        case 32: cipher = EVP_aes_128_xts()
        case 64: cipher = EVP_aes_256_xts()
        default: throw RADOSError(.unsupported, "a \(key.count * 8)-bit AES-XTS key is not supported (256 or 512 bits)", errno: 95)
        }
        guard sectorSize >= 512, sectorSize <= 4096, sectorSize & (sectorSize - 1) == 0 else {
            throw RADOSError(.unsupported, "encryption sector size \(sectorSize) is not supported (512 to 4096, a power of 2)", errno: 95)
        }
        guard let encryptor = EVP_CIPHER_CTX_new(), let decryptor = EVP_CIPHER_CTX_new() else {
            throw RADOSError(.clusterError, "libcrypto could not allocate a cipher context", errno: 12)
        }
        self.encryptor = encryptor
        self.decryptor = decryptor
        self.sectorSize = sectorSize
        guard EVP_CipherInit_ex(encryptor, cipher, nil, key, nil, 1) == 1, EVP_CipherInit_ex(decryptor, cipher, nil, key, nil, 0) == 1 else {
            throw RADOSError(.invalidArgument, "libcrypto refused the AES-XTS key (are its two halves equal?)", errno: 22)
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(encryptor)
        EVP_CIPHER_CTX_free(decryptor)
    }

    /// Encrypts or decrypts `bytes` in place: a whole number of sectors, the first with
    /// IV `firstIV` (in 512-byte units).
    func crypt(_ bytes: UnsafeMutableRawBufferPointer, firstIV: UInt64, encrypt: Bool) {
        precondition(bytes.count % sectorSize == 0, "XTS input is not a whole number of sectors")
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let context = encrypt ? encryptor : decryptor
        var iv = [UInt8](repeating: 0, count: 16)
        var length: Int32 = 0
        lock.withLock {
            var offset = 0
            var sector = firstIV
            while offset < bytes.count {
                var value = sector
                for index in 0..<8 {
                    iv[index] = UInt8(value & 0xff)
                    value >>= 8
                }
                EVP_CipherInit_ex(context, nil, nil, nil, iv, -1)
                EVP_CipherUpdate(context, base + offset, &length, base + offset, Int32(sectorSize))
                offset += sectorSize
                sector += UInt64(sectorSize / 512)
            }
        }
    }

    func crypt(_ bytes: inout [UInt8], firstIV: UInt64, encrypt: Bool) {
        bytes.withUnsafeMutableBytes { crypt($0, firstIV: firstIV, encrypt: encrypt) }
    }
}
