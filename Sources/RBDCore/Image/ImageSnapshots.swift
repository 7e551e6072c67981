import NIOCore
import RADOSProto

/// Snapshot operations on an open image, as librbd performs them (ceph/ceph
/// `src/librbd/operation/Snapshot{Create,Remove,Rename,Protect,Unprotect,Rollback}Request.cc`,
/// `src/librbd/Operations.cc`). Snapshots are self-managed: the monitor allocates the id
/// in the data pool, the header records it, writes carry it in their snap context.
///
/// Creating, removing and rolling back snapshots change data objects or what librbd
/// keeps per object (object map, fast diff); they are refused, like writes, for images
/// with features SwiftRBD does not maintain (``checkWritable()``). Renaming and
/// (un)protecting only touch the header and work on every image. Each operation that
/// changed the header tells the image's other clients (``headerChanged()``), so they
/// write with the new snap context from then on.
extension Image {
    /// The snapshot named `name`, from a fresh read of the header.
    func snapshot(named name: String) async throws(RADOSError) -> Snapshot {
        try await refresh()
        // Names are looked up outside the trash, as librbd does (a trashed snapshot's
        // name is a UUID; its old name is free again).
        guard let snapshot = snapshots.first(where: { $0.name == name && $0.namespaceType != ClsRBD.SnapshotInfo.trashNamespace }) else {
            throw RADOSError(.notFound, "snapshot \(name) of image \(self.name) does not exist", errno: 2)
        }
        return snapshot
    }

    /// Takes a snapshot of the image named `name` (`rbd snap create`). Writes issued
    /// through this image before the call are in the snapshot; writes issued while it
    /// runs wait for it and are not.
    ///
    /// - Throws: ``RADOSError`` `.alreadyExists` when the name is taken.
    public func createSnapshot(named name: String) async throws(RADOSError) {
        try checkWritable()
        try await withLockOwner({ .snapCreate($0, name: name, namespace: .user, flags: 0) }) { () throws(RADOSError) in
            try await createSnapshotLocked(named: name)
        }
    }

    func createSnapshotLocked(named name: String) async throws(RADOSError) {
        guard !name.isEmpty else { throw RADOSError(.invalidArgument, "snapshot name was not specified") }
        try await refresh()
        if snapshots.contains(where: { $0.name == name }) {
            throw RADOSError(.alreadyExists, "snapshot \(name) of image \(self.name) already exists", errno: 17)
        }
        // Our own writes are held back and the ones in flight drained first, as librbd
        // does (`SnapshotCreateRequest::send_suspend_requests`): a write issued before
        // this call is in the snapshot, one issued during it waits and goes out with the
        // new snap context, so none lands on an ambiguous side.
        await writes.blockAndDrain()
        var blocked = true
        defer { if blocked { writes.unblock() } }
        // What the cache acknowledged belongs in the snapshot too.
        try await flushCacheForMaintenance()
        // A stale id (one the header's seq has passed) is retried with a new one, as
        // librbd does on ESTALE.
        for _ in 0..<3 {
            let snapID = try await dataIO.selfManagedSnapCreate()
            do {
                _ = try await metadataIO.operate(headerObject, [ClsRBD.snapshotAdd(id: snapID, name: name)])
            } catch {
                try? await dataIO.selfManagedSnapRemove(snapID)
                if error.errno == 116 { continue }
                if error.errno == 17 { throw RADOSError(.alreadyExists, "snapshot \(name) of image \(self.name) already exists", errno: 17) }
                throw error
            }
            do {
                try await objectMapSnapshotCreated(snapID)
            } catch {
                try? await invalidateObjectMap()
            }
            // Our view first (the held-back writes go out with the new snap context),
            // then the other clients are told, without holding our writes meanwhile.
            try await refresh()
            blocked = false
            writes.unblock()
            try await headerChanged()
            return
        }
        throw RADOSError(.clusterError, "the snapshot sequence kept moving while creating snapshot \(name)", errno: 116)
    }

    /// Removes snapshot `name` (`rbd snap rm`) as librbd's `SnapshotRemoveRequest` does:
    /// the snapshot first moves to the trash namespace (`snapshot_trash_add`); while
    /// clone-format-2 clones still use it, it stays there (the call succeeds, and the
    /// last clone to go removes it, see ``detachFromParent(childIO:childID:parent:childOperationFeatures:)``);
    /// otherwise its object map, header entry and self-managed snap id go, so the OSDs
    /// trim its data.
    ///
    /// - Throws: ``RADOSError`` `.notFound`; EBUSY when the snapshot is protected (or
    ///   has clones and the OSDs have no snapshot trash).
    public func removeSnapshot(named name: String) async throws(RADOSError) {
        try checkWritable()
        try await withLockOwner({ .snapRemove($0, name: name, namespace: .user) }) { () throws(RADOSError) in
            try await removeSnapshotLocked(named: name)
        }
    }

    func removeSnapshotLocked(named name: String) async throws(RADOSError) {
        let snapshot = try await snapshot(named: name)
        if snapshot.isProtected {
            throw RADOSError(.clusterError, "snapshot '\(name)' is protected from removal.", errno: 16)
        }
        try await removeSnapshotLocked(snapshot)
    }

    /// librbd's `SnapshotRemoveRequest` from `trash_snap` on (the snapshot may already
    /// be in the trash namespace): the caller holds the exclusive lock.
    func removeSnapshotLocked(_ snapshot: Snapshot) async throws(RADOSError) {
        var trashed = false
        if snapshot.namespaceType != ClsRBD.SnapshotInfo.trashNamespace {
            do {
                _ = try await metadataIO.operate(headerObject, [ClsRBD.snapshotTrashAdd(id: snapshot.id)])
                trashed = true
            } catch where error.errno == 95 {
                // OSDs without a snapshot trash (before Mimic): removed outright or refused.
            } catch where error.errno == 17 {
                trashed = true
            }
        }
        let info = try await snapshotInfo(snapshot.id)
        if info.childCount > 0 {
            // Clones still read from it: it waits in the trash for the last one to go.
            guard trashed else {
                throw RADOSError(.clusterError, "snapshot '\(snapshot.name)' has \(info.childCount) linked clone(s)", errno: 16)
            }
            try await headerChanged()
            return
        }
        do {
            try await objectMapSnapshotRemoving(snapshot.id)
        } catch {
            try? await invalidateObjectMap()
        }
        _ = try await metadataIO.operate(headerObject, [ClsRBD.snapshotRemove(id: snapshot.id)])
        do {
            try await metadataIO.remove(RBDObjectNames.objectMap(imageID: id, snapID: snapshot.id))
        } catch where error.code == .notFound {}
        try await dataIO.selfManagedSnapRemove(snapshot.id)
        try await headerChanged()
    }

    /// Removes every unprotected user snapshot (`rbd snap purge`) and returns the names
    /// of the protected ones it kept, which, as rbd, it does not count as a failure.
    @discardableResult
    public func purgeSnapshots() async throws(RADOSError) -> [String] {
        try checkWritable()
        try await refresh()
        var kept: [String] = []
        for snapshot in snapshots where snapshot.namespaceType == ClsRBD.SnapshotInfo.userNamespace {
            if snapshot.isProtected {
                kept.append(snapshot.name)
            } else {
                try await removeSnapshot(named: snapshot.name)
            }
        }
        return kept
    }

    /// Renames snapshot `name` to `newName` (`rbd snap rename`).
    ///
    /// - Throws: ``RADOSError`` `.notFound`; `.alreadyExists` when `newName` is taken.
    public func renameSnapshot(named name: String, to newName: String) async throws(RADOSError) {
        guard !isReadOnly else { throw RADOSError(.permissionDenied, "image \(self.name) is open read-only", errno: 30) }
        let snapshot = try await snapshot(named: name)
        try await renameSnapshot(snapshot, to: newName)
    }

    /// Renames the snapshot with id `snapID` (a request from another client, which names
    /// it by id) to `newName`.
    func renameSnapshot(id snapID: UInt64, to newName: String) async throws(RADOSError) {
        try await refresh()
        guard let snapshot = snapshots.first(where: { $0.id == snapID }) else {
            throw RADOSError(.notFound, "snapshot \(snapID) of image \(self.name) does not exist", errno: 2)
        }
        try await renameSnapshot(snapshot, to: newName)
    }

    private func renameSnapshot(_ snapshot: Snapshot, to newName: String) async throws(RADOSError) {
        if snapshots.contains(where: { $0.name == newName }) {
            throw RADOSError(.alreadyExists, "snapshot \(newName) of image \(self.name) already exists", errno: 17)
        }
        _ = try await metadataIO.operate(headerObject, [ClsRBD.snapshotRename(id: snapshot.id, to: newName)])
        try await headerChanged()
    }

    /// Protects snapshot `name` so it can be cloned and cannot be removed (`rbd snap
    /// protect`). Needs the layering feature.
    ///
    /// - Throws: ``RADOSError`` `.notFound`; ENOSYS without layering; EBUSY when it is
    ///   already protected.
    public func protectSnapshot(named name: String) async throws(RADOSError) {
        guard !isReadOnly else { throw RADOSError(.permissionDenied, "image \(self.name) is open read-only", errno: 30) }
        let snapshot = try await snapshot(named: name)
        guard info.features.contains(.layering) else {
            throw RADOSError(.unsupported, "image must support layering", errno: 38)
        }
        if snapshot.isProtected { throw RADOSError(.clusterError, "snap is already protected", errno: 16) }
        _ = try await metadataIO.operate(headerObject, [ClsRBD.setProtectionStatus(snapID: snapshot.id, status: ClsRBD.ProtectionStatus.protected.rawValue)])
        try await headerChanged()
    }

    /// Unprotects snapshot `name` (`rbd snap unprotect`) unless clones depend on it.
    ///
    /// As librbd: the status goes to "unprotecting" while children are looked for (the
    /// snapshot's clone-format-2 child count, and `rbd_children` of the image's pool for
    /// format 1 clones), then to unprotected, or back to protected when there are some.
    ///
    /// - Throws: ``RADOSError`` `.notFound`; EINVAL when it is not protected; EBUSY when
    ///   it has clones.
    public func unprotectSnapshot(named name: String) async throws(RADOSError) {
        guard !isReadOnly else { throw RADOSError(.permissionDenied, "image \(self.name) is open read-only", errno: 30) }
        let snapshot = try await snapshot(named: name)
        guard snapshot.isProtected else { throw RADOSError(.invalidArgument, "snap is already unprotected") }
        _ = try await metadataIO.operate(headerObject, [ClsRBD.setProtectionStatus(snapID: snapshot.id, status: ClsRBD.ProtectionStatus.unprotecting.rawValue)])
        var children = 0
        do throws(RADOSError) {
            let info = try await snapshotInfo(snapshot.id)
            children = Int(info.childCount)
            if children == 0 {
                do {
                    let output = try await metadataIO.operate("rbd_children", [ClsRBD.getChildren(poolID: metadataIO.poolID, imageID: id, snapID: snapshot.id)])
                    children = try ImageInfo.decode { try ClsRBD.decodeChildren(output.first ?? ByteBuffer()) }.count
                } catch where error.code == .notFound {}
            }
        } catch {
            _ = try? await metadataIO.operate(headerObject, [ClsRBD.setProtectionStatus(snapID: snapshot.id, status: ClsRBD.ProtectionStatus.protected.rawValue)])
            throw error
        }
        let status: ClsRBD.ProtectionStatus = children > 0 ? .protected : .unprotected
        _ = try await metadataIO.operate(headerObject, [ClsRBD.setProtectionStatus(snapID: snapshot.id, status: status.rawValue)])
        try await headerChanged()
        if children > 0 {
            throw RADOSError(.clusterError, "cannot unprotect: at least \(children) child(ren) in pool \(metadataIO.poolName)", errno: 16)
        }
    }

    /// Makes the head what it was at snapshot `name` (`rbd snap rollback`): the head is
    /// resized to the snapshot's size (trimming past it), then every data object the
    /// snapshot can have is rolled back with `CEPH_OSD_OP_ROLLBACK` under the head snap
    /// context; objects that did not exist at the snapshot are removed by the OSD.
    /// Clients with the image open are told of the new size (as librbd, they are not
    /// stopped from writing meanwhile: roll back an image nobody writes to).
    public func rollback(toSnapshot name: String) async throws(RADOSError) {
        try checkWritable()
        try await withExclusiveLock { () throws(RADOSError) in try await rollbackLocked(toSnapshot: name) }
    }

    private func rollbackLocked(toSnapshot name: String) async throws(RADOSError) {
        let snapshot = try await snapshot(named: name)
        // Writes in flight and the cache's dirty data land before the rollback, and the
        // cache forgets the head's bytes after it (librbd's `SnapshotRollbackRequest`).
        await writes.blockAndDrain()
        defer { writes.unblock() }
        try await flushCacheForMaintenance()
        do {
            try await rollbackLocked(to: snapshot)
        } catch {
            try? await cache?.invalidate()
            throw error
        }
        try? await cache?.invalidate()
    }

    private func rollbackLocked(to snapshot: Snapshot) async throws(RADOSError) {
        let info = self.info
        let layout = self.layout
        if snapshot.size < info.size {
            try await ImageTrim.trim(dataIO, prefix: info.blockNamePrefix, layout: layout, from: info.size, to: snapshot.size, snapContext: info.snapContext)
        }
        if snapshot.size != info.size {
            _ = try await metadataIO.operate(headerObject, [ClsRBD.setSize(snapshot.size)])
        }
        let count = Striper.objectCount(layout, imageSize: snapshot.size)
        let io = dataIO
        let prefix = info.blockNamePrefix
        let snapContext = info.snapContext
        let snapID = snapshot.id
        try await ImageTrim.forEach(0..<count) { number in
            try await Self.rollbackObject(io, RBDObjectNames.data(prefix: prefix, objectNumber: number), snapID: snapID, snapContext: snapContext)
        }
        do {
            try await objectMapRolledBack(to: snapID)
        } catch {
            try? await invalidateObjectMap()
        }
        try await headerChanged()
    }

    static func rollbackObject(_ io: IOContext, _ object: String, snapID: UInt64, snapContext: SnapContext) async throws(RADOSError) {
        do {
            _ = try await io.operate(object, [.rollback(snapID: snapID)], snapContext: snapContext)
        } catch where error.code == .notFound {}
    }

    func snapshotInfo(_ snapID: UInt64) async throws(RADOSError) -> ClsRBD.SnapshotInfo {
        let output = try await metadataIO.operate(headerObject, [ClsRBD.snapshotGet(id: snapID)]).first ?? ByteBuffer()
        return try ImageInfo.decode { try ClsRBD.decodeSnapshotInfo(output) }
    }
}
