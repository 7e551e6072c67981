import NIOCore
import RADOSProto

/// Unrecording a clone from its parent when the clone goes away or stops needing it
/// (removal, flatten), as librbd's `DetachChildRequest` does (ceph/ceph
/// `src/librbd/image/DetachChildRequest.cc`).
extension Image {
    /// Removes the record that image `childID` (in `childIO`'s pool and namespace) is a
    /// clone of `parent`, then, for clone format 2, removes the parent snapshot when it
    /// waits in the trash namespace and this was its last clone.
    ///
    /// - Clone format 2 (`childOperationFeatures` has clone-child): `child_detach` on the
    ///   parent's header (a missing record, parent or parent pool is not an error); then
    ///   `snapshot_get` of the parent snapshot: if it is in the trash namespace with no
    ///   children left, the parent is opened for writing and the snapshot removed like
    ///   `rbd snap rm` does (object map, header entry, snap id; the parent's clone-parent
    ///   operation feature is cleared by the OSD once no snapshot has children). Failures
    ///   of that cleanup are not errors, as in librbd: the snapshot stays in the trash.
    /// - Clone format 1: `remove_child` on `rbd_children` of the child's pool (a missing
    ///   entry is not an error).
    ///
    /// Call it while the child's header still exists, with the parent from its
    /// `parent_get` and the operation features from its header (``ImageInfo/operationFeatures``).
    /// Not done (librbd does): removing a parent image that waits in the image trash for
    /// its last clone (`rbd trash mv` of a parent).
    ///
    /// - Throws: ``RADOSError`` from the detach call itself.
    package static func detachFromParent(childIO: IOContext, childID: String, parent: ClsRBD.ParentSpec, childOperationFeatures: UInt64) async throws(RADOSError) {
        guard childOperationFeatures & ClsRBD.operationCloneChild != 0 else {
            // Format 1 records live in the child's pool; they carry no namespace.
            var spec = parent
            spec.poolNamespace = ""
            do {
                _ = try await childIO.operate(ClsRBD.childrenObject, [ClsRBD.removeChild(parent: spec, childID: childID)])
            } catch where error.code == .notFound {}
            return
        }
        var parentIO: IOContext
        do {
            parentIO = try await childIO.ioContext(poolID: parent.poolID)
        } catch where error.code == .notFound {
            return  // the parent's pool is gone, and the record with it
        }
        parentIO.namespace = parent.poolNamespace
        let parentHeader = RBDObjectNames.header(imageID: parent.imageID)
        let child = ClsRBD.ChildSpec(poolID: childIO.poolID, poolNamespace: childIO.namespace, imageID: childID)
        do {
            _ = try await parentIO.operate(parentHeader, [ClsRBD.childDetach(snapID: parent.snapID, child: child)])
        } catch where error.code == .notFound {}
        await removeTrashedSnapshotIfUnused(parentIO, parentID: parent.imageID, snapID: parent.snapID)
    }

    /// The rest of format 2's detach: the parent snapshot goes when it is in the trash
    /// namespace without children. Any failure leaves it there.
    private static func removeTrashedSnapshotIfUnused(_ parentIO: IOContext, parentID: String, snapID: UInt64) async {
        let header = RBDObjectNames.header(imageID: parentID)
        guard let output = try? await parentIO.operate(header, [ClsRBD.snapshotGet(id: snapID)]).first,
              let info = try? ClsRBD.decodeSnapshotInfo(output),
              info.namespaceType == ClsRBD.SnapshotInfo.trashNamespace, info.childCount == 0
        else { return }
        guard let image = try? await open(parentIO, id: parentID) else { return }
        try? await image.removeTrashedSnapshot(id: snapID)
        try? await image.close()
    }

    /// Removes snapshot `id` of this image (opened for writing) if it is in the trash
    /// namespace and has no clones left, under the exclusive lock.
    ///
    /// Unlike ``removeSnapshot(named:)`` this works on an image that is itself a clone:
    /// removing a snapshot writes no data object.
    func removeTrashedSnapshot(id snapID: UInt64) async throws(RADOSError) {
        try checkOpen()
        if isReadOnly { throw RADOSError(.permissionDenied, "image \(name) is open read-only", errno: 30) }
        let blocking = info.features.intersection(Self.unhonouredWriteFeatures)
        if !blocking.isEmpty {
            throw RADOSError(.unsupported, "image \(name) has features SwiftRBD cannot yet honour when writing (\(blocking.names.joined(separator: ", ")))", errno: 30)
        }
        try await withExclusiveLock { () throws(RADOSError) in
            try await refresh()
            guard let snapshot = snapshots.first(where: { $0.id == snapID }), snapshot.namespaceType == ClsRBD.SnapshotInfo.trashNamespace else { return }
            try await removeSnapshotLocked(snapshot)
        }
    }
}
