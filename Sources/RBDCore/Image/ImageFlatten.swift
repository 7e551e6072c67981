import NIOCore
import RADOSProto

/// Flattening a clone, like `rbd flatten` (ceph/ceph `src/librbd/operation/FlattenRequest.cc`,
/// `src/librbd/image/DetachParentRequest.cc`, `src/librbd/image/DetachChildRequest.cc`).
///
/// Every object below the parent overlap that may not exist yet is copied up, as a write
/// of no bytes would copy it up (so the clone's snapshots get the parent's bytes too, and
/// an object whose parent bytes are all zeros is left out); then the clone is taken off
/// the parent's list of children (unless snapshots of an image without deep-flatten
/// still read through to the parent) and its header stops naming the parent.
extension Image {
    /// Copies every byte the clone still reads from its parent into the clone and
    /// detaches it from the parent (`rbd flatten`). Needs the exclusive lock (taken, or
    /// asked of its owner, like other maintenance operations).
    ///
    /// - Throws: ``RADOSError`` `.invalidArgument` (EINVAL) when the image is not a
    ///   clone; the errors of ``checkWritable()``.
    /// `progress` hears objects done, of how many (when it runs here, not at the owner).
    public func flatten(progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws(RADOSError) {
        try checkWritable()
        try await withLockOwner({ .flatten($0) }) { () throws(RADOSError) in try await flattenLocked(progress: progress) }
    }

    func flattenLocked(progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws(RADOSError) {
        try await refresh()
        let view = ioView()
        guard let parentSpec = info.parent, info.parentOverlap != nil, parent != nil else {
            throw RADOSError(.invalidArgument, "image \(name) has no parent: only a clone can be flattened", errno: 22)
        }
        let count = Striper.objectCount(view.layout, imageSize: view.parentOverlap)
        try await ImageTrim.forEach(0..<count, progress: progress) { number in
            try await Self.awaiting { self.flattenObject(view, number, completion: $0) }
        }
        if info.features.contains(.deepFlatten) || snapshots.isEmpty {
            try await Self.detachFromParent(childIO: metadataIO, childID: id, parent: parentSpec, childOperationFeatures: info.operationFeatures)
        }
        do {
            _ = try await metadataIO.operate(headerObject, [ClsRBD.parentDetach()])
        } catch where error.errno == 95 {
            _ = try await metadataIO.operate(headerObject, [ClsRBD.removeParent()])
        } catch where error.code == .notFound {}
        try await refresh()
        try await headerChanged()
    }

    /// One object of a flatten (`FlattenRequest`'s `C_FlattenObject`): skipped when the
    /// object map says it exists; else a guarded write of no bytes, copied up on ENOENT.
    private func flattenObject(_ view: IOView, _ number: UInt64, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        let mapState = state.withLockedValue { $0.objectMap.map { $0[number] } }
        if mapState == .exists || mapState == .existsClean { return completion(.success(())) }
        guard Self.hasParentData(view.layout, objectNumber: number, overlap: view.parentOverlap) else { return completion(.success(())) }
        let retry: @Sendable () -> Void = { [self] in flattenObject(view, number, completion: completion) }
        sendGuardedForCopyUp(view, number, ops: [.write(offset: 0, data: ByteBuffer())], isEmptyWrite: true, retry: retry, completion: completion)
    }
}
