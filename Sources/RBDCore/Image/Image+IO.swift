import NIOCore
import RADOSProto

/// Reading and writing an image's bytes, like librbd's `rbd_read`/`rbd_write`/`rbd_flush`
/// (discard and write-zeroes: Image+Discard.swift; the cache and the I/O scheduler the
/// object requests pass through: ImageCache.swift, ImageWriteScheduler.swift).
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
/// and one Objecter call per object. The objects' requests go onto the client's loop as
/// callbacks (no task or task group per request or per object); an `async` caller waits
/// on one continuation, and the `aio…` forms (Image+IOCompletion.swift) on none.
/// A request inside one stripe unit of one object
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
        /// Writes would be refused (``checkWritable()`` says why): a feature not
        /// maintained, a clone, or the exclusive lock not held.
        var refusesWrites: Bool
        /// The head's object map, while the exclusive lock is held.
        var objectMap: ObjectMapBits?
        /// How many bytes of what is open still map to the parent (0: not a clone, or
        /// flattened): objects below it are copied up before their first write.
        var parentOverlap: UInt64 = 0
    }

    func ioView() -> IOView {
        let usesLock = usesExclusiveLock
        let hasParent = parent != nil
        var view = state.withLockedValue {
            IOView(
                size: $0.info.size, layout: $0.layout, snapContext: $0.info.snapContext, prefix: $0.info.blockNamePrefix,
                features: $0.info.features, needsAttention: $0.needsAttention,
                refusesWrites: !$0.info.features.isDisjoint(with: Self.unhonouredWriteFeatures)
                    || (!hasParent && $0.info.parentOverlap != nil)
                    || (usesLock ? !$0.lock.mayWrite : $0.info.features.contains(.exclusiveLock)),
                objectMap: $0.objectMap,
                parentOverlap: hasParent ? $0.info.parentOverlap ?? 0 : 0)
        }
        if let parent {
            // The head's overlap as last read (shrinking lowers it, flattening ends it),
            // never past the parent snapshot; a snapshot's as it was opened.
            view.parentOverlap = snapshot == nil ? min(view.parentOverlap, parent.image.size) : parent.overlap
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
        if snapshot != nil || isReadOnly || view.refusesWrites {
            try checkWritable()
            // The image allows writing, but the exclusive lock is not held: its
            // acquisition failed (or the image is closing).
            guard usesExclusiveLock else { return }
            let (mayWrite, failure) = state.withLockedValue { ($0.lock.mayWrite, $0.lock.failure) }
            if !mayWrite {
                throw failure ?? RADOSError(.permissionDenied, "image \(name): the exclusive lock is not held, so writing is not allowed", errno: 30)
            }
        }
    }

    // MARK: reads

    /// Reads `length` bytes at `offset` (fewer when the range runs past the end of the
    /// image: the result is clipped there, as `rbd_read` does).
    ///
    /// - Throws: ``RADOSError`` `.invalidArgument` (EINVAL) when `offset` is at or past
    ///   the end and `length` is not 0; the OSD's error otherwise.
    public func read(offset: UInt64, length: UInt64) async throws(RADOSError) -> ByteBuffer {
        if let crypto = encryptionSlot.withLockedValue({ $0 }) {
            return try await Self.awaiting { encryptedRead(crypto, offset: offset, length: length, completion: $0) }
        }
        let fast = ioView()
        let view = fast.needsAttention ? try await currentView() : fast
        return try await Self.awaiting { startRead(view, offset: offset, length: length, completion: $0) }
    }

    /// Reads under `view` (current: no refresh pending) with no task: the objects are
    /// read all at once and `completion` runs on the client's loop when the last answers.
    func startRead(_ view: IOView, offset: UInt64, length requested: UInt64, completion: @escaping @Sendable (Result<ByteBuffer, RADOSError>) -> Void) {
        let length: UInt64
        do {
            length = try ImageIOPlan.clip(offset: offset, length: requested, size: view.size)
        } catch {
            return completion(.failure(error))
        }
        guard length > 0 else { return completion(.success(ByteBuffer())) }
        cache?.readAhead(self, view: view, offset: offset, length: length)
        if let piece = ImageIOPlan.singlePiece(view.layout, offset: offset, length: length) {
            readObject(view.prefix, piece.objectNumber, offset: piece.objectOffset, length: length) { result in
                completion(result.map { $0.bytes(offset: piece.objectOffset, length: length) })
            }
            return
        }
        let extents = Striper.objectExtents(view.layout, offset: offset, length: length)
        let fanOut = ObjectFanOut<ObjectReadResult>(count: extents.count) { outcome in
            completion(outcome.map { results in
                var out = ByteBuffer()
                out.reserveCapacity(Int(length))
                out.writeRepeatingByte(0, count: Int(length))
                for (result, extent) in zip(results, extents) { result.scatter(into: &out, extent: extent) }
                return out
            })
        }
        for (index, extent) in extents.enumerated() {
            readObject(view.prefix, extent.objectNumber, offset: extent.offset, length: extent.length) { fanOut.finish(index, $0) }
        }
    }

    /// Reads an object extent through the cache, if the image has one.
    func readObject(_ prefix: String, _ objectNumber: UInt64, offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<ObjectReadResult, RADOSError>) -> Void) {
        if let cache {
            return cache.read(self, prefix: prefix, object: objectNumber, offset: offset, length: length, completion: completion)
        }
        readObjectFromOSD(prefix, objectNumber, offset: offset, length: length, completion: completion)
    }

    /// Reads an object extent from the OSDs, after the writes waiting in the I/O
    /// scheduler that it overlaps.
    func readObjectFromOSD(_ prefix: String, _ objectNumber: UInt64, offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<ObjectReadResult, RADOSError>) -> Void) {
        guard let scheduler else { return sendObjectRead(prefix, objectNumber, offset: offset, length: length, completion: completion) }
        if scheduler.loop.inEventLoop {
            // On the loop (a completion issuing the next read): no closure for later.
            scheduler.readOnLoop(self, object: objectNumber, offset: offset, length: length)
            return sendObjectRead(prefix, objectNumber, offset: offset, length: length, completion: completion)
        }
        scheduler.read(self, object: objectNumber, offset: offset, length: length) { [self] in
            sendObjectRead(prefix, objectNumber, offset: offset, length: length, completion: completion)
        }
    }

    /// Reads an object extent from the OSDs (a clone's missing object from its parent).
    func sendObjectRead(_ prefix: String, _ objectNumber: UInt64, offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<ObjectReadResult, RADOSError>) -> Void) {
        let name = ObjectName(dataObjectPrefix: prefix, number: objectNumber)
        let sparse = length >= Self.sparseReadThreshold
        let op: OSDOp = sparse ? .sparseRead(offset: offset, length: length) : .read(offset: offset, length: length)
        dataIO.operate(name, SmallArray(single: op), snapID: readSnapID) { [self] outcome in
            if let parent, case .failure(let error) = outcome, error.code == .notFound {
                // A clone's object not written yet: the parent's bytes (Image+Parent.swift).
                let view = ioView()
                return readFromParent(parent, objectNumber: objectNumber, offset: offset, length: length, overlap: view.parentOverlap, layout: view.layout, completion: completion)
            }
            completion(Self.objectRead(outcome, name: name.description, length: length, sparse: sparse))
        }
    }

    /// An object read's outcome: a missing object reads as zeros, the output is checked.
    static func objectRead(_ outcome: Result<SmallArray<ByteBuffer>, RADOSError>, name: @autoclosure () -> String, length: UInt64, sparse: Bool) -> Result<ObjectReadResult, RADOSError> {
        let outputs: SmallArray<ByteBuffer>
        switch outcome {
        case .failure(let error) where error.code == .notFound: return .success(.absent)
        case .failure(let error): return .failure(error)
        case .success(let answer): outputs = answer
        }
        let output = outputs.first ?? ByteBuffer()
        guard sparse else {
            guard output.readableBytes <= Int(length) else {
                return .failure(RADOSError(.malformedData, "\(name()): the OSD returned \(output.readableBytes) bytes for a read of \(length)"))
            }
            return .success(.dense(output))
        }
        do {
            return .success(.sparse(try SparseReadResult.decode(output)))
        } catch {
            return .failure(RADOSError(.malformedData, "\(name()): the OSD's sparse-read answer does not decode", details: "\(error)"))
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
        if let crypto = encryptionSlot.withLockedValue({ $0 }) {
            return try await Self.awaiting { encryptedWrite(crypto, offset: offset, data: data, completion: $0) }
        }
        return try await Self.awaiting { startWrite(offset: offset, data: data, completion: $0) }
    }

    /// A write from admission to completion: admitted by the write tracker (at once, or
    /// after a snapshot under way), checked and clipped under the view of that moment,
    /// sent; `completion` runs before the ticket is returned, so a flush completes after
    /// it. Admitted at once, it keeps no closure for later (the hot path).
    func startWrite(offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Int, RADOSError>) -> Void) {
        if let ticket = writes.tryAdmit() {
            write(ticket: ticket, offset: offset, data: data, completion: completion)
        } else {
            writes.admit { [self] in write(ticket: $0, offset: offset, data: data, completion: completion) }
        }
    }

    func write(ticket: UInt64, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Int, RADOSError>) -> Void) {
        admitted(ticket, { () throws(RADOSError) in try prepareWrite(offset: offset, data: data) }, { perform($0, completion: $1) }, completion: completion)
    }

    /// Prepares and sends an admitted request (closures not kept: nothing allocated for
    /// them); `completion` runs before the ticket is returned.
    func admitted<Prepared, Value: Sendable>(
        _ ticket: UInt64,
        _ prepare: () throws(RADOSError) -> Prepared,
        _ send: (Prepared, @escaping @Sendable (Result<Value, RADOSError>) -> Void) -> Void,
        completion: @escaping @Sendable (Result<Value, RADOSError>) -> Void
    ) {
        let prepared: Prepared
        do throws(RADOSError) {
            prepared = try prepare()
        } catch {
            completion(.failure(error))
            writes.finish(ticket)
            return
        }
        send(prepared) { [writes] result in
            completion(result)
            writes.finish(ticket)
        }
    }

    struct PreparedWrite: Sendable {
        var view: IOView
        var offset: UInt64
        var data: ByteBuffer
    }

    /// Checks and clips an admitted write under the image's current view. When the
    /// header changed, checking and clipping wait for the reread (``perform(_:)``).
    func prepareWrite(offset: UInt64, data: ByteBuffer) throws(RADOSError) -> PreparedWrite {
        let view = ioView()
        guard !view.needsAttention else {
            return PreparedWrite(view: view, offset: offset, data: data)
        }
        return try prepareWrite(view, offset: offset, data: data)
    }

    func prepareWrite(_ view: IOView, offset: UInt64, data: ByteBuffer) throws(RADOSError) -> PreparedWrite {
        try checkWritable(view)
        let length = try ImageIOPlan.clip(offset: offset, length: UInt64(data.readableBytes), size: view.size)
        let clipped = length == UInt64(data.readableBytes) ? data : data.getSlice(at: data.readerIndex, length: Int(length)) ?? data
        return PreparedWrite(view: view, offset: offset, data: clipped)
    }

    /// Sends a prepared write; returns the bytes written.
    func perform(_ prepared: PreparedWrite) async throws(RADOSError) -> Int {
        var write = prepared
        if write.view.needsAttention {
            write = try prepareWrite(try await currentView(), offset: write.offset, data: write.data)
        }
        let ready = write
        return try await Self.awaiting { send(ready, completion: $0) }
    }

    /// Sends a prepared write without a task (a task only when the header must be reread
    /// first); `completion` receives the bytes written, on the client's loop.
    func perform(_ prepared: PreparedWrite, completion: @escaping @Sendable (Result<Int, RADOSError>) -> Void) {
        guard prepared.view.needsAttention else { return send(prepared, completion: completion) }
        Self.onTask(completion) { try await self.perform(prepared) }
    }

    /// Sends a write whose view is current: one request per object, all at once.
    private func send(_ write: PreparedWrite, completion: @escaping @Sendable (Result<Int, RADOSError>) -> Void) {
        let view = write.view
        let length = write.data.readableBytes
        guard length > 0 else { return completion(.success(0)) }
        if let piece = ImageIOPlan.singlePiece(view.layout, offset: write.offset, length: UInt64(length)) {
            writeObject(view, piece.objectNumber, offset: piece.objectOffset, data: write.data) { completion($0.map { length }) }
            return
        }
        let extents = Striper.objectExtents(view.layout, offset: write.offset, length: UInt64(length))
        let fanOut = ObjectFanOut<Void>(count: extents.count) { completion($0.map { _ in length }) }
        for (index, extent) in extents.enumerated() {
            writeObject(view, extent.objectNumber, offset: extent.offset, data: Self.gather(write.data, extent.bufferExtents)) { fanOut.finish(index, $0) }
        }
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

    /// Writes an object extent through the cache, if the image has one (which
    /// acknowledges it when its policy allows).
    func writeObject(_ view: IOView, _ objectNumber: UInt64, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        if let cache {
            return cache.write(self, view: view, object: objectNumber, offset: offset, data: data, completion: completion)
        }
        writeObjectToOSD(view, objectNumber, offset: offset, data: data, completion: completion)
    }

    /// Writes an object extent to the OSDs, through the I/O scheduler if the image has one.
    func writeObjectToOSD(_ view: IOView, _ objectNumber: UInt64, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        guard let scheduler else { return sendObjectWrite(view, objectNumber, offset: offset, data: data, completion: completion) }
        scheduler.write(self, view: view, object: objectNumber, offset: offset, data: data, completion: completion)
    }

    /// librbd's object write: an allocation hint (no object map tells it the object
    /// exists), then `writefull` when the write covers the whole object, else `write`.
    /// A clone's object that stands for parent bytes is copied up first (Image+CopyUp.swift).
    func sendObjectWrite(_ view: IOView, _ objectNumber: UInt64, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        sendObjectWrite(view, objectNumber, offset: offset, data: data, outputs: { completion($0.map { _ in () }) })
    }

    /// ``sendObjectWrite(_:_:offset:data:completion:)`` answering with the OSD's outputs
    /// (none for a write), as the I/O context does: the I/O scheduler's path, where no
    /// closure then wraps the completion on its way down.
    func sendObjectWrite(_ view: IOView, _ objectNumber: UInt64, offset: UInt64, data: ByteBuffer, outputs completion: @escaping @Sendable (Result<SmallArray<ByteBuffer>, RADOSError>) -> Void) {
        if view.parentOverlap > 0, Self.hasParentData(view.layout, objectNumber: objectNumber, overlap: view.parentOverlap) {
            return sendCloneObjectWrite(view, objectNumber, offset: offset, data: data) { completion($0.map { SmallArray() }) }
        }
        if let map = view.objectMap, map[objectNumber] != .exists {
            // The object map says the object exists (and, with fast diff, changed since
            // the last snapshot) before the object does (`pre_write_object_map_update`).
            markObjectExists(objectNumber) { [self] outcome in
                switch outcome {
                case .success:
                    var mapped = view
                    mapped.objectMap = nil
                    sendObjectWrite(mapped, objectNumber, offset: offset, data: data, outputs: completion)
                case .failure(let error):
                    completion(.failure(error))
                }
            }
            return
        }
        // Named by prefix and number: the name is spelled out only where it is written.
        let name = ObjectName(dataObjectPrefix: view.prefix, number: objectNumber)
        let objectSize = view.layout.objectSize
        let hint = OSDOp.setAllocHint(expectedObjectSize: objectSize, expectedWriteSize: objectSize, opFlags: [])
        let op: OSDOp = offset == 0 && UInt64(data.readableBytes) == objectSize ? .writeFull(data) : .write(offset: offset, data: data)
        let ops = SmallArray<OSDOp>(hint, op)
        dataIO.operate(name, ops, snapContext: view.snapContext, completion: completion)
    }

    /// A write to a clone's object that stands for parent bytes: guarded by `stat` and
    /// copied up when the object does not exist yet, unless it replaces the whole object
    /// of an image without snapshots.
    private func sendCloneObjectWrite(_ view: IOView, _ objectNumber: UInt64, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        let objectSize = view.layout.objectSize
        let whole = offset == 0 && UInt64(data.readableBytes) == objectSize
        if whole && view.snapContext.snaps.isEmpty {
            var plain = view
            plain.parentOverlap = 0
            return sendObjectWrite(plain, objectNumber, offset: offset, data: data, completion: completion)
        }
        let write: OSDOp = whole ? .writeFull(data) : .write(offset: offset, data: data)
        let hint = OSDOp.setAllocHint(expectedObjectSize: objectSize, expectedWriteSize: objectSize, opFlags: [])
        let retry: @Sendable () -> Void = { [self] in sendObjectWrite(view, objectNumber, offset: offset, data: data, completion: completion) }
        sendGuardedForCopyUp(view, objectNumber, hint: hint, ops: [write], retry: retry, completion: completion)
    }

    // MARK: flush

    /// Returns once every write, discard and write-zeroes issued before the call is on
    /// the OSDs, like `rbd_flush`: the requests in flight complete and the cache (if the
    /// image has one) writes back what it holds. The first flush also ends
    /// `rbd_cache_writethrough_until_flush`.
    ///
    /// - Throws: ``RADOSError``: the first error a write the cache had acknowledged met
    ///   on its way to the OSDs since the last flush (librbd reports it the same way).
    public func flush() async throws(RADOSError) {
        try await Self.awaiting { startFlush(user: true, completion: $0) }
    }

    /// Starts a flush from any thread (``flush()`` without Swift concurrency): writes
    /// waiting in the I/O scheduler go at once, then the cache writes back.
    func startFlush(user: Bool, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        scheduler?.flush(self) {}
        writes.whenFlushed { [self] in
            guard let cache else { return completion(.success(())) }
            cache.flush(self, user: user, completion: completion)
        }
    }

    /// Drops what the cache holds (`rbd_invalidate_cache`): writes what is dirty back
    /// first, then forgets every cached byte, so the next reads go to the OSDs.
    public func invalidateCache() async throws(RADOSError) {
        guard let cache else { return }
        await writes.flushed()
        try await cache.flush(self, user: false)
        try await cache.invalidate()
    }

    /// Before a snapshot, a resize or a lock release (writes already drained): the
    /// cache's dirty data goes to the OSDs, so the operation sees every acknowledged write.
    func flushCacheForMaintenance() async throws(RADOSError) {
        try await cache?.flush(self, user: false)
    }

    static func radosError(_ error: any Error) -> RADOSError {
        error as? RADOSError ?? RADOSError(.connectionFailed, "the request failed", details: "\(error)")
    }

    /// The slow path of a callback request (the header must be reread first): `work` runs
    /// on a task and its outcome goes to `completion`.
    static func onTask<Value: Sendable>(_ completion: @escaping @Sendable (Result<Value, RADOSError>) -> Void, _ work: @escaping @Sendable () async throws -> Value) {
        Task {
            do { completion(.success(try await work())) } catch { completion(.failure(radosError(error))) }
        }
    }

    /// Waits for a callback-style request: one continuation, no task.
    static func awaiting<Value: Sendable>(_ start: (@escaping @Sendable (Result<Value, RADOSError>) -> Void) -> Void) async throws(RADOSError) -> Value {
        try await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, RADOSError>, Never>) in
            start { continuation.resume(returning: $0) }
        }.get()
    }
}
