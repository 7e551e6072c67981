import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RADOSProto

/// An open RBD format 2 image: the handle every image operation (I/O, resize,
/// snapshots, metadata) goes through, like librbd's `ImageCtx` behind `rbd_open`.
///
/// Opening resolves the name to an id, reads the header (``ImageInfo``) and the
/// snapshots, and derives the striping layout and the snap context writes carry. The
/// mutable part (size, snap context, snapshots) sits behind one lock that the I/O path
/// takes once per request to read a consistent copy; operations that change the header
/// refresh it. Source: ceph/ceph `src/librbd/ImageCtx.cc`, `src/librbd/image/OpenRequest.cc`.
public final class Image: Sendable {
    /// A snapshot of the image as `rbd snap ls` lists it.
    public struct Snapshot: Sendable, Hashable {
        public var id: UInt64
        public var name: String
        /// The image size when the snapshot was taken.
        public var size: UInt64
        public var timestamp: Date
        /// The snapshot namespace type (0 user, 1 group, 2 trash, 3 mirror).
        public var namespaceType: UInt32
        /// Whether the snapshot is protected (clones may be made of it; it cannot be
        /// removed). An unprotect in progress counts as protected.
        public var isProtected: Bool = false
    }

    /// What can change while the image is open.
    struct State: Sendable {
        var info: ImageInfo
        var layout: StripeLayout
        var snapshots: [Snapshot]
    }

    /// The image's name.
    public let name: String
    /// The image's id (the `<id>` of `rbd_header.<id>`).
    public let id: String
    /// The snapshot the image was opened at (read-only), nil for the head.
    public let snapshot: Snapshot?
    /// Whether writes are refused (opened read-only or at a snapshot).
    public let isReadOnly: Bool

    /// The pool (and namespace) holding the header, id and directory objects.
    package let metadataIO: IOContext
    /// The pool data objects go to (the data pool when the image has one).
    package let dataIO: IOContext
    let state: NIOLockedValueBox<State>
    /// Writes in flight, for `flush` (Image+IO.swift).
    let writes = WriteTracker()

    private init(name: String, id: String, snapshot: Snapshot?, isReadOnly: Bool, metadataIO: IOContext, dataIO: IOContext, state: State) {
        self.name = name
        self.id = id
        self.snapshot = snapshot
        self.isReadOnly = isReadOnly
        self.metadataIO = metadataIO
        self.dataIO = dataIO
        self.state = NIOLockedValueBox(state)
    }

    /// Opens image `name` in the I/O context's pool and namespace, at the head or at the
    /// snapshot named `snapshot` (always read-only).
    ///
    /// - Throws: ``RADOSError`` `.notFound` when the image or the snapshot does not exist.
    public static func open(_ io: IOContext, name: String, snapshot snapshotName: String? = nil, readOnly: Bool = false) async throws(RADOSError) -> Image {
        let id = try await ImageInfo.imageID(io, name: name)
        let state = try await loadState(io, name: name, id: id)
        var snapshot: Snapshot?
        if let snapshotName {
            guard let found = state.snapshots.first(where: { $0.name == snapshotName }) else {
                throw RADOSError(.notFound, "error setting snapshot context: snapshot \(snapshotName) of image \(name) does not exist", errno: 2)
            }
            snapshot = found
        }
        var dataIO = io
        if let pool = state.info.dataPoolID { dataIO = try await io.ioContext(poolID: pool) }
        return Image(name: name, id: id, snapshot: snapshot, isReadOnly: readOnly || snapshot != nil, metadataIO: io, dataIO: dataIO, state: state)
    }

    /// The header as last read.
    public var info: ImageInfo { state.withLockedValue { $0.info } }

    /// The size of what is open: the snapshot's size at a snapshot, else the head's.
    public var size: UInt64 { snapshot?.size ?? state.withLockedValue { $0.info.size } }

    /// The striping layout of the image's data objects.
    public var layout: StripeLayout { state.withLockedValue { $0.layout } }

    /// The image's snapshots, oldest first.
    public var snapshots: [Snapshot] { state.withLockedValue { $0.snapshots } }

    /// The snap id reads go to: the snapshot's id, or the head (`CEPH_NOSNAP`).
    package var readSnapID: UInt64 { snapshot?.id ?? MOSDOp.noSnap }

    /// The snap context writes carry.
    package var snapContext: SnapContext { state.withLockedValue { $0.info.snapContext } }

    /// Rereads the header and the snapshots (after another client changed the image, or
    /// after an operation of ours that changed it).
    public func refresh() async throws(RADOSError) {
        let fresh = try await Self.loadState(metadataIO, name: name, id: id)
        state.withLockedValue { $0 = fresh }
    }

    /// Features librbd would have to maintain on every write that this client does not
    /// (yet): writing an image with any of them would leave it inconsistent for librbd.
    package static let unhonouredWriteFeatures: RBDFeatures = [.exclusiveLock, .objectMap, .fastDiff, .journaling, .migrating, .nonPrimary]

    /// Refuses a write with a clear error when the image is read-only or has a feature
    /// this client does not honour for writing. Reading such images is fine.
    package func checkWritable() throws(RADOSError) {
        if let snapshot {
            throw RADOSError(.permissionDenied, "image \(name) is open at snapshot \(snapshot.name), which is read-only", errno: 30)
        }
        if isReadOnly {
            throw RADOSError(.permissionDenied, "image \(name) is open read-only", errno: 30)
        }
        let blocking = info.features.intersection(Self.unhonouredWriteFeatures)
        if !blocking.isEmpty {
            throw RADOSError(.unsupported, "image \(name) has features SwiftRBD cannot yet honour when writing (\(blocking.names.joined(separator: ", "))); disable them with 'rbd feature disable' or open it read-only", errno: 30)
        }
    }

    static func loadState(_ io: IOContext, name: String, id: String) async throws(RADOSError) -> State {
        let info = try await ImageInfo.load(io, image: name, id: id)
        let layout: StripeLayout
        do {
            layout = try StripeLayout(objectSize: info.objectSize, stripeUnit: info.stripeUnit, stripeCount: info.stripeCount)
        } catch {
            throw RADOSError(.malformedData, "image \(name) has an invalid striping layout: \(error.description)")
        }
        var snapshots: [Snapshot] = []
        let ids = info.snapContext.snaps.sorted()
        if !ids.isEmpty {
            let outputs = try await io.operate(RBDObjectNames.header(imageID: id), ids.flatMap { [ClsRBD.snapshotGet(id: $0), ClsRBD.getProtectionStatus(snapID: $0)] })
            guard outputs.count == 2 * ids.count else { throw RADOSError(.malformedData, "the image header answered \(outputs.count) of \(2 * ids.count) snapshot calls") }
            for index in ids.indices {
                let snap = try ImageInfo.decode { try ClsRBD.decodeSnapshotInfo(outputs[2 * index]) }
                let protection = try ImageInfo.decode { try ClsRBD.decodeProtectionStatus(outputs[2 * index + 1]) }
                snapshots.append(Snapshot(id: snap.id, name: snap.name, size: snap.imageSize, timestamp: Date(timeIntervalSince1970: snap.timestamp.timeIntervalSince1970), namespaceType: snap.namespaceType, isProtected: protection != .unprotected))
            }
        }
        return State(info: info, layout: layout, snapshots: snapshots)
    }
}
