import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RADOSProto
import RBDCache

/// An open RBD format 2 image: the handle every image operation (I/O, resize,
/// snapshots, metadata) goes through, like librbd's `ImageCtx` behind `rbd_open`.
///
/// Opening resolves the name to an id, reads the header (``ImageInfo``) and the
/// snapshots, and derives the striping layout and the snap context writes carry. The
/// mutable part (size, snap context, snapshots) sits behind one lock that the I/O path
/// takes once per request to read a consistent copy (which also says whether another
/// client changed the header: see Image+Refresh.swift and ``HeaderWatcher``); operations
/// that change the header tell the other clients and refresh it. Source: ceph/ceph
/// `src/librbd/ImageCtx.cc`, `src/librbd/image/OpenRequest.cc`, `src/librbd/ImageState.cc`.
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
        /// How many bytes of a clone mapped to its parent when the snapshot was taken
        /// (nil when the image was not a clone then, or its snapshots were flattened).
        package var parentOverlap: UInt64?
        /// For a snapshot in the trash namespace, the name it had before.
        package var originalName: String?
    }

    /// What can change while the image is open, and the bookkeeping that says whether
    /// it is current (librbd's `ImageState` refresh sequence numbers).
    struct State: Sendable {
        var info: ImageInfo
        var layout: StripeLayout
        var snapshots: [Snapshot]
        /// Header-change notifications received (and lost watches re-established).
        var updateSeq: UInt64 = 0
        /// The `updateSeq` the header fields reflect: the image needs a refresh while
        /// `updateSeq` is ahead (`ImageState::is_refresh_required`).
        var refreshedSeq: UInt64 = 0
        /// Rereads started and the newest one applied: an older reread finishing late
        /// never overwrites a newer one.
        var refreshesStarted: UInt64 = 0
        var refreshApplied: UInt64 = 0
        /// The reread the I/O path is waiting for, shared by every request that saw the
        /// same notification.
        var pendingRefresh: PendingRefresh?
        /// ``Image/close()`` was called.
        var isClosed = false
        /// The exclusive lock (Image+ExclusiveLock.swift).
        var lock = LockState()
        /// Operations run for other clients, and ours an owner runs (Image+OwnerRequests.swift).
        var ownerRequests = OwnerRequestState()
        /// The head's object map while this client holds the exclusive lock.
        var objectMap: ObjectMapBits?
        /// Writes waiting for an object map update marking their object as existing, by
        /// object: one update is sent per object, however many writes need it.
        var existsUpdates: [UInt64: [@Sendable (Result<Void, RADOSError>) -> Void]] = [:]
        /// Copy-ups under way (Image+CopyUp.swift), by object: the requests that found
        /// one under way, to send again once it is done.
        var copyUps: [UInt64: [@Sendable () -> Void]] = [:]

        /// Whether a request must take the slow path (refresh first, or fail as closed).
        var needsAttention: Bool { updateSeq != refreshedSeq || isClosed }
    }

    struct PendingRefresh: Sendable {
        var seq: UInt64
        var task: Task<Result<Void, RADOSError>, Never>
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
    /// The watch on the header of an image open for writing (nil when read-only).
    let headerWatcher: HeaderWatcher?
    /// Whether writes go through librbd's exclusive lock (open for writing, and the image
    /// had the feature when opened).
    let usesExclusiveLock: Bool
    /// A clone's parent snapshot, which objects the clone lacks read from (Image+Parent.swift).
    let parent: ParentLink?
    /// The cache the image was opened with (nil: none), ImageCache.swift.
    let cache: ImageCache?
    /// The I/O scheduler (nil: none), ImageWriteScheduler.swift.
    let scheduler: ImageWriteScheduler?
    /// The prefix of the data objects' names (`rbd_data.<id>`), fixed for the image's life.
    let blockNamePrefix: String
    /// The LUKS encryption loaded on this handle, if any (Image+Encryption.swift).
    let encryptionSlot = NIOLockedValueBox<ImageEncryption?>(nil)

    private init(name: String, id: String, snapshot: Snapshot?, isReadOnly: Bool, metadataIO: IOContext, dataIO: IOContext, state: NIOLockedValueBox<State>, headerWatcher: HeaderWatcher?, parent: ParentLink?, cache: CachePolicy, scheduler: IOScheduler) {
        self.parent = parent
        self.cache = ImageCache.make(cache, layout: state.withLockedValue { $0.layout }, loop: dataIO.eventLoop)
        self.scheduler = isReadOnly ? nil : ImageWriteScheduler.make(scheduler, loop: dataIO.eventLoop)
        self.blockNamePrefix = state.withLockedValue { $0.info.blockNamePrefix }
        self.usesExclusiveLock = headerWatcher != nil && !isReadOnly && state.withLockedValue { $0.info.features.contains(.exclusiveLock) }
        self.name = name
        self.id = id
        self.snapshot = snapshot
        self.isReadOnly = isReadOnly
        self.metadataIO = metadataIO
        self.dataIO = dataIO
        self.state = state
        self.headerWatcher = headerWatcher
    }

    deinit {
        // Safety net for a caller that did not close: unwatch in the background, or the
        // OSD would keep the watch (and refuse `rbd rm`) until the client disconnects.
        if let headerWatcher, !state.withLockedValue({ $0.isClosed }) {
            Task { try? await headerWatcher.close() }
        }
    }

    /// Opens image `name` in the I/O context's pool and namespace, at the head or at the
    /// snapshot named `snapshot` (always read-only).
    ///
    /// An image opened for writing at the head watches its header, as librbd's
    /// `ImageWatcher` does: when another client announces a header change (a snapshot,
    /// a resize …) the image rereads the header before its next I/O or operation, so
    /// writes carry the current snap context and size. Read-only and snapshot opens do
    /// not watch (`src/librbd/image/OpenRequest.cc`, `send_register_watch`). Call
    /// ``close()`` when done: until then the watch keeps `rbd rm` from removing the image.
    ///
    /// `cache` is the image cache to use and `scheduler` how object writes are scheduled
    /// (neither by default; librbd's programs take them from the configuration:
    /// `RADOSConfiguration.cachePolicy()`, ``RADOSProto/RADOSConfiguration/ioScheduler()``).
    /// With a cache, call ``flush()`` to make acknowledged writes durable; ``close()``
    /// flushes too.
    ///
    /// - Throws: ``RADOSError`` `.notFound` when the image or the snapshot does not exist;
    ///   the OSD's error when the header cannot be watched (EPERM without write caps).
    public static func open(_ io: IOContext, name: String, snapshot snapshotName: String? = nil, readOnly: Bool = false, cache: CachePolicy = .disabled, scheduler: IOScheduler = .none) async throws(RADOSError) -> Image {
        let id = try await ImageInfo.imageID(io, name: name)
        return try await open(io, name: name, id: id, snapshot: snapshotName.map { .name($0) }, readOnly: readOnly, depth: 0, cache: cache, scheduler: scheduler)
    }

    /// Opens the image whose id is `id` (the `<id>` of `rbd_header.<id>`), like
    /// `rbd_open_by_id`: its name comes from the pool's directory (`dir_get_name`).
    ///
    /// - Throws: ``RADOSError`` `.notFound` when no image in the directory has that id.
    public static func open(_ io: IOContext, id: String, snapshot snapshotName: String? = nil, readOnly: Bool = false, cache: CachePolicy = .disabled, scheduler: IOScheduler = .none) async throws(RADOSError) -> Image {
        let output: [ByteBuffer]
        do {
            output = try await io.operate(RBDObjectNames.directory, [ClsRBD.directoryGetName(id: id)])
        } catch where error.code == .notFound {
            let place = io.namespace.isEmpty ? io.poolName : "\(io.poolName)/\(io.namespace)"
            throw RADOSError(.notFound, "error opening image with id \(id): no such image in \(place)", errno: 2)
        }
        let name = try ImageInfo.decode { try ClsRBD.decodeString(output.first ?? ByteBuffer()) }
        return try await open(io, name: name, id: id, snapshot: snapshotName.map { .name($0) }, readOnly: readOnly, depth: 0, cache: cache, scheduler: scheduler)
    }

    /// Opens image `id` read-only at the snapshot whose id is `snapID` (a clone's parent:
    /// the snapshot may be in the trash namespace, so it is found by id, not name).
    static func open(_ io: IOContext, id: String, snapID: UInt64, depth: Int) async throws(RADOSError) -> Image {
        let output = try await io.operate(RBDObjectNames.directory, [ClsRBD.directoryGetName(id: id)])
        let name = try ImageInfo.decode { try ClsRBD.decodeString(output.first ?? ByteBuffer()) }
        return try await open(io, name: name, id: id, snapshot: .id(snapID), readOnly: true, depth: depth)
    }

    /// Which snapshot to open: by name (the API) or by id (a parent).
    enum SnapshotChoice {
        case name(String)
        case id(UInt64)
    }

    static func open(_ io: IOContext, name: String, id: String, snapshot choice: SnapshotChoice?, readOnly: Bool, depth: Int, cache: CachePolicy = .disabled, scheduler: IOScheduler = .none) async throws(RADOSError) -> Image {
        let snapshotName: String? = if case .name(let name) = choice { name } else { nil }
        // Watch before reading the header, so no change can slip in between.
        var watcher: HeaderWatcher?
        if !readOnly && snapshotName == nil {
            watcher = try await HeaderWatcher.start(io, object: RBDObjectNames.header(imageID: id))
        }
        do throws(RADOSError) {
            let state = try await loadState(io, name: name, id: id)
            var snapshot: Snapshot?
            switch choice {
            case .name(let snapshotName):
                guard let found = state.snapshots.first(where: { $0.name == snapshotName }) else {
                    throw RADOSError(.notFound, "error setting snapshot context: snapshot \(snapshotName) of image \(name) does not exist", errno: 2)
                }
                snapshot = found
            case .id(let snapID):
                guard let found = state.snapshots.first(where: { $0.id == snapID }) else {
                    throw RADOSError(.notFound, "the parent snapshot \(snapID) of image \(name) does not exist", errno: 2)
                }
                snapshot = found
            case nil:
                break
            }
            let overlap = snapshot.map { $0.parentOverlap } ?? state.info.parentOverlap
            let parent = try await openParent(io, name: name, spec: state.info.parent, overlap: overlap, depth: depth)
            var dataIO = io
            if let pool = state.info.dataPoolID { dataIO = try await io.ioContext(poolID: pool) }
            let box = NIOLockedValueBox(state)
            watcher?.attach { box.withLockedValue { $0.updateSeq &+= 1 } }
            let image = Image(name: name, id: id, snapshot: snapshot, isReadOnly: readOnly || snapshot != nil, metadataIO: io, dataIO: dataIO, state: box, headerWatcher: watcher, parent: parent, cache: cache, scheduler: scheduler)
            if image.usesExclusiveLock { image.setUpExclusiveLock() }
            return image
        } catch {
            try? await watcher?.close()
            throw error
        }
    }

    /// Closes the image, like `rbd_close`: waits for the writes in flight, writes back
    /// what the cache holds, then removes the header watch. Every later I/O or operation
    /// on this handle fails (ESHUTDOWN). Closing twice does nothing.
    ///
    /// - Throws: ``RADOSError``: a writeback error the cache met (the image is closed
    ///   all the same), or the OSD's error when it could not be told to drop the watch
    ///   (it drops it by itself once this client disconnects and the watch times out).
    public func close() async throws(RADOSError) {
        let (first, waiter) = state.withLockedValue { state in
            defer { state.isClosed = true; state.lock.releaseWaiter = nil }
            return (!state.isClosed, state.lock.releaseWaiter)
        }
        guard first else { return }
        waiter?()  // An acquisition waiting for the owner stops (and its writes fail).
        scheduler?.flush(self) {}
        await writes.flushed()
        var writebackError: RADOSError?
        do throws(RADOSError) {
            try await cache?.flush(self, user: false)
        } catch {
            writebackError = error
        }
        if usesExclusiveLock, ownsExclusiveLock {
            state.withLockedValue { $0.lock.phase = $0.lock.phase.releasing }
            await releaseLock(announce: true)
        }
        try await headerWatcher?.close()
        if let writebackError { throw writebackError }
    }

    /// The header as last read (``refreshIfRequired()`` rereads it if another client
    /// changed it since; I/O and operations do that themselves).
    public var info: ImageInfo { state.withLockedValue { $0.info } }

    /// The size of what is open: the snapshot's size at a snapshot, else the head's;
    /// with encryption loaded, what follows the LUKS header (as librbd reports it).
    public var size: UInt64 {
        let raw = rawSize
        guard let encryption = encryptionSlot.withLockedValue({ $0 }) else { return raw }
        return raw > encryption.dataOffset ? raw - encryption.dataOffset : 0
    }

    /// The size of the image's data objects' address space, headers included.
    var rawSize: UInt64 { snapshot?.size ?? state.withLockedValue { $0.info.size } }

    /// The striping layout of the image's data objects.
    public var layout: StripeLayout { state.withLockedValue { $0.layout } }

    /// The image's snapshots, oldest first.
    public var snapshots: [Snapshot] { state.withLockedValue { $0.snapshots } }

    /// The snap id reads go to: the snapshot's id, or the head (`CEPH_NOSNAP`).
    package var readSnapID: UInt64 { snapshot?.id ?? MOSDOp.noSnap }

    /// The snap context writes carry.
    package var snapContext: SnapContext { state.withLockedValue { $0.info.snapContext } }

    /// Features librbd would have to maintain on every write that this client does not
    /// (yet): writing an image with any of them would leave it inconsistent for librbd.
    /// (Exclusive lock, object map and fast diff are maintained: Image+ExclusiveLock.swift,
    /// Image+ObjectMap.swift.)
    package static let unhonouredWriteFeatures: RBDFeatures = [.journaling, .migrating, .nonPrimary]

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
        if info.features.contains(.exclusiveLock) && !usesExclusiveLock {
            throw RADOSError(.unsupported, "image \(name) gained the exclusive-lock feature after it was opened: open it again to write", errno: 30)
        }
        if parent == nil && info.parentOverlap != nil {
            throw RADOSError(.unsupported, "image \(name) became a clone after it was opened: open it again to write", errno: 30)
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
            let outputs = try await io.operate(RBDObjectNames.header(imageID: id), ids.flatMap { [ClsRBD.snapshotGet(id: $0), ClsRBD.getProtectionStatus(snapID: $0), ClsRBD.parentOverlapGet(snapID: $0)] })
            guard outputs.count == 3 * ids.count else { throw RADOSError(.malformedData, "the image header answered \(outputs.count) of \(3 * ids.count) snapshot calls") }
            for index in ids.indices {
                let snap = try ImageInfo.decode { try ClsRBD.decodeSnapshotInfo(outputs[3 * index]) }
                let protection = try ImageInfo.decode { try ClsRBD.decodeProtectionStatus(outputs[3 * index + 1]) }
                let overlap = try ImageInfo.decode { try ClsRBD.decodeParentOverlap(outputs[3 * index + 2]) }
                var snapshot = Snapshot(id: snap.id, name: snap.name, size: snap.imageSize, timestamp: Date(timeIntervalSince1970: snap.timestamp.timeIntervalSince1970), namespaceType: snap.namespaceType, isProtected: protection != .unprotected)
                snapshot.parentOverlap = overlap
                snapshot.originalName = snap.originalName
                snapshots.append(snapshot)
            }
        }
        return State(info: info, layout: layout, snapshots: snapshots)
    }
}
