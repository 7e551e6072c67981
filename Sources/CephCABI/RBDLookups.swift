import Foundation
import NIOCore
import RADOSProto
import RBDCore

/// RBD namespaces as librbd's `Namespace::exists` sees them (ceph/ceph
/// `src/librbd/api/Namespace.cc`): a namespace exists when the `rbd_directory` object in
/// it is in the ready state (`dir_state_assert`).
enum ImageNamespaces {
    static func exists(_ context: IOContext) async throws(RADOSError) -> Bool {
        do {
            _ = try await context.operate(RBDObjectNames.directory, [ClsRBD.directoryStateAssert()])
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }
}

/// A clone's parent by name, as `rbd_get_parent_info` reports it (librbd's
/// `get_parent_info`: `parent_get` on the header, then the pool, the parent's name from
/// its pool's directory and the snapshot's name from the parent's header).
enum ImageParent {
    struct Names: Sendable {
        var pool: String
        var image: String
        var snapshot: String
    }

    /// nil when the image has no parent.
    static func names(of image: Image) async throws(RADOSError) -> Names? {
        let output = try await image.metadataIO.operate(RBDObjectNames.header(imageID: image.id), [ClsRBD.getParent()])
        let parent: ClsRBD.ParentSpec?
        do {
            parent = try ClsRBD.decodeParent(output.first ?? ByteBuffer())
        } catch {
            throw RADOSError(.malformedData, "the parent of image \(image.name) does not decode", details: "\(error)")
        }
        guard let parent else { return nil }
        var context = try await image.metadataIO.ioContext(poolID: parent.poolID)
        context.namespace = parent.poolNamespace
        let nameOutput = try await context.operate(RBDObjectNames.directory, [ClsRBD.directoryGetName(id: parent.imageID)])
        let snapOutput = try await context.operate(RBDObjectNames.header(imageID: parent.imageID), [ClsRBD.snapshotGet(id: parent.snapID)])
        do {
            let name = try ClsRBD.decodeString(nameOutput.first ?? ByteBuffer())
            let snapshot = try ClsRBD.decodeSnapshotInfo(snapOutput.first ?? ByteBuffer())
            return Names(pool: context.poolName, image: name, snapshot: snapshot.name)
        } catch {
            throw RADOSError(.malformedData, "the parent of image \(image.name) does not decode", details: "\(error)")
        }
    }
}
