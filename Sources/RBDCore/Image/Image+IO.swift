import NIOCore
import RADOSProto

/// Reading and writing an image's bytes, like librbd's `rbd_read`/`rbd_write`/
/// `rbd_discard`/`rbd_write_zeroes`/`rbd_flush` without a cache.
///
/// A request is clipped like `clip_io` (a start at or past the end is EINVAL, a run past
/// the end is cut), striped into per-object extents and sent as one `MOSDOp` per object,
/// all objects at once. Reads go to the open snapshot's id; absent objects and holes
/// read as zeros. Writes carry the head's snap context so the OSDs preserve snapshot
/// data. Sources: ceph/ceph `src/librbd/api/Io.cc`, `src/librbd/io/ImageRequest.cc`,
/// `src/librbd/io/ObjectRequest.cc`, `src/librbd/io/ReadResult.cc`.
///
/// Cost per request: one lock round to copy the image's size, layout and snap context
/// (the same copy says whether another client changed the header: then the request
/// first rereads it, see Image+Refresh.swift), two for the flush bookkeeping of writes,
/// and one Objecter call per object. A request inside one stripe unit of one object
/// (every aligned 4 KiB I/O) builds no extent list; write data is handed on as slices
/// of the caller's buffer (gathered once only when a striped object receives several
/// stripe units); a read of one object returns the reply's bytes without copying them.
extension Image {
    /// Reads of at least this many bytes of one object use `sparse-read`, like librbd
    /// (`rbd_sparse_read_threshold_bytes`, 64 KiB in Pacific); smaller ones use `read`.
    public static let sparseReadThreshold: UInt64 = 64 << 10

    /// `rbd_discard_granularity_bytes`' Pacific default: discards keep only whole 64 KiB
    /// blocks of each object (`rbd_skip_partial_discard=true`).
    public static let defaultDiscardGranularity: UInt64 = 64 << 10

    /// The discard granularity a configuration asks for, as librbd's `ImageCtx` derives
    /// it: 0 (discard every byte) when `rbd_skip_partial_discard` is false, else
    /// `rbd_discard_granularity_bytes` (a power of two from 4 KiB to 32 MiB; 64 KiB by
    /// default). Pass it to ``discard(offset:length:granularity:)``.
    public static func discardGranularity(_ configuration: RADOSConfiguration) throws(RADOSError) -> UInt64 {
        if try configuration.bool("rbd_skip_partial_discard") == false { return 0 }
        guard let value = try configuration.int("rbd_discard_granularity_bytes") else { return defaultDiscardGranularity }
        guard value >= 4096, value <= 32 << 20, value & (value - 1) == 0 else {
            throw RADOSError(.invalidConfiguration, "rbd_discard_granularity_bytes must be a power of two from 4096 to 33554432, not \(value)")
        }
        return UInt64(value)
    }

    /// What a request needs of the image, copied under the lock once.
    struct IOView {
        var size: UInt64
        var layout: StripeLayout
        var snapContext: SnapContext
        var prefix: String
        var features: RBDFeatures
        /// The header changed (refresh first) or the image is closed.
        var needsAttention: Bool
    }

    func ioView() -> IOView {
        var view = state.withLockedValue {
            IOView(size: $0.info.size, layout: $0.layout, snapContext: $0.info.snapContext, prefix: $0.info.blockNamePrefix, features: $0.info.features, needsAttention: $0.needsAttention)
        }
        if let snapshot { view.size = snapshot.size }
        return view
    }

    /// The view after the slow path: closed images fail, changed headers are reread.
    func currentView() async throws(RADOSError) -> IOView {
        try await prepareForIO()
        return ioView()
    }

    /// Refuses a write with ``checkWritable()``'s errors; free when writing is allowed.
    func checkWritable(_ view: IOView) throws(RADOSError) {
        if snapshot != nil || isReadOnly || !view.features.isDisjoint(with: Self.unhonouredWriteFeatures) {
            try checkWritable()
        }
    }

    // MARK: reads

    /// Reads `length` bytes at `offset` (fewer when the range runs past the end of the
    /// image: the result is clipped there, as `rbd_read` does).
    ///
    /// - Throws: ``RADOSError`` `.invalidArgument` (EINVAL) when `offset` is at or past
    ///   the end and `length` is not 0; the OSD's error otherwise.
    public func read(offset: UInt64, length: UInt64) async throws(RADOSError) -> ByteBuffer {
        let fast = ioView()
        let view = fast.needsAttention ? try await currentView() : fast
        let length = try ImageIOPlan.clip(offset: offset, length: length, size: view.size)
        guard length > 0 else { return ByteBuffer() }
        if let piece = ImageIOPlan.singlePiece(view.layout, offset: offset, length: length) {
            let result = try await readObject(view.prefix, piece.objectNumber, offset: piece.objectOffset, length: length)
            return result.bytes(offset: piece.objectOffset, length: length)
        }
        let extents = Striper.objectExtents(view.layout, offset: offset, length: length)
        var out = ByteBuffer()
        out.reserveCapacity(Int(length))
        out.writeRepeatingByte(0, count: Int(length))
        do {
            try await withThrowingTaskGroup(of: (Int, ObjectReadResult).self) { group in
                for (index, extent) in extents.enumerated() {
                    group.addTask {
                        (index, try await self.readObject(view.prefix, extent.objectNumber, offset: extent.offset, length: extent.length))
                    }
                }
                for try await (index, result) in group {
                    result.scatter(into: &out, extent: extents[index])
                }
            }
        } catch {
            throw Self.radosError(error)
        }
        return out
    }

    /// One object's answer to a read: its bytes in object space.
    enum ObjectReadResult: Sendable {
        /// The object (or the snapshot's clone) does not exist: all zeros.
        case absent
        /// `read`'s output: the bytes from the extent's start (short at the object's end).
        case dense(ByteBuffer)
        /// `sparse-read`'s allocated extents.
        case sparse(SparseReadResult)

        /// The object range as exactly `length` bytes, zeros where nothing was read.
        func bytes(offset: UInt64, length: UInt64) -> ByteBuffer {
            switch self {
            case .dense(let bytes) where bytes.readableBytes == Int(length):
                return bytes
            case .dense(var bytes):
                bytes.writeRepeatingByte(0, count: Int(length) - bytes.readableBytes)
                return bytes
            case .sparse(let result):
                // Fully allocated (the common case for written data, whether the OSD reports
                // one extent or many adjacent ones): the reply's bytes as they are.
                if let first = result.extents.first, let last = result.extents.last, first.offset == offset,
                   last.offset &+ last.length == offset &+ length, result.data.readableBytes == Int(length) {
                    return result.data
                }
                return result.dense(offset: offset, length: Int(length))
            case .absent:
                var zeros = ByteBuffer()
                zeros.writeRepeatingByte(0, count: Int(length))
                return zeros
            }
        }

        /// Copies the bytes into `out` where the extent's pieces belong (`out` is zeroed).
        func scatter(into out: inout ByteBuffer, extent: ObjectExtent) {
            switch self {
            case .absent:
                return
            case .dense(let bytes):
                Self.place(bytes, at: extent.offset, into: &out, extent: extent)
            case .sparse(let result):
                var dataIndex = result.data.readerIndex
                for run in result.extents {
                    if let bytes = result.data.getSlice(at: dataIndex, length: Int(run.length)) {
                        Self.place(bytes, at: run.offset, into: &out, extent: extent)
                    }
                    dataIndex += Int(run.length)
                }
            }
        }

        /// Places object bytes starting at object offset `start` into the buffer pieces
        /// of `extent` that they overlap.
        static func place(_ bytes: ByteBuffer, at start: UInt64, into out: inout ByteBuffer, extent: ObjectExtent) {
            let end = start + UInt64(bytes.readableBytes)
            var pieceStart = extent.offset
            for piece in extent.bufferExtents {
                let pieceEnd = pieceStart + piece.length
                let from = max(start, pieceStart), to = min(end, pieceEnd)
                if from < to, let slice = bytes.getSlice(at: bytes.readerIndex + Int(from - start), length: Int(to - from)) {
                    out.setBuffer(slice, at: out.readerIndex + Int(piece.offset + (from - pieceStart)))
                }
                pieceStart = pieceEnd
            }
        }
    }

    func readObject(_ prefix: String, _ objectNumber: UInt64, offset: UInt64, length: UInt64) async throws(RADOSError) -> ObjectReadResult {
        let name = DataObjectName.make(prefix: prefix, objectNumber: objectNumber)
        let sparse = length >= Self.sparseReadThreshold
        let op: OSDOp = sparse ? .sparseRead(offset: offset, length: length) : .read(offset: offset, length: length)
        let outputs: [ByteBuffer]
        do {
            outputs = try await dataIO.operate(name, [op], snapID: readSnapID)
        } catch where error.code == .notFound {
            return .absent
        }
        let output = outputs.first ?? ByteBuffer()
        guard sparse else {
            guard output.readableBytes <= Int(length) else {
                throw RADOSError(.malformedData, "\(name): the OSD returned \(output.readableBytes) bytes for a read of \(length)")
            }
            return .dense(output)
        }
        do {
            return .sparse(try SparseReadResult.decode(output))
        } catch {
            throw RADOSError(.malformedData, "\(name): the OSD's sparse-read answer does not decode", details: "\(error)")
        }
    }

    // MARK: writes

    /// Writes `data` at `offset` and returns how many bytes were written: all of them,
    /// or up to the end of the image when the data runs past it (like `rbd_write`).
    ///
    /// - Throws: ``RADOSError`` `.permissionDenied` (read-only or snapshot) or
    ///   `.unsupported` (a feature this client does not maintain) before anything is
    ///   sent; `.invalidArgument` when `offset` is at or past the end.
    @discardableResult
    public func write(offset: UInt64, data: ByteBuffer) async throws(RADOSError) -> Int {
        let prepared = try prepareWrite(offset: offset, data: data)
        defer { writes.finish(prepared.ticket) }
        return try await perform(prepared)
    }

    struct PreparedWrite: Sendable {
        var view: IOView
        var offset: UInt64
        var data: ByteBuffer
        var ticket: UInt64
    }

    /// Checks and clips a write and takes its flush ticket (synchronously, so that a
    /// flush called after an asynchronous write was issued waits for it). When the
    /// header changed, checking and clipping wait for the reread (``perform(_:)``).
    func prepareWrite(offset: UInt64, data: ByteBuffer) throws(RADOSError) -> PreparedWrite {
        let view = ioView()
        guard !view.needsAttention else {
            return PreparedWrite(view: view, offset: offset, data: data, ticket: writes.start())
        }
        return try prepareWrite(view, offset: offset, data: data, ticket: writes.start())
    }

    private func prepareWrite(_ view: IOView, offset: UInt64, data: ByteBuffer, ticket: @autoclosure () -> UInt64) throws(RADOSError) -> PreparedWrite {
        try checkWritable(view)
        let length = try ImageIOPlan.clip(offset: offset, length: UInt64(data.readableBytes), size: view.size)
        let clipped = length == UInt64(data.readableBytes) ? data : data.getSlice(at: data.readerIndex, length: Int(length)) ?? data
        return PreparedWrite(view: view, offset: offset, data: clipped, ticket: ticket())
    }

    /// Sends a prepared write; returns the bytes written.
    func perform(_ prepared: PreparedWrite) async throws(RADOSError) -> Int {
        var write = prepared
        if write.view.needsAttention {
            write = try prepareWrite(try await currentView(), offset: write.offset, data: write.data, ticket: prepared.ticket)
        }
        let view = write.view
        let length = UInt64(write.data.readableBytes)
        guard length > 0 else { return 0 }
        if let piece = ImageIOPlan.singlePiece(view.layout, offset: write.offset, length: length) {
            try await writeObject(view, piece.objectNumber, offset: piece.objectOffset, data: write.data)
            return Int(length)
        }
        let extents = Striper.objectExtents(view.layout, offset: write.offset, length: length)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for extent in extents {
                    let bytes = Self.gather(write.data, extent.bufferExtents)
                    group.addTask { try await self.writeObject(view, extent.objectNumber, offset: extent.offset, data: bytes) }
                }
                try await group.waitForAll()
            }
        } catch {
            throw Self.radosError(error)
        }
        return Int(length)
    }

    /// The object extent's bytes: a slice of the caller's buffer, or (several stripe
    /// units of a striped layout) one gathered copy.
    static func gather(_ data: ByteBuffer, _ pieces: [BufferExtent]) -> ByteBuffer {
        if pieces.count == 1, let slice = data.getSlice(at: data.readerIndex + Int(pieces[0].offset), length: Int(pieces[0].length)) {
            return slice
        }
        var out = ByteBuffer()
        out.reserveCapacity(Int(pieces.reduce(0) { $0 + $1.length }))
        for piece in pieces {
            if let slice = data.getSlice(at: data.readerIndex + Int(piece.offset), length: Int(piece.length)) {
                out.writeImmutableBuffer(slice)
            }
        }
        return out
    }

    /// librbd's object write: an allocation hint (no object map tells it the object
    /// exists), then `writefull` when the write covers the whole object, else `write`.
    func writeObject(_ view: IOView, _ objectNumber: UInt64, offset: UInt64, data: ByteBuffer) async throws(RADOSError) {
        let name = DataObjectName.make(prefix: view.prefix, objectNumber: objectNumber)
        let objectSize = view.layout.objectSize
        let hint = OSDOp.setAllocHint(expectedObjectSize: objectSize, expectedWriteSize: objectSize, opFlags: [])
        let op: OSDOp = offset == 0 && UInt64(data.readableBytes) == objectSize ? .writeFull(data) : .write(offset: offset, data: data)
        _ = try await dataIO.operate(name, [hint, op], snapContext: view.snapContext)
    }

    // MARK: discard and write-zeroes

    /// Discards `length` bytes at `offset` like `rbd_discard`: whole objects are removed,
    /// object tails truncated, other ranges zeroed, and (with a `granularity` above 0)
    /// only whole `granularity`-aligned blocks of each object are discarded, the rest is
    /// left as it was. Returns the clipped length.
    @discardableResult
    public func discard(offset: UInt64, length: UInt64, granularity: UInt64 = Image.defaultDiscardGranularity) async throws(RADOSError) -> UInt64 {
        let prepared = try prepareDiscard(offset: offset, length: length, granularity: granularity)
        defer { writes.finish(prepared.ticket) }
        return try await perform(prepared)
    }

    /// Makes `length` bytes at `offset` read as zeros, exactly (`rbd_write_zeroes`: a
    /// discard with granularity 0, so partial blocks are zeroed rather than skipped).
    @discardableResult
    public func writeZeroes(offset: UInt64, length: UInt64) async throws(RADOSError) -> UInt64 {
        try await discard(offset: offset, length: length, granularity: 0)
    }

    struct PreparedDiscard: Sendable {
        var view: IOView
        var offset: UInt64
        /// The clipped length (the requested one until the slow path clipped it).
        var length: UInt64
        var granularity: UInt64
        var operations: [ImageIOPlan.ObjectDiscard]
        var ticket: UInt64
    }

    func prepareDiscard(offset: UInt64, length: UInt64, granularity: UInt64) throws(RADOSError) -> PreparedDiscard {
        let view = ioView()
        guard !view.needsAttention else {
            return PreparedDiscard(view: view, offset: offset, length: length, granularity: granularity, operations: [], ticket: writes.start())
        }
        return try prepareDiscard(view, offset: offset, length: length, granularity: granularity, ticket: writes.start())
    }

    private func prepareDiscard(_ view: IOView, offset: UInt64, length: UInt64, granularity: UInt64, ticket: @autoclosure () -> UInt64) throws(RADOSError) -> PreparedDiscard {
        try checkWritable(view)
        let length = try ImageIOPlan.clip(offset: offset, length: length, size: view.size)
        let operations = ImageIOPlan.discard(view.layout, offset: offset, length: length, granularity: granularity)
        return PreparedDiscard(view: view, offset: offset, length: length, granularity: granularity, operations: operations, ticket: ticket())
    }

    /// Sends a prepared discard; returns the clipped length.
    func perform(_ prepared: PreparedDiscard) async throws(RADOSError) -> UInt64 {
        var discard = prepared
        if discard.view.needsAttention {
            discard = try prepareDiscard(try await currentView(), offset: discard.offset, length: discard.length, granularity: discard.granularity, ticket: prepared.ticket)
        }
        let view = discard.view
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for operation in discard.operations {
                    group.addTask { try await self.discardObject(view, operation) }
                }
                try await group.waitForAll()
            }
        } catch {
            throw Self.radosError(error)
        }
        return discard.length
    }

    /// One object's part of a discard (`ObjectDiscardRequest`).
    func discardObject(_ view: IOView, _ operation: ImageIOPlan.ObjectDiscard) async throws(RADOSError) {
        let name = DataObjectName.make(prefix: view.prefix, objectNumber: operation.objectNumber)
        switch operation.action {
        case .remove:
            do {
                _ = try await dataIO.operate(name, [.delete], snapContext: view.snapContext)
            } catch where error.code == .notFound {
                // Nothing to remove: it already reads as zeros.
            }
        case .truncate(let offset):
            _ = try await dataIO.operate(name, [.truncate(size: offset)], snapContext: view.snapContext)
        case .zero(let offset, let length):
            _ = try await dataIO.operate(name, [.zero(offset: offset, length: length)], snapContext: view.snapContext)
        }
    }

    // MARK: flush

    /// Returns once every write, discard and write-zeroes issued before the call has
    /// completed (there is no cache to write back: `rbd_flush` without `rbd_cache`).
    public func flush() async {
        await writes.flushed()
    }

    static func radosError(_ error: any Error) -> RADOSError {
        error as? RADOSError ?? RADOSError(.connectionFailed, "the request failed", details: "\(error)")
    }
}
