import Foundation
import NIOCore

/// Object I/O in one pool (and namespace) of a cluster, like librados' `IoCtx`.
///
/// Every call is one `MOSDOp` to the object's primary OSD, atomic on that object.
/// Errors carry librados' errno: `.notFound` (ENOENT) for a missing object,
/// `.alreadyExists` (EEXIST), otherwise `.clusterError` with the OSD's errno.
public struct IOContext: Sendable {
    let objecter: Objecter
    /// The pool's id.
    public let poolID: Int64
    /// The pool's name.
    public let poolName: String
    /// The namespace within the pool ("" is the default namespace).
    public var namespace: String

    init(objecter: Objecter, poolID: Int64, poolName: String, namespace: String) {
        self.objecter = objecter
        self.poolID = poolID
        self.poolName = poolName
        self.namespace = namespace
    }

    /// Size and modification time of an object.
    public struct ObjectInfo: Sendable, Hashable {
        public var size: UInt64
        public var modified: Date
    }

    // MARK: data

    /// Reads up to `length` bytes at `offset` (fewer at the end of the object).
    public func read(_ object: String, offset: UInt64 = 0, length: UInt64) async throws(RADOSError) -> ByteBuffer {
        try await operate(object, [.read(offset: offset, length: length)]).first ?? ByteBuffer()
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

    /// Removes omap keys.
    public func omapRemove(_ object: String, keys: [String]) async throws(RADOSError) {
        _ = try await operate(object, [.omapRemoveKeys(keys)])
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
    /// Reads go to `snapID` (the head by default); writes carry `snapContext` so the
    /// OSD clones the object for snapshots it has not seen (self-managed snapshots).
    package func operate(
        _ object: String, _ ops: [OSDOp],
        snapID: UInt64 = MOSDOp.noSnap, snapContext: SnapContext = .empty
    ) async throws(RADOSError) -> [ByteBuffer] {
        let done: Objecter.Reply
        do {
            done = try await objecter.execute(pool: poolID, namespace: namespace, object: object, ops: ops, snapID: snapID, snapContext: snapContext)
        } catch {
            throw error as? RADOSError ?? RADOSError(.connectionFailed, "the request failed", details: "\(error)")
        }
        let failure = done.reply.result < 0 ? done.reply.result : (done.reply.returnValues.first { $0 < 0 } ?? 0)
        guard failure >= 0 else { throw Self.error(errno: -failure, object: object) }
        return done.outputs
    }

    /// An I/O context on another pool of the same cluster (the same namespace), e.g. an
    /// image's data pool.
    ///
    /// - Throws: ``RADOSError`` `.notFound` when no pool has that id.
    package func ioContext(poolID id: Int64) async throws(RADOSError) -> IOContext {
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
        case 1, 13: return RADOSError(.permissionDenied, "\(object): \(text)", errno: errno)
        default: return RADOSError(.clusterError, "\(object): \(text)", errno: errno)
        }
    }

    static func decodeFailure(_ error: any Error) -> RADOSError {
        (error as? DencError)?.radosError ?? RADOSError(.malformedData, "the OSD's answer does not decode")
    }
}
