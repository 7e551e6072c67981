import NIOCore
import RADOSProto

/// I/O through loaded encryption: offsets move past the LUKS header, reads are widened
/// to whole sectors and decrypted, aligned writes are encrypted on the way out, and an
/// unaligned write reads, merges and rewrites its edge sectors (librbd's
/// `CryptoObjectDispatch`, block-granular read-modify-write). Discard and write-zeroes
/// write encrypted zeros, as librbd's do: nothing is deallocated, and the range reads
/// as zeros.
extension Image {
    /// The view I/O through `crypto` runs under, and the image's size past the header;
    /// nil when the header changed and must be reread first: then `retry` runs again on
    /// a task after the reread, and its outcome goes to `completion`.
    private func encryptedView<Value: Sendable>(
        _ crypto: ImageEncryption, _ completion: @escaping @Sendable (Result<Value, RADOSError>) -> Void,
        retry: @escaping @Sendable (@escaping @Sendable (Result<Value, RADOSError>) -> Void) -> Void
    ) -> (IOView, UInt64)? {
        let view = ioView()
        guard !view.needsAttention else {
            Self.onTask(completion) {
                _ = try await self.currentView()
                return try await Self.awaiting(retry)
            }
            return nil
        }
        return (view, view.size > crypto.dataOffset ? view.size - crypto.dataOffset : 0)
    }

    /// A buffer's bytes, zero-filled up to `count` (a read clipped at the image's end).
    private static func bytes(_ buffer: ByteBuffer, paddedTo count: Int) -> [UInt8] {
        var bytes = Array(buffer.readableBytesView)
        if bytes.count < count { bytes += [UInt8](repeating: 0, count: count - bytes.count) }
        return bytes
    }

    func encryptedRead(_ crypto: ImageEncryption, offset: UInt64, length requested: UInt64, completion: @escaping @Sendable (Result<ByteBuffer, RADOSError>) -> Void) {
        guard let (view, logicalSize) = encryptedView(crypto, completion, retry: { self.encryptedRead(crypto, offset: offset, length: requested, completion: $0) }) else { return }
        let length: UInt64
        do {
            length = try ImageIOPlan.clip(offset: offset, length: requested, size: logicalSize)
        } catch {
            return completion(.failure(error))
        }
        guard length > 0 else { return completion(.success(ByteBuffer())) }
        let sector = UInt64(crypto.sectorSize)
        let start = offset / sector * sector
        let end = (offset + length + sector - 1) / sector * sector
        startRead(view, offset: start + crypto.dataOffset, length: end - start) { result in
            completion(result.map { raw in
                var bytes = Self.bytes(raw, paddedTo: Int(end - start))
                crypto.decrypt(&bytes, logicalOffset: start)
                let from = Int(offset - start)
                return ByteBuffer(bytes: bytes[from..<(from + Int(length))])
            })
        }
    }

    func encryptedWrite(_ crypto: ImageEncryption, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Int, RADOSError>) -> Void) {
        guard let (_, logicalSize) = encryptedView(crypto, completion, retry: { self.encryptedWrite(crypto, offset: offset, data: data, completion: $0) }) else { return }
        let length: UInt64
        do {
            // Writability (and the exclusive lock, taken on demand) is the raw write's to check.
            if snapshot != nil || isReadOnly { try checkWritable() }
            length = try ImageIOPlan.clip(offset: offset, length: UInt64(data.readableBytes), size: logicalSize)
        } catch {
            return completion(.failure(error))
        }
        guard length > 0 else { return completion(.success(0)) }
        let sector = UInt64(crypto.sectorSize)
        if offset % sector == 0, length % sector == 0 {
            var bytes = Array(data.readableBytesView.prefix(Int(length)))
            crypto.encrypt(&bytes, logicalOffset: offset)
            startWrite(offset: offset + crypto.dataOffset, data: ByteBuffer(bytes: bytes)) { completion($0.map { _ in Int(length) }) }
            return
        }
        let start = offset / sector * sector
        let end = (offset + length + sector - 1) / sector * sector
        crypto.readModifyWrite.run { [self] done in
            encryptedRead(crypto, offset: start, length: end - start) { [self] result in
                switch result {
                case .failure(let error):
                    completion(.failure(error))
                    done()
                case .success(let plain):
                    var bytes = Self.bytes(plain, paddedTo: Int(end - start))
                    let from = Int(offset - start)
                    bytes.replaceSubrange(from..<(from + Int(length)), with: data.readableBytesView.prefix(Int(length)))
                    crypto.encrypt(&bytes, logicalOffset: start)
                    startWrite(offset: start + crypto.dataOffset, data: ByteBuffer(bytes: bytes)) { result in
                        completion(result.map { _ in Int(length) })
                        done()
                    }
                }
            }
        }
    }

    /// Zeros `length` bytes at `offset` as encrypted zeros, 4 MiB at a time; returns the
    /// clipped length.
    func encryptedZero(_ crypto: ImageEncryption, offset: UInt64, length requested: UInt64, completion: @escaping @Sendable (Result<UInt64, RADOSError>) -> Void) {
        let logicalSize = size
        let length: UInt64
        do {
            length = try ImageIOPlan.clip(offset: offset, length: requested, size: logicalSize)
        } catch {
            return completion(.failure(error))
        }
        let chunk: UInt64 = 4 << 20
        @Sendable func next(_ done: UInt64) {
            guard done < length else { return completion(.success(length)) }
            let piece = min(chunk, length - done)
            encryptedWrite(crypto, offset: offset + done, data: ByteBuffer(repeating: 0, count: Int(piece))) { result in
                switch result {
                case .failure(let error): completion(.failure(error))
                case .success: next(done + piece)
                }
            }
        }
        next(0)
    }
}
