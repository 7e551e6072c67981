import CCephABI
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RADOSProto
import RBDCache
import RBDCore

/// What an `rbd_image_t` points at: the open image, the I/O context it was opened
/// through (kept alive with it), and what the configuration says about its I/O.
final class ImageHandle: Sendable {
    let image: Image
    let ioContext: IOContextHandle
    /// `rbd_discard_granularity_bytes` / `rbd_skip_partial_discard` at open time.
    let discardGranularity: UInt64
    /// Where completions are announced when `rbd_set_image_notification` was called.
    let events = ImageEvents()

    init(image: Image, ioContext: IOContextHandle, discardGranularity: UInt64) {
        self.image = image
        self.ioContext = ioContext
        self.discardGranularity = discardGranularity
    }

    /// Rereads the header when another client changed it (the getters' `refresh_if_required`);
    /// free when nothing changed, so getters cost no thread hop then.
    func refreshIfRequired(_ function: StaticString) -> Int32 {
        guard image.isRefreshRequired else { return 0 }
        let image = self.image
        return Bridge.status(function) { () async throws(RADOSError) in try await image.refreshIfRequired() }
    }
}

// MARK: - create, open, close, remove

/// `rbd_create`: a format 2 image of `size` bytes named `name`. `order` (log2 of the
/// object size) in: 0 for `rbd_default_order` or 22; out: the order used. Features are
/// `rbd_default_features` from the configuration (Ceph's default 61 when unset).
@_cdecl("rbd_create")
public func rbd_create(_ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?, _ size: UInt64, _ order: UnsafeMutablePointer<Int32>?) -> Int32 {
    createImage("rbd_create", ioctx, name, size, features: nil, order)
}

/// `rbd_create2`: `rbd_create` with explicit feature bits.
@_cdecl("rbd_create2")
public func rbd_create2(_ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?, _ size: UInt64, _ features: UInt64, _ order: UnsafeMutablePointer<Int32>?) -> Int32 {
    createImage("rbd_create2", ioctx, name, size, features: RBDFeatures(rawValue: features), order)
}

private func createImage(_ function: StaticString, _ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?, _ size: UInt64, features: RBDFeatures?, _ order: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let name = String(cArgument: name) else { return -EINVAL }
    let configuration = handle.cluster.configuration
    var options = ImageCreateOptions(features: features)
    do {
        if let order, order.pointee != 0 {
            guard (12...25).contains(order.pointee) else { return -EDOM }
            options.order = UInt8(order.pointee)
        } else if let configured = try configuration.int("rbd_default_order"), configured != 0 {
            guard (12...25).contains(configured) else { return -EDOM }
            options.order = UInt8(configured)
        }
        if options.features == nil, let text = try configuration.string("rbd_default_features") {
            guard let parsed = RBDFeatures(parsing: text) else { return -EINVAL }
            options.features = parsed
        }
    } catch {
        return Bridge.code(error)
    }
    let context = handle.context
    let chosen = options
    let status = Bridge.status(function) { () async throws(RADOSError) in
        try await Image.create(context, name: name, size: size, options: chosen)
    }
    if status == 0, let order { order.pointee = Int32(chosen.order ?? ImageCreateOptions.defaultOrder) }
    return status
}

/// `rbd_open`: opens image `name` for reading and writing, or read-only at snapshot
/// `snapshot` when it is not NULL.
@_cdecl("rbd_open")
public func rbd_open(_ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?, _ image: UnsafeMutablePointer<rbd_image_t?>?, _ snapshot: UnsafePointer<CChar>?) -> Int32 {
    openImage("rbd_open", ioctx, name, image, snapshot, readOnly: false)
}

/// `rbd_open_read_only`: like `rbd_open`, refusing writes (and not watching the header).
@_cdecl("rbd_open_read_only")
public func rbd_open_read_only(_ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?, _ image: UnsafeMutablePointer<rbd_image_t?>?, _ snapshot: UnsafePointer<CChar>?) -> Int32 {
    openImage("rbd_open_read_only", ioctx, name, image, snapshot, readOnly: true)
}

private func openImage(_ function: StaticString, _ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<rbd_image_t?>?, _ snapshot: UnsafePointer<CChar>?, readOnly: Bool) -> Int32 {
    guard let name = String(cArgument: name) else { return -EINVAL }
    return openImage(function, ioctx, out, snapshot) { (context, snapshotName, cache, scheduler) throws(RADOSError) -> Image in
        try await Image.open(context, name: name, snapshot: snapshotName, readOnly: readOnly, cache: cache, scheduler: scheduler)
    }
}

/// Opens an image with `open` (by name or by id) and hands out its handle, with the
/// discard granularity the configuration asks for.
func openImage(
    _ function: StaticString, _ ioctx: rados_ioctx_t?, _ out: UnsafeMutablePointer<rbd_image_t?>?, _ snapshot: UnsafePointer<CChar>?,
    _ open: @escaping @Sendable (IOContext, String?, CachePolicy, IOScheduler) async throws(RADOSError) -> Image
) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let out else { return -EINVAL }
    let granularity: UInt64
    let cache: CachePolicy
    let scheduler: IOScheduler
    do {
        granularity = try Image.discardGranularity(handle.cluster.configuration)
        // librbd's cache and scheduler rules: `rbd_cache`, `rbd_cache_policy`,
        // `rbd_io_scheduler` and the rest, as the configuration (file, `rbd:` name
        // options, QEMU's cache mode) sets them.
        cache = try handle.cluster.configuration.cachePolicy()
        scheduler = try handle.cluster.configuration.ioScheduler()
    } catch {
        return Bridge.code(error)
    }
    let context = handle.context
    let snapshotName = String(cArgument: snapshot)
    let result = Bridge.run(function) { () async throws(RADOSError) -> Image in try await open(context, snapshotName, cache, scheduler) }
    guard case .success(let image) = result else { return Bridge.code(result) }
    out.pointee = Handle.retain(ImageHandle(image: image, ioContext: handle, discardGranularity: granularity))
    return 0
}

/// `rbd_close`: waits for the writes in flight, drops the header watch and frees the
/// handle. Called on the event loop (from a completion callback) it finishes in the
/// background and returns 0.
@_cdecl("rbd_close")
public func rbd_close(_ image: rbd_image_t?) -> Int32 {
    guard let image, let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    let opened = handle.image
    Handle.release(image, as: ImageHandle.self)
    if Bridge.onEventLoop {
        Task.detached { try? await opened.close() }
        return 0
    }
    return Bridge.status("rbd_close") { () async throws(RADOSError) in try await opened.close() }
}

/// `rbd_remove`: removes image `name` with its data. -ENOTEMPTY when it has
/// snapshots, -EBUSY while another client has it open.
@_cdecl("rbd_remove")
public func rbd_remove(_ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let name = String(cArgument: name) else { return -EINVAL }
    let context = handle.context
    return Bridge.status("rbd_remove") { () async throws(RADOSError) in try await Image.remove(context, name: name) }
}

/// `rbd_namespace_exists`: whether the RBD namespace `name` exists in the context's
/// pool (its `rbd_directory` is in the ready state, `dir_state_assert`).
@_cdecl("rbd_namespace_exists")
public func rbd_namespace_exists(_ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?, _ exists: UnsafeMutablePointer<Bool>?) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let name = String(cArgument: name), let exists else { return -EINVAL }
    guard !name.isEmpty else {
        exists.pointee = true
        return 0
    }
    var context = handle.context
    context.namespace = name
    let namespaced = context
    let result = Bridge.run("rbd_namespace_exists") { () async throws(RADOSError) -> Bool in
        try await ImageNamespaces.exists(namespaced)
    }
    guard case .success(let found) = result else { return Bridge.code(result) }
    exists.pointee = found
    return 0
}

// MARK: - what the image is

/// `rbd_stat`: size, object size and count, order and data object prefix. The
/// deprecated parent fields are -1 and "".
@_cdecl("rbd_stat")
public func rbd_stat(_ image: rbd_image_t?, _ info: UnsafeMutablePointer<rbd_image_info_t>?, _ infoSize: Int) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let info else { return -EINVAL }
    guard infoSize >= MemoryLayout<rbd_image_info_t>.size else { return -ERANGE }
    let status = handle.refreshIfRequired("rbd_stat")
    guard status == 0 else { return status }
    let opened = handle.image
    let header = opened.info
    let size = opened.size
    var out = rbd_image_info_t()
    out.size = size
    out.obj_size = header.objectSize
    out.num_objs = Striper.objectCount(opened.layout, imageSize: size)
    out.order = Int32(header.order)
    withUnsafeMutableBytes(of: &out.block_name_prefix) { raw in
        let bytes = Array(header.blockNamePrefix.utf8.prefix(raw.count - 1))
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    out.parent_pool = -1
    info.pointee = out
    return 0
}

/// `rbd_get_size`: the size of what is open (the snapshot's size at a snapshot).
@_cdecl("rbd_get_size")
public func rbd_get_size(_ image: rbd_image_t?, _ size: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let size else { return -EINVAL }
    let status = handle.refreshIfRequired("rbd_get_size")
    guard status == 0 else { return status }
    size.pointee = handle.image.size
    return 0
}

/// `rbd_get_features`: the image's feature bits (`RBD_FEATURE_*`).
@_cdecl("rbd_get_features")
public func rbd_get_features(_ image: rbd_image_t?, _ features: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let features else { return -EINVAL }
    let status = handle.refreshIfRequired("rbd_get_features")
    guard status == 0 else { return status }
    features.pointee = handle.image.info.features.rawValue
    return 0
}

/// `rbd_get_flags`: the image's `RBD_FLAG_*` bits (object map / fast diff invalid).
@_cdecl("rbd_get_flags")
public func rbd_get_flags(_ image: rbd_image_t?, _ flags: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let flags else { return -EINVAL }
    let status = handle.refreshIfRequired("rbd_get_flags")
    guard status == 0 else { return status }
    flags.pointee = handle.image.info.flags
    return 0
}

/// `rbd_get_parent_info`: the pool, image and snapshot names of a clone's parent;
/// -ENOENT when the image has no parent, -ERANGE when a buffer is too small.
@_cdecl("rbd_get_parent_info")
public func rbd_get_parent_info(
    _ image: rbd_image_t?,
    _ poolName: UnsafeMutablePointer<CChar>?, _ poolNameLength: Int,
    _ imageName: UnsafeMutablePointer<CChar>?, _ imageNameLength: Int,
    _ snapshotName: UnsafeMutablePointer<CChar>?, _ snapshotNameLength: Int
) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    let opened = handle.image
    let result = Bridge.run("rbd_get_parent_info") { () async throws(RADOSError) -> ImageParent.Names? in
        try await ImageParent.names(of: opened)
    }
    switch result {
    case .failure(let error): return Bridge.code(error)
    case .success(nil): return -ENOENT
    case .success(let names?):
        guard copyCString(names.pool, to: poolName, capacity: poolNameLength),
              copyCString(names.image, to: imageName, capacity: imageNameLength),
              copyCString(names.snapshot, to: snapshotName, capacity: snapshotNameLength)
        else { return -ERANGE }
        return 0
    }
}

// MARK: - operations

/// `rbd_resize`: grows or shrinks the image (shrinking removes the data past the end).
@_cdecl("rbd_resize")
public func rbd_resize(_ image: rbd_image_t?, _ size: UInt64) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    let opened = handle.image
    return Bridge.status("rbd_resize") { () async throws(RADOSError) in try await opened.resize(to: size, allowShrink: true) }
}

/// `rbd_invalidate_cache`: writes back what the cache holds, then drops every cached
/// byte, so the next reads go to the OSDs.
@_cdecl("rbd_invalidate_cache")
public func rbd_invalidate_cache(_ image: rbd_image_t?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    let opened = handle.image
    return Bridge.status("rbd_invalidate_cache") { () async throws(RADOSError) in try await opened.invalidateCache() }
}

/// `rbd_flush`: returns once every write issued before it is on the OSDs (the cache
/// written back), with the first writeback error since the last flush.
@_cdecl("rbd_flush")
public func rbd_flush(_ image: rbd_image_t?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    let opened = handle.image
    return Bridge.status("rbd_flush") { () async throws(RADOSError) in try await opened.flush() }
}

/// `rbd_read`: reads `length` bytes at `offset` into `buffer`; returns the bytes read
/// (fewer past the end of the image) or a negative errno.
@_cdecl("rbd_read")
public func rbd_read(_ image: rbd_image_t?, _ offset: UInt64, _ length: Int, _ buffer: UnsafeMutablePointer<CChar>?) -> Int {
    guard let handle = Handle.object(image, as: ImageHandle.self), length >= 0, buffer != nil || length == 0 else { return -Int(EINVAL) }
    let opened = handle.image
    let result = Bridge.run("rbd_read") { () async throws(RADOSError) -> ByteBuffer in
        try await opened.read(offset: offset, length: UInt64(length))
    }
    switch result {
    case .failure(let error): return Int(Bridge.code(error))
    case .success(let data):
        let count = min(data.readableBytes, length)
        data.withUnsafeReadableBytes { bytes in
            if count > 0 { UnsafeMutableRawPointer(buffer!).copyMemory(from: bytes.baseAddress!, byteCount: count) }
        }
        return count
    }
}

/// `rbd_write`: writes `length` bytes at `offset`; returns the bytes written.
@_cdecl("rbd_write")
public func rbd_write(_ image: rbd_image_t?, _ offset: UInt64, _ length: Int, _ buffer: UnsafePointer<CChar>?) -> Int {
    guard let handle = Handle.object(image, as: ImageHandle.self), length >= 0, buffer != nil || length == 0 else { return -Int(EINVAL) }
    let data = length == 0 ? ByteBuffer() : ByteBuffer(bytes: UnsafeRawBufferPointer(start: buffer, count: length))
    let opened = handle.image
    let result = Bridge.run("rbd_write") { () async throws(RADOSError) -> Int in
        try await opened.write(offset: offset, data: data)
    }
    switch result {
    case .failure(let error): return Int(Bridge.code(error))
    case .success: return length
    }
}

// MARK: - encryption

/// The passphrase of librbd's `rbd_encryption_luks1_format_options_t` /
/// `rbd_encryption_luks2_format_options_t` (`{ alg: int32, passphrase: const char *,
/// passphrase_size: size_t }`, 24 bytes on LP64; librbd refuses any other size with
/// EINVAL), and the algorithm (0 AES-128, 1 AES-256).
private enum EncryptionOptions {
    case failure(Int32)
    case success(EncryptionFormat, EncryptionAlgorithm?, [UInt8])
}

private func encryptionOptions(_ format: Int32, _ options: UnsafeMutableRawPointer?, _ optionsSize: Int) -> EncryptionOptions {
    let chosen: EncryptionFormat
    switch format {
    case 0: chosen = .luks1
    case 1: chosen = .luks2
    default: return .failure(-EOPNOTSUPP)
    }
    guard let options, optionsSize == 24 else { return .failure(-EINVAL) }
    let algorithm = options.loadUnaligned(fromByteOffset: 0, as: Int32.self)
    let passphrase = options.loadUnaligned(fromByteOffset: 8, as: UnsafePointer<UInt8>?.self)
    let size = options.loadUnaligned(fromByteOffset: 16, as: Int.self)
    guard size >= 0, passphrase != nil || size == 0 else { return .failure(-EINVAL) }
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: passphrase, count: size))
    let cipher: EncryptionAlgorithm? = algorithm == 0 ? .aes128 : algorithm == 1 ? .aes256 : nil
    return .success(chosen, cipher, bytes)
}

/// `rbd_encryption_format`: writes a LUKS1 or LUKS2 header with a new key (slot 0 for
/// the passphrase) and loads it on this handle.
@_cdecl("rbd_encryption_format")
public func rbd_encryption_format(_ image: rbd_image_t?, _ format: Int32, _ options: UnsafeMutableRawPointer?, _ optionsSize: Int) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    switch encryptionOptions(format, options, optionsSize) {
    case .failure(let code): return code
    case .success(let chosen, let algorithm, let passphrase):
        guard let algorithm else { return -EINVAL }
        let opened = handle.image
        return Bridge.status("rbd_encryption_format") { () async throws(RADOSError) in
            try await opened.encryptionFormat(chosen, passphrase: passphrase, algorithm: algorithm)
        }
    }
}

/// `rbd_encryption_load`: opens the image's LUKS header with the passphrase; I/O through
/// the handle is then encrypted and starts past the header (EPERM for a wrong passphrase).
@_cdecl("rbd_encryption_load")
public func rbd_encryption_load(_ image: rbd_image_t?, _ format: Int32, _ options: UnsafeMutableRawPointer?, _ optionsSize: Int) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    switch encryptionOptions(format, options, optionsSize) {
    case .failure(let code): return code
    case .success(let chosen, _, let passphrase):
        let opened = handle.image
        return Bridge.status("rbd_encryption_load") { () async throws(RADOSError) in
            try await opened.encryptionLoad(chosen, passphrase: passphrase)
        }
    }
}
