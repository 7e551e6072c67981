import NIOCore
import RADOSProto

/// Discard and write-zeroes, like librbd's `rbd_discard`/`rbd_write_zeroes`: admitted and
/// tracked like writes (Image+IO.swift), planned per object (`ImageIOPlan.discard`), and
/// kept in the object map (ceph/ceph `src/librbd/io/ObjectRequest.cc`,
/// `ObjectDiscardRequest`).
extension Image {

    /// Discards `length` bytes at `offset` like `rbd_discard`: whole objects are removed,
    /// object tails truncated, other ranges zeroed, and (with a `granularity` above 0)
    /// only whole `granularity`-aligned blocks of each object are discarded, the rest is
    /// left as it was. Returns the clipped length.
    @discardableResult
    public func discard(offset: UInt64, length: UInt64, granularity: UInt64 = Image.defaultDiscardGranularity) async throws(RADOSError) -> UInt64 {
        if let crypto = encryptionSlot.withLockedValue({ $0 }) {
            return try await Self.awaiting { encryptedZero(crypto, offset: offset, length: length, completion: $0) }
        }
        return try await Self.awaiting { startDiscard(offset: offset, length: length, granularity: granularity, completion: $0) }
    }

    /// A discard from admission to completion (as ``startWrite(offset:data:completion:)``).
    func startDiscard(offset: UInt64, length: UInt64, granularity: UInt64, completion: @escaping @Sendable (Result<UInt64, RADOSError>) -> Void) {
        if let ticket = writes.tryAdmit() {
            discard(ticket: ticket, offset: offset, length: length, granularity: granularity, completion: completion)
        } else {
            writes.admit { [self] in discard(ticket: $0, offset: offset, length: length, granularity: granularity, completion: completion) }
        }
    }

    private func discard(ticket: UInt64, offset: UInt64, length: UInt64, granularity: UInt64, completion: @escaping @Sendable (Result<UInt64, RADOSError>) -> Void) {
        admitted(ticket, { () throws(RADOSError) in try prepareDiscard(offset: offset, length: length, granularity: granularity) }, { perform($0, completion: $1) }, completion: completion)
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
    }

    func prepareDiscard(offset: UInt64, length: UInt64, granularity: UInt64) throws(RADOSError) -> PreparedDiscard {
        let view = ioView()
        guard !view.needsAttention else {
            return PreparedDiscard(view: view, offset: offset, length: length, granularity: granularity, operations: [])
        }
        return try prepareDiscard(view, offset: offset, length: length, granularity: granularity)
    }

    private func prepareDiscard(_ view: IOView, offset: UInt64, length: UInt64, granularity: UInt64) throws(RADOSError) -> PreparedDiscard {
        try checkWritable(view)
        let length = try ImageIOPlan.clip(offset: offset, length: length, size: view.size)
        let operations = ImageIOPlan.discard(view.layout, offset: offset, length: length, granularity: granularity)
        return PreparedDiscard(view: view, offset: offset, length: length, granularity: granularity, operations: operations)
    }

    /// Sends a prepared discard; returns the clipped length.
    func perform(_ prepared: PreparedDiscard) async throws(RADOSError) -> UInt64 {
        var discard = prepared
        if discard.view.needsAttention {
            discard = try prepareDiscard(try await currentView(), offset: discard.offset, length: discard.length, granularity: discard.granularity)
        }
        let ready = discard
        return try await Self.awaiting { send(ready, completion: $0) }
    }

    /// ``perform(_:)-(PreparedDiscard)`` without a task unless the header must be reread.
    func perform(_ prepared: PreparedDiscard, completion: @escaping @Sendable (Result<UInt64, RADOSError>) -> Void) {
        guard prepared.view.needsAttention else { return send(prepared, completion: completion) }
        Self.onTask(completion) { try await self.perform(prepared) }
    }

    private func send(_ discard: PreparedDiscard, completion: @escaping @Sendable (Result<UInt64, RADOSError>) -> Void) {
        let length = discard.length
        let fanOut = ObjectFanOut<Void>(count: discard.operations.count) { completion($0.map { _ in length }) }
        for (index, operation) in discard.operations.enumerated() {
            discardObject(discard.view, operation) { fanOut.finish(index, $0) }
        }
    }

    /// One object's part of a discard, through the cache if the image has one.
    func discardObject(_ view: IOView, _ operation: ImageIOPlan.ObjectDiscard, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        if let cache {
            return cache.discard(self, view: view, operation, completion: completion)
        }
        discardObjectOnOSD(view, operation, completion: completion)
    }

    /// One object's part of a discard on the OSDs, after the writes waiting in the I/O
    /// scheduler for that object.
    func discardObjectOnOSD(_ view: IOView, _ operation: ImageIOPlan.ObjectDiscard, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        guard let scheduler else { return sendObjectDiscard(view, operation, completion: completion) }
        scheduler.discard(self, object: operation.objectNumber) { [self] done in
            sendObjectDiscard(view, operation) { outcome in
                completion(outcome)
                done()
            }
        }
    }

    /// One object's part of a discard on the OSDs (`ObjectDiscardRequest`).
    func sendObjectDiscard(_ view: IOView, _ operation: ImageIOPlan.ObjectDiscard, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        if view.parentOverlap > 0, Self.hasParentData(view.layout, objectNumber: operation.objectNumber, overlap: view.parentOverlap) {
            return sendCloneObjectDiscard(view, operation, completion: completion)
        }
        if let map = view.objectMap {
            let objectNumber = operation.objectNumber
            let range = objectNumber..<objectNumber + 1
            let plain = { () -> IOView in
                var plain = view
                plain.objectMap = nil
                return plain
            }()
            switch (map[objectNumber], operation.action) {
            case (.nonexistent, _):
                // Nothing there: a discard of it changes nothing (librbd skips the op).
                return completion(.success(()))
            case (_, .remove):
                // PENDING while the removal is under way, NONEXISTENT once it is done.
                updateObjectMap(range, to: .pending) { [self] outcome in
                    guard case .success = outcome else { return completion(outcome) }
                    sendObjectDiscard(plain, operation) { [self] removed in
                        guard case .success = removed else { return completion(removed) }
                        updateObjectMap(range, to: .nonexistent, from: .pending, completion: completion)
                    }
                }
                return
            case (.exists, _):
                break
            default:
                updateObjectMap(range, to: .exists) { [self] outcome in
                    guard case .success = outcome else { return completion(outcome) }
                    sendObjectDiscard(plain, operation, completion: completion)
                }
                return
            }
        }
        let name = DataObjectName.make(prefix: view.prefix, objectNumber: operation.objectNumber)
        let ops: [OSDOp]
        switch operation.action {
        case .remove: ops = [.delete]
        case .truncate(let offset): ops = [.truncate(size: offset)]
        case .zero(let offset, let length): ops = [.zero(offset: offset, length: length)]
        }
        dataIO.operate(name, ops, snapContext: view.snapContext) { outcome in
            switch outcome {
            case .failure(let error) where error.code == .notFound && operation.action == .remove:
                completion(.success(()))  // Nothing to remove: it already reads as zeros.
            default:
                completion(outcome.map { _ in () })
            }
        }
    }

    /// A discard of a clone's object that stands for parent bytes, which must keep
    /// hiding them (librbd's discard with `OBJECT_DISCARD_FLAG_DISABLE_CLONE_REMOVE`): a
    /// whole object becomes an empty one (created and truncated when the image has no
    /// snapshots, else copied up and truncated so the snapshots keep the parent's bytes);
    /// a partial discard is guarded by `stat` and copied up first, like a write. No
    /// allocation hint, and the object map says the object exists.
    private func sendCloneObjectDiscard(_ view: IOView, _ operation: ImageIOPlan.ObjectDiscard, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        let objectNumber = operation.objectNumber
        let name = DataObjectName.make(prefix: view.prefix, objectNumber: objectNumber)
        let ops: [OSDOp]
        switch operation.action {
        case .remove where view.snapContext.snaps.isEmpty:
            // No copy-up: nothing of the parent's would survive it.
            markObjectExists(objectNumber) { [self] marked in
                guard case .success = marked else { return completion(marked) }
                dataIO.operate(name, [.create(exclusive: false), .truncate(size: 0)], snapContext: view.snapContext) { completion($0.map { _ in () }) }
            }
            return
        case .remove: ops = [.truncate(size: 0)]
        case .truncate(let offset): ops = [.truncate(size: offset)]
        case .zero(let offset, let length): ops = [.zero(offset: offset, length: length)]
        }
        let retry: @Sendable () -> Void = { [self] in sendObjectDiscard(view, operation, completion: completion) }
        sendGuardedForCopyUp(view, objectNumber, ops: ops, retry: retry, completion: completion)
    }
}
