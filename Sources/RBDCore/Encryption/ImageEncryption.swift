import Dispatch
import NIOCore
import NIOConcurrencyHelpers
import RADOSProto

/// The LUKS format of an encrypted image, as librbd names them
/// (`rbd_encryption_format_t`; `.luks` loads either and is not a format of its own).
public enum EncryptionFormat: Sendable, Equatable, CustomStringConvertible {
    case luks1, luks2, luks

    public var description: String {
        switch self {
        case .luks1: return "luks1"
        case .luks2: return "luks2"
        case .luks: return "luks"
        }
    }
}

/// The data cipher a new LUKS header names: AES-XTS with a 256-bit key (AES-128) or a
/// 512-bit key (AES-256, librbd's default).
public enum EncryptionAlgorithm: Sendable, Equatable {
    case aes128, aes256

    var keySize: Int { self == .aes128 ? 32 : 64 }
}

/// Encryption loaded on an image handle: the data offset (the LUKS header's size, which
/// librbd hides from the image's address space) and the sector cipher with the volume
/// key. Image I/O maps offsets and en/decrypts through it (Image+EncryptedIO.swift), as
/// librbd's `CryptoImageDispatch`/`CryptoObjectDispatch` do.
final class ImageEncryption: Sendable {
    let dataOffset: UInt64
    let cipher: XTSSectorCipher
    /// Unaligned writes read, merge and write their edge sectors one at a time.
    let readModifyWrite = SerialGate()

    var sectorSize: Int { cipher.sectorSize }

    init(dataOffset: UInt64, key: [UInt8], sectorSize: Int) throws(RADOSError) {
        guard dataOffset % UInt64(sectorSize) == 0 else {
            throw RADOSError(.unsupported, "the LUKS data offset \(dataOffset) is not a multiple of the sector size \(sectorSize)", errno: 95)
        }
        self.dataOffset = dataOffset
        self.cipher = try XTSSectorCipher(key: key, sectorSize: sectorSize)
    }

    /// Encrypts whole sectors that start at `logicalOffset` (past the header).
    func encrypt(_ bytes: inout [UInt8], logicalOffset: UInt64) {
        cipher.crypt(&bytes, firstIV: logicalOffset / 512, encrypt: true)
    }

    /// Decrypts whole sectors that start at `logicalOffset`. A sector that is all zeros
    /// on the OSDs was never written (or was discarded as a hole): it reads as zeros, as
    /// through librbd, which does not decrypt holes.
    func decrypt(_ bytes: inout [UInt8], logicalOffset: UInt64) {
        let size = sectorSize
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset + size <= buffer.count {
                let sector = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + size)])
                if sector.contains(where: { $0 != 0 }) {
                    cipher.crypt(sector, firstIV: (logicalOffset + UInt64(offset)) / 512, encrypt: false)
                }
                offset += size
            }
        }
    }
}

/// Runs callback-style jobs one at a time, in order, without a thread or a task.
final class SerialGate: Sendable {
    private let queue = NIOLockedValueBox<(busy: Bool, waiting: [@Sendable (@escaping @Sendable () -> Void) -> Void])>((false, []))

    /// Runs `job` when the jobs before it have called their `done`.
    func run(_ job: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        let now = queue.withLockedValue { state -> Bool in
            if state.busy {
                state.waiting.append(job)
                return false
            }
            state.busy = true
            return true
        }
        if now { job { self.next() } }
    }

    private func next() {
        let job = queue.withLockedValue { state -> (@Sendable (@escaping @Sendable () -> Void) -> Void)? in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        job? { self.next() }
    }
}

extension Image {
    /// Formats the image with a new LUKS header (`rbd_encryption_format`, `rbd encryption
    /// format`): a random volume key in key slot 0 for `passphrase`, laid out as librbd
    /// lays it out (the data starts at the header's size rounded up to the object size),
    /// written over the start of the image. Afterwards the handle has the encryption
    /// loaded, as librbd's has; the image's size shrinks by the header.
    ///
    /// - Throws: ``RADOSError`` `.unsupported` for a clone or a journaled image,
    ///   `.invalidArgument` for `.luks` (not a format to write), ENOSPC when the image is
    ///   not larger than the header.
    public func encryptionFormat(_ format: EncryptionFormat, passphrase: [UInt8], algorithm: EncryptionAlgorithm = .aes256) async throws(RADOSError) {
        try await encryptionFormat(format, passphrase: passphrase, algorithm: algorithm, cost: LUKSKDFCost.standard())
    }

    package func encryptionFormat(_ format: EncryptionFormat, passphrase: [UInt8], algorithm: EncryptionAlgorithm, cost: LUKSKDFCost) async throws(RADOSError) {
        guard format != .luks else {
            throw RADOSError(.invalidArgument, "format luks1 or luks2: luks only loads an existing header", errno: 22)
        }
        guard parent == nil else { throw RADOSError(.unsupported, "cannot format a cloned image \(name) (librbd formats flat images only)", errno: 95) }
        guard !info.features.contains(.journaling) else {
            throw RADOSError(.unsupported, "cannot use encryption with journaling (image \(name))", errno: 95)
        }
        try checkWritable()
        let layout = self.layout
        let sectorSize = format == .luks1 ? 512 : 4096
        var key = try LUKSCrypto.randomBytes(algorithm.keySize)
        defer { LUKSCrypto.wipe(&key) }
        let volumeKey = key
        let header = try await Self.offThePool { () throws(RADOSError) -> [UInt8] in
            format == .luks1
                ? try LUKS1Header.format(key: volumeKey, passphrase: passphrase, alignment: layout.objectSize, cost: cost)
                : try LUKS2Header.format(key: volumeKey, passphrase: passphrase, alignment: layout.objectSize, sectorSize: sectorSize, cost: cost)
        }
        let raw = rawSize
        guard UInt64(header.count) < raw else {
            throw RADOSError(.clusterError, "image \(name) is too small: the \(format) header needs more than \(header.count) bytes", errno: 28)
        }
        let loaded = try ImageEncryption(dataOffset: UInt64(header.count), key: key, sectorSize: sectorSize)
        // A format replaces what was loaded, as librbd's does.
        encryptionSlot.withLockedValue { $0 = nil }
        _ = try await Self.awaiting { startWrite(offset: 0, data: ByteBuffer(bytes: header), completion: $0) }
        try await flush()
        encryptionSlot.withLockedValue { $0 = loaded }
    }

    /// Loads the encryption of a LUKS-formatted image (`rbd_encryption_load`): the header
    /// is read, the passphrase opens a key slot, and from then on I/O through this handle
    /// is encrypted and starts after the header; ``size`` shrinks by it. `.luks` loads
    /// either version.
    ///
    /// - Throws: ``RADOSError`` `.permissionDenied` (EPERM) when no key slot opens with
    ///   the passphrase; `.invalidArgument` when the image holds no LUKS header of that
    ///   format; `.unsupported` for a cipher librbd does not use (aes-xts-plain64);
    ///   `.alreadyExists` when encryption is loaded already.
    public func encryptionLoad(_ format: EncryptionFormat, passphrase: [UInt8]) async throws(RADOSError) {
        guard encryptionSlot.withLockedValue({ $0 }) == nil else {
            throw RADOSError(.alreadyExists, "encryption is already loaded on image \(name)", errno: 17)
        }
        guard !info.features.contains(.journaling) else {
            throw RADOSError(.unsupported, "cannot use encryption with journaling (image \(name))", errno: 95)
        }
        let first = try await readRaw(offset: 0, length: 4096)
        let found: EncryptionFormat
        if LUKS1Header.isLUKS1(first) {
            found = .luks1
        } else if LUKS2Header.isLUKS2(first) {
            found = .luks2
        } else {
            throw RADOSError(.invalidArgument, "image \(name) has no LUKS header (it is not formatted for encryption)", errno: 22)
        }
        guard format == .luks || format == found else {
            throw RADOSError(.invalidArgument, "image \(name) is formatted \(found), not \(format)", errno: 22)
        }
        let loaded: ImageEncryption
        if found == .luks1 {
            let header = try LUKS1Header.decode(first)
            guard header.cipherName == "aes", header.cipherMode == "xts-plain64" else {
                throw RADOSError(.unsupported, "image \(name) is encrypted with \(header.cipherName)-\(header.cipherMode); only aes-xts-plain64 is supported", errno: 95)
            }
            let image = try await readRaw(offset: 0, length: UInt64(header.materialEnd))
            var key = try await Self.offThePool { () throws(RADOSError) -> [UInt8] in try header.unlock(passphrase: passphrase, image: image) }
            defer { LUKSCrypto.wipe(&key) }
            loaded = try ImageEncryption(dataOffset: UInt64(header.payloadOffset) * 512, key: key, sectorSize: 512)
        } else {
            let size = try LUKS2Header.headerSize(first)
            let header = try LUKS2Header.decode(try await readRaw(offset: 0, length: 2 * size))
            guard header.encryption == "aes-xts-plain64" else {
                throw RADOSError(.unsupported, "image \(name) is encrypted with \(header.encryption); only aes-xts-plain64 is supported", errno: 95)
            }
            // Key slots live within 128 MiB past the headers (cryptsetup's limit).
            guard header.materialEnd <= Int(2 * size) + (128 << 20) else {
                throw RADOSError(.invalidArgument, "image \(name)'s LUKS2 key slots lie beyond the key slots area", errno: 22)
            }
            let image = try await readRaw(offset: 0, length: UInt64(header.materialEnd))
            var key = try await Self.offThePool { () throws(RADOSError) -> [UInt8] in try header.unlock(passphrase: passphrase, image: image) }
            defer { LUKSCrypto.wipe(&key) }
            loaded = try ImageEncryption(dataOffset: header.dataOffset, key: key, sectorSize: header.sectorSize)
        }
        let installed = encryptionSlot.withLockedValue { slot -> Bool in
            guard slot == nil else { return false }
            slot = loaded
            return true
        }
        guard installed else { throw RADOSError(.alreadyExists, "encryption is already loaded on image \(name)", errno: 17) }
    }

    /// The image's bytes as stored (no decryption), zero-filled past the end.
    func readRaw(offset: UInt64, length: UInt64) async throws(RADOSError) -> [UInt8] {
        let view = try await currentView()
        let buffer = try await Self.awaiting { startRead(view, offset: offset, length: min(length, view.size > offset ? view.size - offset : 0), completion: $0) }
        var bytes = Array(buffer.readableBytesView)
        if bytes.count < Int(length) { bytes += [UInt8](repeating: 0, count: Int(length) - bytes.count) }
        return bytes
    }

    /// Runs CPU-heavy work (key derivation: seconds of Argon2) on a Dispatch thread, not
    /// on Swift's cooperative pool, which the client's callers share.
    static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws(RADOSError) -> T) async throws(RADOSError) -> T {
        let result: Result<T, RADOSError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(RADOSError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
