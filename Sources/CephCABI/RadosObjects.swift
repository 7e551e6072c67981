import CCephABI
import Foundation
import NIOCore
import RADOSProto

// Object I/O through librados' C API: what fio's `rados` engine and simple C clients
// use. Asynchronous calls go onto the client's loop as callbacks (no task); their
// completions are ``CompletionHandle``s, like librbd's.

/// `rados_write`: writes `length` bytes at `offset` of object `oid`.
@_cdecl("rados_write")
public func rados_write(_ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ buffer: UnsafePointer<CChar>?, _ length: Int, _ offset: UInt64) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let oid = String(cArgument: oid), length >= 0, buffer != nil || length == 0 else { return -EINVAL }
    let data = length == 0 ? ByteBuffer() : ByteBuffer(bytes: UnsafeRawBufferPointer(start: buffer, count: length))
    let context = handle.context
    return Bridge.status("rados_write") { () async throws(RADOSError) in try await context.write(oid, data, offset: offset) }
}

/// `rados_read`: reads up to `length` bytes at `offset` of object `oid`; returns the
/// bytes read.
@_cdecl("rados_read")
public func rados_read(_ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ buffer: UnsafeMutablePointer<CChar>?, _ length: Int, _ offset: UInt64) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let oid = String(cArgument: oid), length >= 0, buffer != nil || length == 0 else { return -EINVAL }
    let context = handle.context
    let result = Bridge.run("rados_read") { () async throws(RADOSError) -> ByteBuffer in
        try await context.read(oid, offset: offset, length: UInt64(length))
    }
    guard case .success(let data) = result else { return Bridge.code(result) }
    let count = min(data.readableBytes, length)
    data.withUnsafeReadableBytes { bytes in
        if count > 0 { UnsafeMutableRawPointer(buffer!).copyMemory(from: bytes.baseAddress!, byteCount: count) }
    }
    return Int32(clamping: count)
}

/// `rados_remove`: removes object `oid` (-ENOENT when there is none).
@_cdecl("rados_remove")
public func rados_remove(_ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let oid = String(cArgument: oid) else { return -EINVAL }
    let context = handle.context
    return Bridge.status("rados_remove") { () async throws(RADOSError) in try await context.remove(oid) }
}

// MARK: - asynchronous calls

/// `rados_aio_create_completion`: a completion calling `complete` then `safe` (both
/// optional) with the completion and `argument`.
@_cdecl("rados_aio_create_completion")
public func rados_aio_create_completion(_ argument: UnsafeMutableRawPointer?, _ complete: rados_callback_t?, _ safe: rados_callback_t?, _ out: UnsafeMutablePointer<rados_completion_t?>?) -> Int32 {
    guard let out else { return -EINVAL }
    out.pointee = Handle.retain(CompletionHandle(callback: complete, safeCallback: safe, argument: argument))
    return 0
}

/// `rados_aio_create_completion2`: a completion calling `complete`.
@_cdecl("rados_aio_create_completion2")
public func rados_aio_create_completion2(_ argument: UnsafeMutableRawPointer?, _ complete: rados_callback_t?, _ out: UnsafeMutablePointer<rados_completion_t?>?) -> Int32 {
    rados_aio_create_completion(argument, complete, nil, out)
}

/// `rados_aio_is_complete`: 1 once the operation has finished (also in its callback).
@_cdecl("rados_aio_is_complete")
public func rados_aio_is_complete(_ completion: rados_completion_t?) -> Int32 {
    rbd_aio_is_complete(completion)
}

/// `rados_aio_wait_for_complete`: blocks until complete (see `rbd_aio_wait_for_complete`).
@_cdecl("rados_aio_wait_for_complete")
public func rados_aio_wait_for_complete(_ completion: rados_completion_t?) -> Int32 {
    rbd_aio_wait_for_complete(completion)
}

/// `rados_aio_get_return_value`: bytes read, 0 for writes, or a negative errno.
@_cdecl("rados_aio_get_return_value")
public func rados_aio_get_return_value(_ completion: rados_completion_t?) -> Int32 {
    Int32(clamping: rbd_aio_get_return_value(completion))
}

/// `rados_aio_release`: drops the caller's reference.
@_cdecl("rados_aio_release")
public func rados_aio_release(_ completion: rados_completion_t?) {
    rbd_aio_release(completion)
}

/// Sends `ops` on object `oid` and completes `completion` with `value` of the outputs.
private func operate(
    _ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ completion: rados_completion_t?, _ ops: [OSDOp],
    _ value: @escaping @Sendable ([ByteBuffer]) -> Int = { _ in 0 }
) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let oid = String(cArgument: oid),
          let done = Handle.object(completion, as: CompletionHandle.self)
    else { return -EINVAL }
    handle.context.operate(oid, ops) { result in
        switch result {
        case .success(let outputs): done.finish(value(outputs))
        case .failure(let error): done.finish(Int(Bridge.code(error)))
        }
    }
    return 0
}

/// `rados_aio_write`: writes `length` bytes at `offset` of object `oid`.
@_cdecl("rados_aio_write")
public func rados_aio_write(_ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ completion: rados_completion_t?, _ buffer: UnsafePointer<CChar>?, _ length: Int, _ offset: UInt64) -> Int32 {
    guard length >= 0, buffer != nil || length == 0 else { return -EINVAL }
    let data = length == 0 ? ByteBuffer() : ByteBuffer(bytes: UnsafeRawBufferPointer(start: buffer, count: length))
    return operate(ioctx, oid, completion, [.write(offset: offset, data: data)])
}

/// `rados_aio_write_full`: replaces the content of object `oid`.
@_cdecl("rados_aio_write_full")
public func rados_aio_write_full(_ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ completion: rados_completion_t?, _ buffer: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
    guard length >= 0, buffer != nil || length == 0 else { return -EINVAL }
    let data = length == 0 ? ByteBuffer() : ByteBuffer(bytes: UnsafeRawBufferPointer(start: buffer, count: length))
    return operate(ioctx, oid, completion, [.writeFull(data)])
}

/// `rados_aio_read`: reads up to `length` bytes at `offset` of object `oid` into
/// `buffer`; the return value is the bytes read.
@_cdecl("rados_aio_read")
public func rados_aio_read(_ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ completion: rados_completion_t?, _ buffer: UnsafeMutablePointer<CChar>?, _ length: Int, _ offset: UInt64) -> Int32 {
    guard length >= 0, buffer != nil || length == 0 else { return -EINVAL }
    let target = CPointer(raw: UnsafeMutableRawPointer(buffer))
    return operate(ioctx, oid, completion, [.read(offset: offset, length: UInt64(length))]) { outputs in
        guard let data = outputs.first else { return 0 }
        let count = min(data.readableBytes, length)
        data.withUnsafeReadableBytes { bytes in
            if count > 0 { target.raw!.copyMemory(from: bytes.baseAddress!, byteCount: count) }
        }
        return count
    }
}

/// `rados_aio_remove`: removes object `oid`.
@_cdecl("rados_aio_remove")
public func rados_aio_remove(_ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ completion: rados_completion_t?) -> Int32 {
    operate(ioctx, oid, completion, [.delete])
}

// MARK: - write operations

/// What a `rados_write_op_t` points at: the ops collected so far, sent as one request.
final class WriteOperationHandle: @unchecked Sendable {
    // Only the thread building the operation touches it (librados' rule too).
    var ops: [OSDOp] = []
}

/// `rados_create_write_op`: an empty compound write.
@_cdecl("rados_create_write_op")
public func rados_create_write_op() -> UnsafeMutableRawPointer? {
    Handle.retain(WriteOperationHandle())
}

/// `rados_release_write_op`: frees it.
@_cdecl("rados_release_write_op")
public func rados_release_write_op(_ operation: UnsafeMutableRawPointer?) {
    guard let operation else { return }
    Handle.release(operation, as: WriteOperationHandle.self)
}

/// `rados_write_op_zero`: zeroes `length` bytes at `offset`.
@_cdecl("rados_write_op_zero")
public func rados_write_op_zero(_ operation: UnsafeMutableRawPointer?, _ offset: UInt64, _ length: UInt64) {
    Handle.object(operation, as: WriteOperationHandle.self)?.ops.append(.zero(offset: offset, length: length))
}

/// `rados_write_op_write`: writes `length` bytes at `offset`.
@_cdecl("rados_write_op_write")
public func rados_write_op_write(_ operation: UnsafeMutableRawPointer?, _ buffer: UnsafePointer<CChar>?, _ length: Int, _ offset: UInt64) {
    guard let handle = Handle.object(operation, as: WriteOperationHandle.self), length >= 0, buffer != nil || length == 0 else { return }
    let data = length == 0 ? ByteBuffer() : ByteBuffer(bytes: UnsafeRawBufferPointer(start: buffer, count: length))
    handle.ops.append(.write(offset: offset, data: data))
}

/// `rados_write_op_remove`: removes the object.
@_cdecl("rados_write_op_remove")
public func rados_write_op_remove(_ operation: UnsafeMutableRawPointer?) {
    Handle.object(operation, as: WriteOperationHandle.self)?.ops.append(.delete)
}

/// `rados_aio_write_op_operate`: sends the collected ops on object `oid` as one atomic
/// request. `mtime` and `flags` are ignored.
@_cdecl("rados_aio_write_op_operate")
public func rados_aio_write_op_operate(_ operation: UnsafeMutableRawPointer?, _ ioctx: rados_ioctx_t?, _ completion: rados_completion_t?, _ oid: UnsafePointer<CChar>?, _ mtime: UnsafeMutablePointer<time_t>?, _ flags: Int32) -> Int32 {
    guard let handle = Handle.object(operation, as: WriteOperationHandle.self) else { return -EINVAL }
    return operate(ioctx, oid, completion, handle.ops)
}

/// `rados_write_op_operate`: the same, waiting for the result.
@_cdecl("rados_write_op_operate")
public func rados_write_op_operate(_ operation: UnsafeMutableRawPointer?, _ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ mtime: UnsafeMutablePointer<time_t>?, _ flags: Int32) -> Int32 {
    guard let handle = Handle.object(operation, as: WriteOperationHandle.self),
          let context = Handle.object(ioctx, as: IOContextHandle.self)?.context, let oid = String(cArgument: oid)
    else { return -EINVAL }
    let ops = handle.ops
    return Bridge.status("rados_write_op_operate") { () async throws(RADOSError) in _ = try await context.operate(oid, ops) }
}
