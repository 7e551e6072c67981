import CCephABI
import Foundation
import NIOCore
import RADOSProto

// Object I/O through librados' C API: the synchronous calls are implemented; the
// asynchronous ones and write operations (used by fio's `rados` engine) exist so that
// programs importing them load, and return -EOPNOTSUPP (said once on stderr).

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

// MARK: - not implemented yet

@_cdecl("rados_aio_create_completion")
public func rados_aio_create_completion(_ argument: UnsafeMutableRawPointer?, _ complete: rados_callback_t?, _ safe: rados_callback_t?, _ out: UnsafeMutablePointer<rados_completion_t?>?) -> Int32 {
    Diagnostics.notImplemented("rados_aio_create_completion")
}

@_cdecl("rados_aio_is_complete")
public func rados_aio_is_complete(_ completion: rados_completion_t?) -> Int32 {
    Diagnostics.notImplemented("rados_aio_is_complete")
}

@_cdecl("rados_aio_release")
public func rados_aio_release(_ completion: rados_completion_t?) {
    _ = Diagnostics.notImplemented("rados_aio_release")
}

@_cdecl("rados_aio_read")
public func rados_aio_read(_ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ completion: rados_completion_t?, _ buffer: UnsafeMutablePointer<CChar>?, _ length: Int, _ offset: UInt64) -> Int32 {
    Diagnostics.notImplemented("rados_aio_read")
}

@_cdecl("rados_aio_write")
public func rados_aio_write(_ ioctx: rados_ioctx_t?, _ oid: UnsafePointer<CChar>?, _ completion: rados_completion_t?, _ buffer: UnsafePointer<CChar>?, _ length: Int, _ offset: UInt64) -> Int32 {
    Diagnostics.notImplemented("rados_aio_write")
}

/// Returns NULL (librados returns a new write operation).
@_cdecl("rados_create_write_op")
public func rados_create_write_op() -> UnsafeMutableRawPointer? {
    _ = Diagnostics.notImplemented("rados_create_write_op")
    return nil
}

@_cdecl("rados_release_write_op")
public func rados_release_write_op(_ operation: UnsafeMutableRawPointer?) {
    _ = Diagnostics.notImplemented("rados_release_write_op")
}

@_cdecl("rados_write_op_zero")
public func rados_write_op_zero(_ operation: UnsafeMutableRawPointer?, _ offset: UInt64, _ length: UInt64) {
    _ = Diagnostics.notImplemented("rados_write_op_zero")
}

@_cdecl("rados_aio_write_op_operate")
public func rados_aio_write_op_operate(_ operation: UnsafeMutableRawPointer?, _ ioctx: rados_ioctx_t?, _ completion: rados_completion_t?, _ oid: UnsafePointer<CChar>?, _ mtime: UnsafeMutablePointer<time_t>?, _ flags: Int32) -> Int32 {
    Diagnostics.notImplemented("rados_aio_write_op_operate")
}
