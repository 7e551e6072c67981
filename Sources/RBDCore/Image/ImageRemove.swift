import NIOCore
import RADOSProto

extension Image {
    /// Removes image `name` and all its objects, like `rbd rm`.
    ///
    /// As librbd (`src/librbd/image/RemoveRequest.cc`, `PreRemoveRequest.cc`) it opens
    /// the image, refuses one that has snapshots (ENOTEMPTY) or that anyone else has
    /// open (watchers on the header other than the remover's own watch, EBUSY; an
    /// ``Image`` this client holds open elsewhere counts too: close it first); then it
    /// removes the data objects (every object the size allows, missing ones skipped,
    /// bounded concurrency), detaches a clone from its parent
    /// (``detachFromParent(childIO:childID:parent:childOperationFeatures:)``, which also
    /// removes a trashed parent snapshot this clone was the last user of), closes the
    /// image, and removes the header, the object map, the id object and the directory entry.
    ///
    /// An image that cannot be opened because its header or its data pool is gone (a
    /// create or remove that stopped half way, a deleted pool) is cleaned up as librbd
    /// does: its header, object map, id object and directory entry are removed.
    ///
    /// - Throws: ``RADOSError`` `.notFound` when there is no such image.
    /// `progress` hears objects removed so far, of how many.
    public static func remove(_ io: IOContext, name: String, progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws(RADOSError) {
        let id = try await ImageInfo.imageID(io, name: name)
        let image: Image
        do {
            image = try await open(io, name: name)
        } catch where error.code == .notFound {
            // A half-made image (no header) or one whose data pool is gone: as librbd
            // (`RemoveRequest::handle_open_image` on ENOENT), remove what is left.
            try await removeHeaderObjects(io, id: id)
            try await removeNames(io, name: name, id: id)
            return
        }
        try await removeOpened(image, io: io, progress: progress)
        try await removeNames(io, name: name, id: image.id)
    }

    /// The part of removal librbd's `RemoveRequest` does by id (what `rbd trash rm`
    /// runs too): refuses snapshots (ENOTEMPTY) and other watchers (EBUSY), removes the
    /// data objects, detaches a clone from its parent, closes `image`, and removes its
    /// header and object map. The names (`rbd_id.<name>`, the directory) are the
    /// caller's.
    static func removeOpened(_ image: Image, io: IOContext, progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws(RADOSError) {
        do throws(RADOSError) {
            let info = image.info
            guard image.snapshots.isEmpty else {
                throw RADOSError(.clusterError, "image has snapshots - these must be deleted with 'rbd snap purge' before the image can be removed.", errno: 39)
            }
            guard try await image.otherWatchers().isEmpty else {
                throw RADOSError(.clusterError, "image has watchers - not removing: it is still open, or a client that had it open crashed (retry after closing or unmapping it, or after 30 s)", errno: 16)
            }
            try await ImageTrim.trim(image.dataIO, prefix: info.blockNamePrefix, layout: image.layout, from: info.size, to: 0, snapContext: info.snapContext, progress: progress)
            // A clone stops being its parent's child (`RemoveRequest::detach_child`).
            if let parent = info.parent {
                try await detachFromParent(childIO: io, childID: image.id, parent: parent, childOperationFeatures: info.operationFeatures)
            }
        } catch {
            try? await image.close()
            throw error
        }
        try await image.close()
        try await removeHeaderObjects(io, id: image.id)
    }

    /// Removes `rbd_header.<id>` and `rbd_object_map.<id>`, each if present.
    static func removeHeaderObjects(_ io: IOContext, id: String) async throws(RADOSError) {
        for object in [RBDObjectNames.header(imageID: id), RBDObjectNames.objectMap(imageID: id)] {
            do {
                try await io.remove(object)
            } catch where error.code == .notFound {}
        }
    }

    /// Removes `rbd_id.<name>` and the directory entry, each if present.
    static func removeNames(_ io: IOContext, name: String, id: String) async throws(RADOSError) {
        do {
            try await io.remove(RBDObjectNames.id(imageName: name))
        } catch where error.code == .notFound {}
        do {
            _ = try await io.operate(RBDObjectNames.directory, [ClsRBD.directoryRemove(name: name, id: id)])
        } catch where error.code == .notFound {}
    }
}
