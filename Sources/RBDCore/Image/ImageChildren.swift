import NIOCore
import RADOSProto

/// A clone of an image's snapshot, as `rbd children` lists it.
public struct ImageChild: Sendable, Hashable {
    public var poolName: String
    /// The clone's namespace ("" for the pool's default one).
    public var poolNamespace: String
    public var imageName: String
    public var imageID: String
    /// Whether the clone waits in its pool's image trash (`rbd trash mv`).
    public var isTrashed: Bool

    public init(poolName: String, poolNamespace: String, imageName: String, imageID: String, isTrashed: Bool) {
        self.poolName = poolName
        self.poolNamespace = poolNamespace
        self.imageName = imageName
        self.imageID = imageID
        self.isTrashed = isTrashed
    }
}

/// Listing the clones of a snapshot, as librbd's `list_children` does (ceph/ceph
/// `src/librbd/api/Image.cc`, `list_descendants` one level deep): format 1 clones from
/// `get_children` on `rbd_children` of every pool, format 2 clones from `children_list`
/// on the image's header; each named from its pool's `rbd_directory`, or from the image
/// trash (`trash_get`) when it is there. Sorted by pool, namespace and name.
extension Image {
    /// The clones of snapshot `name` (`rbd children image@snap`), trashed ones included
    /// (``ImageChild/isTrashed``; `rbd children` shows them with `--all`).
    ///
    /// - Throws: ``RADOSError`` `.notFound` when there is no such snapshot.
    public func children(ofSnapshot name: String) async throws(RADOSError) -> [ImageChild] {
        let snapshot = try await snapshot(named: name)
        return try await children(ofSnapshotID: snapshot.id)
    }

    /// The clones of every snapshot of the image, those in the trash namespace included
    /// (`rbd children image`).
    public func children() async throws(RADOSError) -> [ImageChild] {
        try await refresh()
        var all: Set<ImageChild> = []
        for snapshot in snapshots { all.formUnion(try await children(ofSnapshotID: snapshot.id)) }
        return Self.sorted(Array(all))
    }

    /// The clones of snapshot `snapID`.
    package func children(ofSnapshotID snapID: UInt64) async throws(RADOSError) -> [ImageChild] {
        var specs: [ClsRBD.ChildSpec] = []
        // Format 1: every pool's rbd_children (clones share their parent's namespace).
        for poolID in await metadataIO.poolNames().keys.sorted() {
            guard var io = try? await metadataIO.ioContext(poolID: poolID) else { continue }
            io.namespace = metadataIO.namespace
            let output: [ByteBuffer]
            do {
                output = try await io.operate(ClsRBD.childrenObject, [ClsRBD.getChildren(poolID: metadataIO.poolID, imageID: id, snapID: snapID)])
            } catch where error.code == .notFound || error.errno == 95 {
                continue
            }
            let ids = try ImageInfo.decode { try ClsRBD.decodeChildren(output.first ?? ByteBuffer()) }
            specs += ids.map { ClsRBD.ChildSpec(poolID: poolID, poolNamespace: io.namespace, imageID: $0) }
        }
        // Format 2: the header's record for the snapshot.
        do {
            let output = try await metadataIO.operate(headerObject, [ClsRBD.childrenList(snapID: snapID)])
            specs += try ImageInfo.decode { try ClsRBD.decodeChildrenList(output.first ?? ByteBuffer()) }
        } catch where error.code == .notFound || error.errno == 95 {}

        var children: [ImageChild] = []
        for spec in specs {
            if let child = try await Self.describe(spec, from: metadataIO) { children.append(child) }
        }
        return Self.sorted(children)
    }

    /// A child's pool name and image name (from the directory, else the image trash);
    /// nil when its pool or the image is gone.
    private static func describe(_ spec: ClsRBD.ChildSpec, from io: IOContext) async throws(RADOSError) -> ImageChild? {
        guard var childIO = try? await io.ioContext(poolID: spec.poolID) else { return nil }
        childIO.namespace = spec.poolNamespace
        do {
            let output = try await childIO.operate(RBDObjectNames.directory, [ClsRBD.directoryGetName(id: spec.imageID)])
            let name = try ImageInfo.decode { try ClsRBD.decodeString(output.first ?? ByteBuffer()) }
            return ImageChild(poolName: childIO.poolName, poolNamespace: spec.poolNamespace, imageName: name, imageID: spec.imageID, isTrashed: false)
        } catch where error.code == .notFound {}
        do {
            let output = try await childIO.operate(ClsRBD.trashObject, [ClsRBD.trashGet(id: spec.imageID)])
            let name = try ImageInfo.decode { try ClsRBD.decodeTrashImageName(output.first ?? ByteBuffer()) }
            return ImageChild(poolName: childIO.poolName, poolNamespace: spec.poolNamespace, imageName: name, imageID: spec.imageID, isTrashed: true)
        } catch where error.code == .notFound {
            return nil
        }
    }

    private static func sorted(_ children: [ImageChild]) -> [ImageChild] {
        children.sorted { ($0.poolName, $0.poolNamespace, $0.imageName, $0.imageID) < ($1.poolName, $1.poolNamespace, $1.imageName, $1.imageID) }
    }
}
