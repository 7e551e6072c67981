import NIOCore
import RADOSProto

/// Writing a clone: copy-up, as librbd does it (ceph/ceph `src/librbd/io/CopyupRequest.cc`,
/// `src/librbd/io/ObjectRequest.cc` `AbstractObjectWriteRequest`).
///
/// A clone's data object that does not exist yet stands for the parent's bytes (up to
/// the parent overlap). A write to part of it must not hide the rest of those bytes, so
/// before the first write the object is filled from the parent, on the OSD and
/// atomically with the write: the write is sent guarded by an existence check (`stat`),
/// and when the OSD answers ENOENT (or the object map already says the object does not
/// exist) the parent's bytes for the whole object are read and sent as `sparse_copyup`
/// (which writes only into an object that does not exist) in front of the write's own
/// ops. With snapshots of the clone (and parent bytes that are not all zeros) the
/// copy-up goes alone first, with an empty snap context, so that the OSD keeps the
/// parent's bytes for those snapshots when the write follows with the image's snap
/// context ("deep" copy-up); their object maps then say the object exists (the oldest
/// snapshot's as changed, the newer ones, with fast diff, as clean).
///
/// A write covering a whole object of an image without snapshots needs no copy-up: it
/// replaces every byte. Copy-ups of one object share one parent read: requests that find
/// one under way wait for it and then write as if the object had always existed.
extension Image {
    /// Whether object `objectNumber` stands for parent bytes: its first byte in the image
    /// lies below the parent overlap (`ObjectRequest::compute_parent_extents`).
    static func hasParentData(_ layout: StripeLayout, objectNumber: UInt64, overlap: UInt64) -> Bool {
        guard overlap > 0 else { return false }
        guard let first = Striper.imageExtents(layout, objectNumber: objectNumber, offset: 0, length: 1).first else { return false }
        return first.offset < overlap
    }

    /// The allocated runs of a copy-up's parent bytes and their data: runs of 4 KiB
    /// blocks that are not all zeros (zeros need not be written: the object reads as
    /// zeros where nothing was). Empty when the parent bytes are all zeros.
    static func copyUpExtents(_ bytes: ByteBuffer) -> (extents: [(offset: UInt64, length: UInt64)], data: ByteBuffer) {
        let block = 4096
        var extents: [(offset: UInt64, length: UInt64)] = []
        var data = ByteBuffer()
        bytes.withUnsafeReadableBytes { raw in
            var position = 0
            while position < raw.count {
                let end = min(position + block, raw.count)
                var zero = true
                for index in position..<end where raw[index] != 0 {
                    zero = false
                    break
                }
                if !zero {
                    if let last = extents.last, last.offset + last.length == UInt64(position) {
                        extents[extents.count - 1].length += UInt64(end - position)
                    } else {
                        extents.append((UInt64(position), UInt64(end - position)))
                    }
                    data.writeBytes(UnsafeRawBufferPointer(rebasing: raw[position..<end]))
                }
                position = end
            }
        }
        return (extents, data)
    }

    /// Sends a write-type request to an object that stands for parent bytes, copy-up
    /// enabled (`AbstractObjectWriteRequest`): copies up at once when the object map
    /// says the object does not exist; else marks it existing and sends `ops` guarded by
    /// `stat` (then `hint`, when given), copying up on ENOENT.
    func sendGuardedForCopyUp(_ view: IOView, _ objectNumber: UInt64, hint: OSDOp? = nil, ops: [OSDOp], isEmptyWrite: Bool = false, retry: @escaping @Sendable () -> Void, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        if state.withLockedValue({ $0.objectMap.map { $0[objectNumber] == .nonexistent } ?? false }) {
            return copyUp(view, objectNumber, writeOps: ops, headState: .exists, isEmptyWrite: isEmptyWrite, retry: retry, completion: completion)
        }
        markObjectExists(objectNumber) { [self] marked in
            guard case .success = marked else { return completion(marked) }
            let name = DataObjectName.make(prefix: view.prefix, objectNumber: objectNumber)
            dataIO.operate(name, [.stat] + (hint.map { [$0] } ?? []) + ops, snapContext: view.snapContext) { [self] outcome in
                switch outcome {
                case .failure(let error) where error.code == .notFound:
                    copyUp(view, objectNumber, writeOps: ops, headState: .exists, isEmptyWrite: isEmptyWrite, retry: retry, completion: completion)
                default:
                    completion(outcome.map { _ in () })
                }
            }
        }
    }

    /// Fills object `objectNumber` from the parent and applies `writeOps` (the request's
    /// own ops, unguarded): object maps first (the head's to `headState`), then the
    /// copy-up. A flatten's copy-up (`writeOps` a write of no bytes) is skipped when the
    /// parent's bytes are all zeros, as librbd skips an empty write's. `retry` runs
    /// instead when another copy-up of the object is under way, once it is done (the
    /// object exists then).
    func copyUp(_ view: IOView, _ objectNumber: UInt64, writeOps: [OSDOp], headState: ClsRBD.ObjectState, isEmptyWrite: Bool = false, retry: @escaping @Sendable () -> Void, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        let first: Bool = state.withLockedValue { state in
            if state.copyUps[objectNumber] != nil {
                state.copyUps[objectNumber]?.append(retry)
                return false
            }
            state.copyUps[objectNumber] = []
            return true
        }
        guard first else { return }
        let done: @Sendable (Result<Void, RADOSError>) -> Void = { [state] outcome in
            completion(outcome)
            let waiting = state.withLockedValue { $0.copyUps.removeValue(forKey: objectNumber) } ?? []
            for waiter in waiting { waiter() }
        }
        guard let parent else { return done(.failure(RADOSError(.malformedData, "image \(name) has parent data but no parent is open"))) }
        let objectSize = view.layout.objectSize
        readFromParent(parent, objectNumber: objectNumber, offset: 0, length: objectSize, overlap: view.parentOverlap, layout: view.layout) { [self] outcome in
            let parentBytes: ByteBuffer
            switch outcome {
            case .failure(let error) where error.code != .notFound:
                return done(.failure(error))
            case .success(let result):
                parentBytes = result.bytes(offset: 0, length: objectSize)
            case .failure:
                parentBytes = ByteBuffer()
            }
            let (extents, data) = Self.copyUpExtents(parentBytes)
            if extents.isEmpty && isEmptyWrite { return done(.success(())) }
            // Snapshots keep the parent's bytes only when there are some (librbd leaves
            // them, and the separate copy-up, out for all-zero parent data).
            let snapshots = extents.isEmpty ? [] : view.snapContext.snaps.sorted()
            updateCopyUpObjectMaps(objectNumber, snapshots: snapshots, headState: headState, fastDiff: view.features.contains(.fastDiff)) { [self] mapped in
                guard case .success = mapped else { return done(mapped) }
                let object = DataObjectName.make(prefix: view.prefix, objectNumber: objectNumber)
                let copy = [ClsRBD.sparseCopyup(extents: extents, data: data), OSDOp.setAllocHint(expectedObjectSize: objectSize, expectedWriteSize: objectSize, opFlags: [])]
                guard snapshots.isEmpty else {
                    // Alone first, with no snap context, so that the OSD keeps the
                    // parent's bytes for the snapshots when the write follows.
                    dataIO.operate(object, copy, snapContext: .empty) { [self] copied in
                        if case .failure(let error) = copied, error.code != .notFound { return done(.failure(error)) }
                        dataIO.operate(object, writeOps, snapContext: view.snapContext) { done($0.map { _ in () }) }
                    }
                    return
                }
                dataIO.operate(object, copy + writeOps, snapContext: view.snapContext) { done($0.map { _ in () }) }
            }
        }
    }

    /// A copy-up's object map updates (`CopyupRequest::update_object_maps`), when the
    /// head's map is loaded: each snapshot's map says the object exists (the oldest as
    /// changed, the newer ones as clean with fast diff), and the head's is set to
    /// `headState` unless it says so already.
    private func updateCopyUpObjectMaps(_ objectNumber: UInt64, snapshots: [UInt64], headState: ClsRBD.ObjectState, fastDiff: Bool, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        let headCurrent: ClsRBD.ObjectState? = state.withLockedValue { state in state.objectMap.map { $0[objectNumber] } }
        guard let headCurrent else { return completion(.success(())) }
        let updateHead = headCurrent != headState
        let count = snapshots.count + (updateHead ? 1 : 0)
        guard count > 0 else { return completion(.success(())) }
        let fanOut = ObjectFanOut<Void>(count: count) { completion($0.map { _ in () }) }
        for (index, snapID) in snapshots.enumerated() {
            let snapState: ClsRBD.ObjectState = fastDiff && index > 0 ? .existsClean : .exists
            let update = ClsRBD.objectMapUpdate(start: objectNumber, end: objectNumber + 1, state: snapState, currentState: nil)
            metadataIO.operate(RBDObjectNames.objectMap(imageID: id, snapID: snapID), [update]) { outcome in
                switch outcome {
                case .failure(let error) where error.code != .notFound: fanOut.finish(index, .failure(error))
                default: fanOut.finish(index, .success(()))
                }
            }
        }
        if updateHead {
            updateObjectMap(objectNumber..<objectNumber + 1, to: headState) { fanOut.finish(snapshots.count, $0) }
        }
    }
}
