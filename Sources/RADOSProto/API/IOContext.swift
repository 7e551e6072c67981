import Foundation
import NIOCore

/// Object I/O in one pool (and namespace) of a cluster, like librados' `IoCtx`.
///
/// Every call is one `MOSDOp` to the object's primary OSD, atomic on that object;
/// `operate(_:_:)` with an ``ObjectWriteOperation`` or ``ObjectReadOperation`` sends
/// several ops as one request.
/// Errors carry librados' errno: `.notFound` (ENOENT) for a missing object,
/// `.alreadyExists` (EEXIST), otherwise `.clusterError` with the OSD's errno.
///
/// An I/O context is a value: changing its namespace or snapshot settings changes
/// that copy only (librados' `rados_ioctx_set_namespace`, `rados_ioctx_snap_set_read`,
/// `rados_ioctx_selfmanaged_snap_set_write_ctx`).
///
/// ```swift
/// var io = try await client.ioContext(pool: "rbd")
/// try await io.writeFull("greeting", ByteBuffer(string: "hello"))
/// try await io.omapSet("greeting", ["lang": ByteBuffer(string: "en")])
/// for entry in try await io.allObjects() { print(entry.name) }
/// ```
public struct IOContext: Sendable {
    let objecter: Objecter
    /// The pool's id.
    public let poolID: Int64
    /// The pool's name.
    public let poolName: String
    /// The namespace within the pool ("" is the default namespace;
    /// ``allNamespaces`` lists every namespace).
    public var namespace: String
    /// The snapshot reads go to (`CEPH_NOSNAP`: the head).
    package private(set) var readSnapID: UInt64 = MOSDOp.noSnap
    /// The snap context writes carry (self-managed snapshots).
    package private(set) var writeSnapContext: SnapContext = .empty

    /// The client's event loop: where callback requests complete.
    package var eventLoop: any EventLoop { objecter.eventLoop }

    /// The namespace value that makes listing cover every namespace (`LIBRADOS_ALL_NSPACES`).
    public static let allNamespaces = PGNamespacedList.allNamespaces

    init(objecter: Objecter, poolID: Int64, poolName: String, namespace: String) {
        self.objecter = objecter
        self.poolID = poolID
        self.poolName = poolName
        self.namespace = namespace
    }

    // MARK: snapshots

    /// Makes reads go to snapshot `id` (nil: the head), like `rados_ioctx_snap_set_read`.
    public mutating func setReadSnapshot(_ id: UInt64?) {
        readSnapID = id ?? MOSDOp.noSnap
    }

    /// Sets the snap context writes carry, like `rados_ioctx_selfmanaged_snap_set_write_ctx`:
    /// `seq` is the newest snapshot sequence the writer knows, `snaps` the existing
    /// snapshot ids. The OSD clones an object before the first write after a snapshot.
    ///
    /// - Throws: ``RADOSError`` `.invalidArgument` unless every snap id is at most
    ///   `seq` (librados' `SnapContext::is_valid`).
    public mutating func setWriteSnapContext(seq: UInt64, snaps: [UInt64]) throws(RADOSError) {
        let ordered = snaps.sorted(by: >)
        guard ordered.first.map({ $0 <= seq }) ?? true, Set(ordered).count == ordered.count else {
            throw RADOSError(.invalidArgument, "invalid snap context: snap ids must be distinct and at most seq \(seq)")
        }
        writeSnapContext = SnapContext(seq: seq, snaps: ordered)
    }

    /// Size and modification time of an object.
    public struct ObjectInfo: Sendable, Hashable {
        public var size: UInt64
        public var modified: Date
    }

    // MARK: data

    /// Reads up to `length` bytes at `offset` (fewer at the end of the object), at the
    /// read snapshot if one is set.
    public func read(_ object: String, offset: UInt64 = 0, length: UInt64) async throws(RADOSError) -> ByteBuffer {
        try await operate(object, [.read(offset: offset, length: length)]).first ?? ByteBuffer()
    }

    /// The allocated extents within `length` bytes at `offset`, and their bytes back to
    /// back; holes between extents read as zeros (`rados_read_op_read` with sparse
    /// read, `CEPH_OSD_OP_SPARSE_READ`). Offsets are positions in the object.
    public func sparseRead(_ object: String, offset: UInt64 = 0, length: UInt64) async throws(RADOSError) -> (extents: [(offset: UInt64, length: UInt64)], data: ByteBuffer) {
        let output = try await operate(object, [.sparseRead(offset: offset, length: length)]).first ?? ByteBuffer()
        do {
            let result = try SparseReadResult.decode(output)
            return (result.extents.map { ($0.offset, $0.length) }, result.data)
        } catch {
            throw Self.decodeFailure(error)
        }
    }

    /// Writes `data` at `offset`, creating the object if needed.
    public func write(_ object: String, _ data: ByteBuffer, offset: UInt64 = 0) async throws(RADOSError) {
        _ = try await operate(object, [.write(offset: offset, data: data)])
    }

    /// Replaces the object's whole content with `data`.
    public func writeFull(_ object: String, _ data: ByteBuffer) async throws(RADOSError) {
        _ = try await operate(object, [.writeFull(data)])
    }

    /// Appends `data` to the object.
    public func append(_ object: String, _ data: ByteBuffer) async throws(RADOSError) {
        _ = try await operate(object, [.append(data)])
    }

    /// Zeroes `length` bytes at `offset`.
    public func zero(_ object: String, offset: UInt64, length: UInt64) async throws(RADOSError) {
        _ = try await operate(object, [.zero(offset: offset, length: length)])
    }

    /// Sets the object's size, cutting or extending it with zeros.
    public func truncate(_ object: String, size: UInt64) async throws(RADOSError) {
        _ = try await operate(object, [.truncate(size: size)])
    }

    /// Creates an empty object; with `exclusive`, fails with `.alreadyExists` if it exists.
    public func create(_ object: String, exclusive: Bool) async throws(RADOSError) {
        _ = try await operate(object, [.create(exclusive: exclusive)])
    }

    /// Removes the object.
    public func remove(_ object: String) async throws(RADOSError) {
        _ = try await operate(object, [.delete])
    }

    /// The object's size and modification time.
    public func stat(_ object: String) async throws(RADOSError) -> ObjectInfo {
        let output = try await operate(object, [.stat]).first ?? ByteBuffer()
        do {
            let stat = try ObjectStat.decode(output)
            return ObjectInfo(size: stat.size, modified: Date(timeIntervalSince1970: stat.mtime.timeIntervalSince1970))
        } catch {
            throw Self.decodeFailure(error)
        }
    }

    // MARK: extended attributes

    public func getXattr(_ object: String, name: String) async throws(RADOSError) -> ByteBuffer {
        try await operate(object, [.getXattr(name)]).first ?? ByteBuffer()
    }

    public func setXattr(_ object: String, name: String, value: ByteBuffer) async throws(RADOSError) {
        _ = try await operate(object, [.setXattr(name, value: value)])
    }

    public func removeXattr(_ object: String, name: String) async throws(RADOSError) {
        _ = try await operate(object, [.removeXattr(name)])
    }

    /// Every extended attribute of the object.
    public func xattrs(_ object: String) async throws(RADOSError) -> [String: ByteBuffer] {
        let output = try await operate(object, [.getXattrs]).first ?? ByteBuffer()
        do { return try ObjectXattrs.decode(output) } catch { throw Self.decodeFailure(error) }
    }

    // MARK: omap

    /// Sets omap keys to values.
    public func omapSet(_ object: String, _ values: [String: ByteBuffer]) async throws(RADOSError) {
        _ = try await operate(object, [.omapSetValues(values)])
    }

    /// One page of omap entries after `startAfter`, and whether more follow.
    public func omapGet(_ object: String, startAfter: String = "", prefix: String = "", maxReturn: UInt64 = 512) async throws(RADOSError) -> (values: [String: ByteBuffer], more: Bool) {
        let output = try await operate(object, [.omapGetValues(startAfter: startAfter, filterPrefix: prefix, maxReturn: maxReturn)]).first ?? ByteBuffer()
        do {
            let page = try OmapValuesPage.decode(output, maxReturn: maxReturn)
            return (page.values, page.more)
        } catch {
            throw Self.decodeFailure(error)
        }
    }

    /// The values of `keys` that exist.
    public func omapGet(_ object: String, keys: [String]) async throws(RADOSError) -> [String: ByteBuffer] {
        let output = try await operate(object, [.omapGetValues(forKeys: keys)]).first ?? ByteBuffer()
        do { return try OmapValues.decode(output) } catch { throw Self.decodeFailure(error) }
    }

    /// One page of omap keys after `startAfter`, and whether more follow.
    public func omapKeys(_ object: String, startAfter: String = "", maxReturn: UInt64 = 512) async throws(RADOSError) -> (keys: [String], more: Bool) {
        let output = try await operate(object, [.omapGetKeys(startAfter: startAfter, maxReturn: maxReturn)]).first ?? ByteBuffer()
        do {
            let page = try OmapKeysPage.decode(output, maxReturn: maxReturn)
            return (page.keys, page.more)
        } catch {
            throw Self.decodeFailure(error)
        }
    }

    /// Every omap entry of the object (paging until the OSD says no more follow).
    public func omapAll(_ object: String) async throws(RADOSError) -> [String: ByteBuffer] {
        var all: [String: ByteBuffer] = [:]
        var after = ""
        while true {
            let output = try await operate(object, [.omapGetValues(startAfter: after, maxReturn: 512)]).first ?? ByteBuffer()
            let page: OmapValuesPage
            do { page = try OmapValuesPage.decode(output, maxReturn: 512) } catch { throw Self.decodeFailure(error) }
            all.merge(page.values) { _, new in new }
            guard page.more, let last = page.lastKey else { return all }
            after = last
        }
    }

    /// Removes omap keys.
    public func omapRemove(_ object: String, keys: [String]) async throws(RADOSError) {
        _ = try await operate(object, [.omapRemoveKeys(keys)])
    }

    /// Removes every omap key (`rados clearomap`).
    public func omapClear(_ object: String) async throws(RADOSError) {
        _ = try await operate(object, [.omapClear])
    }

    /// The omap header (empty when none was set).
    public func omapHeader(_ object: String) async throws(RADOSError) -> ByteBuffer {
        try await operate(object, [.omapGetHeader]).first ?? ByteBuffer()
    }

    /// Replaces the omap header.
    public func setOmapHeader(_ object: String, _ header: ByteBuffer) async throws(RADOSError) {
        _ = try await operate(object, [.omapSetHeader(header)])
    }

    // MARK: object classes

    /// Calls `method` of object class `className` on the object, returning its output.
    public func exec(_ object: String, class className: String, method: String, input: ByteBuffer = ByteBuffer()) async throws(RADOSError) -> ByteBuffer {
        let op: OSDOp
        do { op = try OSDOp.call(class: className, method: method, input: input) } catch { throw error as? RADOSError ?? RADOSError(.invalidArgument, "bad class call") }
        return try await operate(object, [op]).first ?? ByteBuffer()
    }

    // MARK: plumbing

    /// Runs `ops` atomically on one object and returns each op's output; the first
    /// failing op's errno becomes the error.
    ///
    /// Reads go to `snapID` (by default the context's read snapshot, for requests
    /// without writes); writes carry `snapContext` (by default the context's write snap
    /// context) so the OSD clones the object for snapshots it has not seen
    /// (self-managed snapshots). As in librados, a write goes to the head.
    package func operate(
        _ object: String, _ ops: [OSDOp],
        snapID: UInt64? = nil, snapContext: SnapContext? = nil
    ) async throws(RADOSError) -> [ByteBuffer] {
        // The callback form plus one continuation: the request is enqueued onto the loop
        // and the reply resumes this task directly (an actor call would also make the
        // reply hop through the Objecter's executor on its way back).
        try await withCheckedContinuation { (continuation: CheckedContinuation<Result<[ByteBuffer], RADOSError>, Never>) in
            operate(object, ops, snapID: snapID, snapContext: snapContext) { continuation.resume(returning: $0) }
        }.get()
    }

    /// ``operate(_:_:snapID:snapContext:)`` from any thread, without Swift concurrency:
    /// `completion` receives each op's output (or the error) on the client's event loop
    /// and must not block it.
    package func operate(
        _ object: String, _ ops: [OSDOp],
        snapID: UInt64? = nil, snapContext: SnapContext? = nil,
        completion: @escaping @Sendable (Result<[ByteBuffer], RADOSError>) -> Void
    ) {
        operate(ObjectName(object), SmallArray<OSDOp>(ops), snapID: snapID, snapContext: snapContext) { completion($0.map { Array($0) }) }
    }

    /// ``operate(_:_:snapID:snapContext:completion:)`` for the image I/O path: the object
    /// named by an ``ObjectName`` (a data object's name is not spelled into a string),
    /// the ops and the outputs in `SmallArray`s (one or two kept inline): no allocation
    /// here for any of them.
    package func operate(
        _ object: ObjectName, _ ops: SmallArray<OSDOp>,
        snapID: UInt64? = nil, snapContext: SnapContext? = nil,
        completion: @escaping @Sendable (Result<SmallArray<ByteBuffer>, RADOSError>) -> Void
    ) {
        let writes = ops.contains { $0.code.mayWrite }
        objecter.execute(
            pool: poolID, namespace: namespace, object: object, ops: ops,
            snapID: snapID ?? (writes ? MOSDOp.noSnap : readSnapID),
            snapContext: snapContext ?? (writes ? writeSnapContext : .empty),
            // Handed on as it is: the Objecter answers it in librados' terms
            // (`Objecter.outputs`), so no closure is made here per request.
            completion: completion)
    }

    /// An I/O context on another pool of the same cluster (the same namespace), e.g. an
    /// image's data pool.
    ///
    /// - Throws: ``RADOSError`` `.notFound` when no pool has that id.
    public func ioContext(poolID id: Int64) async throws(RADOSError) -> IOContext {
        guard let name = await objecter.osdmap.poolNames[id] else {
            throw RADOSError(.notFound, "pool \(id) does not exist", errno: 2)
        }
        return IOContext(objecter: objecter, poolID: id, poolName: name, namespace: namespace)
    }

    static func error(errno: Int32, object: String) -> RADOSError {
        let text = String(cString: strerror(errno))
        switch errno {
        case 2: return RADOSError(.notFound, "\(object): \(text)", errno: errno)
        case 17: return RADOSError(.alreadyExists, "\(object): \(text)", errno: errno)
        case 110: return RADOSError(.timedOut, "\(object): \(text)", errno: errno)
        case 1, 13: return RADOSError(.permissionDenied, "\(object): \(text)", errno: errno)
        default: return RADOSError(.clusterError, "\(object): \(text)", errno: errno)
        }
    }

    static func decodeFailure(_ error: any Error) -> RADOSError {
        (error as? DencError)?.radosError ?? RADOSError(.malformedData, "the OSD's answer does not decode")
    }
}
