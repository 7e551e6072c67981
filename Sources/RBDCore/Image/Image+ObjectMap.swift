import NIOCore
import RADOSProto

/// Keeping the object maps right through maintenance operations, as librbd's
/// `object_map::Snapshot{Create,Remove,Rollback}Request` and `ResizeRequest` do
/// (ceph/ceph `src/librbd/object_map/`, `src/librbd/operation/ResizeRequest.cc`).
/// Writes and discards update the head's map themselves (Image+IO.swift); these run
/// under the exclusive lock, with the head map loaded (``Image/withExclusiveLock(_:)``).
/// Loading, locking and invalidating the head's map when the lock is taken are here too.
extension Image {
    /// Whether the head's object map is loaded (the image has one and we hold the lock).
    var hasObjectMap: Bool { state.withLockedValue { $0.objectMap != nil } }

    /// The whole stored form of an object map object.
    private func readObjectMap(_ object: String) async throws(RADOSError) -> ByteBuffer {
        try await metadataIO.operate(object, [.read(offset: 0, length: 0)]).first ?? ByteBuffer()
    }

    /// After snapshot `snapID` was added (writes held back): the head's map is copied
    /// to the snapshot's, then (fast diff) EXISTS becomes EXISTS_CLEAN in the head's.
    func objectMapSnapshotCreated(_ snapID: UInt64) async throws(RADOSError) {
        guard hasObjectMap else { return }
        let stored = try await readObjectMap(objectMapObject)
        _ = try await metadataIO.operate(RBDObjectNames.objectMap(imageID: id, snapID: snapID), [.writeFull(stored)])
        guard info.features.contains(.fastDiff) else { return }
        _ = try await metadataIO.operate(objectMapObject, [Self.assertObjectMapLocked, ClsRBD.objectMapSnapAdd()])
        state.withLockedValue { $0.objectMap?.markClean() }
    }

    /// Before snapshot `snapID`'s map is deleted (fast diff): what changed between the
    /// snapshot before it and it is folded into the next newer map (a later snapshot's,
    /// or the head's), so fast diff from the earlier snapshot stays right.
    func objectMapSnapshotRemoving(_ snapID: UInt64) async throws(RADOSError) {
        guard hasObjectMap, info.features.contains(.fastDiff) else { return }
        let stored: ByteBuffer
        do {
            stored = try await readObjectMap(RBDObjectNames.objectMap(imageID: id, snapID: snapID))
        } catch where error.code == .notFound {
            return
        }
        if let next = snapshots.map(\.id).filter({ $0 > snapID }).min() {
            _ = try await metadataIO.operate(RBDObjectNames.objectMap(imageID: id, snapID: next), [ClsRBD.objectMapSnapRemove(removedMap: stored)])
            return
        }
        _ = try await metadataIO.operate(objectMapObject, [Self.assertObjectMapLocked, ClsRBD.objectMapSnapRemove(removedMap: stored)])
        guard let removed = try? ObjectMapBits.decode(stored) else { return }
        state.withLockedValue { state in
            guard var head = state.objectMap else { return }
            for object in 0..<head.count where head[object] == .existsClean && (object >= removed.count || removed[object] == .exists) {
                head[object] = .exists
            }
            state.objectMap = head
        }
    }

    /// Sizes the head's map for an image of `newSize` bytes (before the header grows,
    /// after the data past a shrink was trimmed); new objects do not exist.
    func objectMapResize(toImageSize newSize: UInt64) async throws(RADOSError) {
        guard hasObjectMap else { return }
        let count = Striper.objectCount(layout, imageSize: newSize)
        _ = try await metadataIO.operate(objectMapObject, [Self.assertObjectMapLocked, ClsRBD.objectMapResize(objectCount: count, defaultState: .nonexistent)])
        state.withLockedValue { $0.objectMap?.resize(to: count) }
    }

    /// After a trim: the objects it removed whole are marked as not existing (the
    /// object class refuses to shrink a map over objects it says exist), the ones it
    /// cut as changed.
    func objectMapTrimmed(_ plan: ImageTrim.Plan) async throws(RADOSError) {
        guard hasObjectMap else { return }
        if !plan.removed.isEmpty {
            try await Self.awaiting { updateObjectMap(plan.removed, to: .nonexistent, completion: $0) }
        }
        for cut in plan.cut {
            let range = cut.objectNumber..<cut.objectNumber + 1
            if cut.length == 0 {
                try await Self.awaiting { updateObjectMap(range, to: .nonexistent, completion: $0) }
            } else if state.withLockedValue({ $0.objectMap?[cut.objectNumber] == .existsClean }) {
                // Cut short, it changed since the last snapshot (fast diff).
                try await Self.awaiting { updateObjectMap(range, to: .exists, completion: $0) }
            }
        }
    }

    /// After a rollback to snapshot `snapID`: the head's map becomes the snapshot's.
    func objectMapRolledBack(to snapID: UInt64) async throws(RADOSError) {
        guard hasObjectMap else { return }
        let stored = try await readObjectMap(RBDObjectNames.objectMap(imageID: id, snapID: snapID))
        _ = try await metadataIO.operate(objectMapObject, [Self.assertObjectMapLocked, .writeFull(stored)])
        let map = try? ObjectMapBits.decode(stored)
        state.withLockedValue { $0.objectMap = map }
        if map == nil { try await invalidateObjectMap() }
    }

    /// Marks object `number` as existing in the head's map before a write to it: at once
    /// when the map (as it is now, not as a request's view saw it) says so already; else
    /// one update per object, which every write needing it waits for (many writes to a
    /// fresh object in flight at once would otherwise send one update each, queued one
    /// after another on the map's object, as librbd's object map guards against too).
    func markObjectExists(_ number: UInt64, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        enum Step { case done, wait, send }
        let step: Step = state.withLockedValue { state in
            guard let map = state.objectMap, map[number] != .exists else { return .done }
            if state.existsUpdates[number] != nil {
                state.existsUpdates[number]?.append(completion)
                return .wait
            }
            state.existsUpdates[number] = [completion]
            return .send
        }
        switch step {
        case .done: completion(.success(()))
        case .wait: break
        case .send:
            updateObjectMap(number..<number + 1, to: .exists) { [state] outcome in
                let waiting = state.withLockedValue { $0.existsUpdates.removeValue(forKey: number) } ?? []
                for waiter in waiting { waiter(outcome) }
            }
        }
    }
}

extension Image {
    // MARK: loading, locking and invalidating the head's map

    /// Locks `rbd_object_map.<id>` (breaking a stale holder's lock, as librbd's
    /// `object_map::LockRequest` does), reads it and sizes it to the image.
    func openObjectMap() async throws(RADOSError) -> ObjectMapBits? {
        let object = objectMapObject
        let lock = ClsLock.lock(name: ImageNotify.lockName, type: .exclusive, cookie: "", tag: "", description: "", duration: UTime(seconds: 0, nanoseconds: 0), flags: [])
        do {
            _ = try await metadataIO.operate(object, [lock])
        } catch where error.errno == 16 {
            let output = try await metadataIO.operate(object, [ClsLock.getInfo(name: ImageNotify.lockName)]).first ?? ByteBuffer()
            if let info = try? ClsLock.decodeInfo(output) {
                for locker in info.lockers {
                    _ = try? await metadataIO.operate(object, [ClsLock.breakLock(name: ImageNotify.lockName, locker: locker.entity, cookie: locker.cookie)])
                }
            }
            _ = try await metadataIO.operate(object, [lock])
        } catch where error.errno == 17 {}
        let stored: ByteBuffer
        do {
            stored = try await metadataIO.operate(object, [.read(offset: 0, length: 0)]).first ?? ByteBuffer()
        } catch where error.code == .notFound {
            try await invalidateObjectMap()
            return nil
        }
        var map: ObjectMapBits
        do { map = try ObjectMapBits.decode(stored) } catch {
            try await invalidateObjectMap()
            return nil
        }
        let expected = Striper.objectCount(layout, imageSize: info.size)
        if map.count != expected {
            _ = try await metadataIO.operate(object, [Self.assertObjectMapLocked, ClsRBD.objectMapResize(objectCount: expected, defaultState: .nonexistent)])
            map.resize(to: expected)
        }
        return map
    }

    /// Flags the head's object map (and fast diff) invalid, as librbd does when it cannot
    /// trust or update it (`object_map::InvalidateRequest`); `rbd object-map rebuild`
    /// repairs it.
    func invalidateObjectMap() async throws(RADOSError) {
        let flags = ClsRBD.flagObjectMapInvalid | ClsRBD.flagFastDiffInvalid
        _ = try await metadataIO.operate(headerObject, [ClsRBD.setFlags(flags, mask: flags, snapID: MOSDOp.noSnap)])
    }

    /// What every change to the head's object map asserts: we hold its lock.
    static let assertObjectMapLocked = ClsLock.assertLocked(name: ImageNotify.lockName, type: .exclusive, cookie: "", tag: "")

    /// Sets objects `range` to `newState` in the head's object map (only those in
    /// `current` when given), on disk first, then in memory; `completion` gets the outcome.
    func updateObjectMap(_ range: Range<UInt64>, to newState: ClsRBD.ObjectState, from current: ClsRBD.ObjectState? = nil, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        let ops = [Self.assertObjectMapLocked, ClsRBD.objectMapUpdate(start: range.lowerBound, end: range.upperBound, state: newState, currentState: current)]
        metadataIO.operate(objectMapObject, ops) { [state] outcome in
            switch outcome {
            case .success:
                state.withLockedValue { $0.objectMap?.update(range, to: newState, from: current) }
                completion(.success(()))
            case .failure(let error):
                completion(.failure(error))
            }
        }
    }
}
