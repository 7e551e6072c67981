import NIOCore
import RADOSProto

/// A clone's parent by name, as `rbd info` and `rbd ls -l` print it
/// (`pool/[namespace/]image@snapshot`, with the image's id and whether it waits in the
/// trash), and how much of the clone still maps to it.
public struct ImageParentName: Sendable, Hashable {
    public var pool: String
    public var poolNamespace: String
    public var image: String
    public var imageID: String
    public var snapshot: String
    /// The parent image has been moved to the trash (`rbd trash mv`).
    public var isTrashed: Bool
    public var overlap: UInt64

    /// `pool/[namespace/]image@snapshot`.
    public var spec: String {
        "\(pool)/\(poolNamespace.isEmpty ? "" : poolNamespace + "/")\(image)@\(snapshot)"
    }
}

extension ImageInfo {
    /// The parent's names (pool, image from the directory or the trash, snapshot from the
    /// parent's header), as librbd's `get_parent` gives them; nil when the image is not a
    /// clone. Read with `io`'s client; the parent may live in another pool.
    public func parentName(_ io: IOContext) async throws(RADOSError) -> ImageParentName? {
        guard let spec = parent else { return nil }
        var parentIO = try await io.ioContext(poolID: spec.poolID)
        parentIO.namespace = spec.poolNamespace
        var name: String
        var trashed = false
        do {
            let output = try await parentIO.operate(RBDObjectNames.directory, [ClsRBD.directoryGetName(id: spec.imageID)])
            name = try Self.decode { try ClsRBD.decodeString(output.first ?? ByteBuffer()) }
        } catch where error.code == .notFound {
            let output = try await parentIO.operate(ClsRBD.trashObject, [ClsRBD.trashGet(id: spec.imageID)])
            name = try Self.decode { try ClsRBD.decodeTrashImageName(output.first ?? ByteBuffer()) }
            trashed = true
        }
        let snapshot = try await parentIO.operate(RBDObjectNames.header(imageID: spec.imageID), [ClsRBD.snapshotGet(id: spec.snapID)])
        let info = try Self.decode { try ClsRBD.decodeSnapshotInfo(snapshot.first ?? ByteBuffer()) }
        return ImageParentName(
            pool: parentIO.poolName, poolNamespace: spec.poolNamespace, image: name, imageID: spec.imageID,
            snapshot: info.name, isTrashed: trashed, overlap: parentOverlap ?? 0)
    }
}
