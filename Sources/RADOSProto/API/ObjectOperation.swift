import Foundation
import NIOCore

/// Several changes to one object, applied atomically in one request, like librados'
/// `ObjectWriteOperation` / `rados_write_op_t`: if any op fails (an assertion, an
/// exclusive create), none takes effect.
///
/// ```swift
/// var op = ObjectWriteOperation()
/// op.assertExists()
/// op.compareXattr("state", equals: ByteBuffer(string: "ready"))
/// op.write(ByteBuffer(string: "payload"), offset: 0)
/// op.setXattr("state", ByteBuffer(string: "written"))
/// try await io.operate("job-1", op)
/// ```
public struct ObjectWriteOperation: Sendable {
    var ops: [OSDOp] = []

    public init() {}

    /// Whether no op was added.
    public var isEmpty: Bool { ops.isEmpty }

    /// Fails the request with ENOENT unless the object exists (`rados_write_op_assert_exists`).
    public mutating func assertExists() { ops.append(OSDOp(.stat)) }
    /// Fails with ERANGE/EOVERFLOW unless the object's version is `version` (`rados_write_op_assert_version`).
    public mutating func assertVersion(_ version: UInt64) { ops.append(.assertVersion(version)) }
    /// Fails with ECANCELED unless `value` equals the stored attribute `name` (byte-wise).
    public mutating func compareXattr(_ name: String, equals value: ByteBuffer) { ops.append(.compareXattr(name, .equal, .bytes(value))) }
    /// Creates the object; `exclusive` fails with EEXIST if it exists.
    public mutating func create(exclusive: Bool) { ops.append(.create(exclusive: exclusive)) }
    public mutating func write(_ data: ByteBuffer, offset: UInt64) { ops.append(.write(offset: offset, data: data)) }
    public mutating func writeFull(_ data: ByteBuffer) { ops.append(.writeFull(data)) }
    public mutating func append(_ data: ByteBuffer) { ops.append(.append(data)) }
    public mutating func zero(offset: UInt64, length: UInt64) { ops.append(.zero(offset: offset, length: length)) }
    public mutating func truncate(size: UInt64) { ops.append(.truncate(size: size)) }
    public mutating func remove() { ops.append(.delete) }
    public mutating func setXattr(_ name: String, _ value: ByteBuffer) { ops.append(.setXattr(name, value: value)) }
    public mutating func removeXattr(_ name: String) { ops.append(.removeXattr(name)) }
    public mutating func omapSet(_ values: [String: ByteBuffer]) { ops.append(.omapSetValues(values)) }
    public mutating func omapRemove(keys: [String]) { ops.append(.omapRemoveKeys(keys)) }
    public mutating func omapClear() { ops.append(.omapClear) }
    public mutating func setOmapHeader(_ header: ByteBuffer) { ops.append(.omapSetHeader(header)) }
    /// Hints the object's expected size and write size (advisory).
    public mutating func setAllocHint(expectedObjectSize: UInt64, expectedWriteSize: UInt64) {
        ops.append(.setAllocHint(expectedObjectSize: expectedObjectSize, expectedWriteSize: expectedWriteSize))
    }
    /// Calls an object-class method as part of the request (its output is dropped).
    public mutating func exec(class className: String, method: String, input: ByteBuffer = ByteBuffer()) throws(RADOSError) {
        do { ops.append(try OSDOp.call(class: className, method: method, input: input)) } catch {
            throw error as? RADOSError ?? RADOSError(.invalidArgument, "bad class call")
        }
    }
}

/// Several reads of one object in one request, like librados' `ObjectReadOperation`.
/// Each `add…` returns a handle to read its result from the ``ObjectReadResult``.
///
/// ```swift
/// var op = ObjectReadOperation()
/// let size = op.stat()
/// let data = op.read(offset: 0, length: 4096)
/// let result = try await io.operate("job-1", op)
/// print(try result[size].size, try result[data].readableBytes)
/// ```
public struct ObjectReadOperation: Sendable {
    var ops: [OSDOp] = []

    public init() {}

    /// Where one op's result will be, and how to decode it.
    public struct Handle<Value>: Sendable {
        let index: Int
        let decode: @Sendable (ByteBuffer) throws -> Value
    }

    private mutating func add<Value>(_ op: OSDOp, _ decode: @escaping @Sendable (ByteBuffer) throws -> Value) -> Handle<Value> {
        ops.append(op)
        return Handle(index: ops.count - 1, decode: decode)
    }

    public mutating func assertExists() { ops.append(OSDOp(.stat)) }
    public mutating func assertVersion(_ version: UInt64) { ops.append(.assertVersion(version)) }
    public mutating func compareXattr(_ name: String, equals value: ByteBuffer) { ops.append(.compareXattr(name, .equal, .bytes(value))) }

    @discardableResult public mutating func read(offset: UInt64, length: UInt64) -> Handle<ByteBuffer> {
        add(.read(offset: offset, length: length)) { $0 }
    }

    @discardableResult public mutating func stat() -> Handle<IOContext.ObjectInfo> {
        add(.stat) { output in
            let stat = try ObjectStat.decode(output)
            return IOContext.ObjectInfo(size: stat.size, modified: Date(timeIntervalSince1970: stat.mtime.timeIntervalSince1970))
        }
    }

    @discardableResult public mutating func getXattr(_ name: String) -> Handle<ByteBuffer> { add(.getXattr(name)) { $0 } }
    @discardableResult public mutating func xattrs() -> Handle<[String: ByteBuffer]> { add(.getXattrs) { try ObjectXattrs.decode($0) } }
    @discardableResult public mutating func omapGet(keys: [String]) -> Handle<[String: ByteBuffer]> {
        add(.omapGetValues(forKeys: keys)) { try OmapValues.decode($0) }
    }
    @discardableResult public mutating func omapKeys(startAfter: String = "", maxReturn: UInt64 = 512) -> Handle<[String]> {
        add(.omapGetKeys(startAfter: startAfter, maxReturn: maxReturn)) { try OmapKeysPage.decode($0, maxReturn: maxReturn).keys }
    }
    @discardableResult public mutating func omapHeader() -> Handle<ByteBuffer> { add(.omapGetHeader) { $0 } }
    @discardableResult public mutating func exec(class className: String, method: String, input: ByteBuffer = ByteBuffer()) throws(RADOSError) -> Handle<ByteBuffer> {
        do { return add(try OSDOp.call(class: className, method: method, input: input)) { $0 } } catch {
            throw error as? RADOSError ?? RADOSError(.invalidArgument, "bad class call")
        }
    }
}

/// The outputs of an ``ObjectReadOperation``.
public struct ObjectReadResult: Sendable {
    let outputs: [ByteBuffer]

    /// The result of the op `handle` stands for.
    ///
    /// - Throws: ``RADOSError`` `.malformedData` when the OSD's output does not decode.
    public subscript<Value>(handle: ObjectReadOperation.Handle<Value>) -> Value {
        get throws(RADOSError) {
            let output = handle.index < outputs.count ? outputs[handle.index] : ByteBuffer()
            do { return try handle.decode(output) } catch { throw IOContext.decodeFailure(error) }
        }
    }
}

extension IOContext {
    /// Applies `operation` atomically (one request, carrying the write snap context).
    public func operate(_ object: String, _ operation: ObjectWriteOperation) async throws(RADOSError) {
        guard !operation.isEmpty else { return }
        _ = try await operate(object, operation.ops)
    }

    /// Runs `operation`'s reads in one request (at the read snapshot, if set).
    public func operate(_ object: String, _ operation: ObjectReadOperation) async throws(RADOSError) -> ObjectReadResult {
        ObjectReadResult(outputs: try await operate(object, operation.ops))
    }
}
