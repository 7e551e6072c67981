import CCephABI
import Foundation
import NIOCore
import NIOConcurrencyHelpers
import RADOSProto
import RBDCore

// The newer forms of librbd's basic calls (create options, listing with ids, flags and
// progress callbacks), which python3-rbd (and so OpenStack's drivers) call instead of
// the ones QEMU uses. Semantics from ceph/ceph `src/include/rbd/librbd.h`.

// MARK: - create options

/// What an `rbd_image_options_t` points at: the options set so far, by number
/// (`RBD_IMAGE_OPTION_*`).
final class ImageOptionsHandle: Sendable {
    enum Value: Sendable, Equatable {
        case number(UInt64)
        case text(String)
    }

    let values = NIOLockedValueBox<[Int32: Value]>([:])

    static let format: Int32 = 0
    static let features: Int32 = 1
    static let order: Int32 = 2
    static let stripeUnit: Int32 = 3
    static let stripeCount: Int32 = 4
    static let featuresSet: Int32 = 8
    static let featuresClear: Int32 = 9
    static let dataPool: Int32 = 10
    static let cloneFormat: Int32 = 12
    /// Options that take a string (`RBD_IMAGE_OPTION_JOURNAL_POOL`, `_DATA_POOL`).
    static let textOptions: Set<Int32> = [7, 10]
    /// The highest option number Pacific knows (`RBD_IMAGE_OPTION_MIRROR_IMAGE_MODE`).
    static let lastOption: Int32 = 13

    func number(_ option: Int32) -> UInt64? {
        if case .number(let value) = values.withLockedValue({ $0[option] }) { return value }
        return nil
    }

    func text(_ option: Int32) -> String? {
        if case .text(let value) = values.withLockedValue({ $0[option] }) { return value }
        return nil
    }
}

/// `rbd_image_options_create`.
@_cdecl("rbd_image_options_create")
public func rbd_image_options_create(_ options: UnsafeMutablePointer<rbd_image_options_t?>?) {
    options?.pointee = Handle.retain(ImageOptionsHandle())
}

/// `rbd_image_options_destroy`.
@_cdecl("rbd_image_options_destroy")
public func rbd_image_options_destroy(_ options: rbd_image_options_t?) {
    guard let options, Handle.object(options, as: ImageOptionsHandle.self) != nil else { return }
    Handle.release(options, as: ImageOptionsHandle.self)
}

/// `rbd_image_options_set_uint64`: -EINVAL for an unknown or string option.
@_cdecl("rbd_image_options_set_uint64")
public func rbd_image_options_set_uint64(_ options: rbd_image_options_t?, _ option: Int32, _ value: UInt64) -> Int32 {
    guard let handle = Handle.object(options, as: ImageOptionsHandle.self), (0...ImageOptionsHandle.lastOption).contains(option),
          !ImageOptionsHandle.textOptions.contains(option) else { return -EINVAL }
    handle.values.withLockedValue { $0[option] = .number(value) }
    return 0
}

/// `rbd_image_options_set_string`: -EINVAL for an unknown or numeric option.
@_cdecl("rbd_image_options_set_string")
public func rbd_image_options_set_string(_ options: rbd_image_options_t?, _ option: Int32, _ value: UnsafePointer<CChar>?) -> Int32 {
    guard let handle = Handle.object(options, as: ImageOptionsHandle.self), ImageOptionsHandle.textOptions.contains(option),
          let value = String(cArgument: value) else { return -EINVAL }
    handle.values.withLockedValue { $0[option] = .text(value) }
    return 0
}

/// `rbd_create4`: a format 2 image of `size` bytes with the given options (features,
/// order, striping, data pool; unset ones from the configuration's `rbd_default_*`).
/// Format 1 (`RBD_IMAGE_OPTION_FORMAT` 1) is refused with -EINVAL, as SwiftRBD only
/// makes format 2 images.
@_cdecl("rbd_create4")
public func rbd_create4(_ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?, _ size: UInt64, _ options: rbd_image_options_t?) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let name = String(cArgument: name) else { return -EINVAL }
    let given = Handle.object(options, as: ImageOptionsHandle.self)
    if let format = given?.number(ImageOptionsHandle.format), format != 2 { return -EINVAL }
    let configuration = handle.cluster.configuration
    var create = ImageCreateOptions()
    do {
        if let order = given?.number(ImageOptionsHandle.order), order != 0 {
            guard (12...25).contains(order) else { return -EDOM }
            create.order = UInt8(order)
        } else if let configured = try configuration.int("rbd_default_order"), configured != 0 {
            guard (12...25).contains(configured) else { return -EDOM }
            create.order = UInt8(configured)
        }
        if let bits = given?.number(ImageOptionsHandle.features) {
            create.features = RBDFeatures(rawValue: bits)
        } else if let text = try configuration.string("rbd_default_features") {
            guard let parsed = RBDFeatures(parsing: text) else { return -EINVAL }
            create.features = parsed
        }
        if let set = given?.number(ImageOptionsHandle.featuresSet) {
            create.features = (create.features ?? .pacificDefault).union(RBDFeatures(rawValue: set))
        }
        if let clear = given?.number(ImageOptionsHandle.featuresClear) {
            create.features = (create.features ?? .pacificDefault).subtracting(RBDFeatures(rawValue: clear))
        }
        let defaultUnit = try configuration.int("rbd_default_stripe_unit") ?? 0
        let defaultCount = try configuration.int("rbd_default_stripe_count") ?? 0
        create.stripeUnit = given?.number(ImageOptionsHandle.stripeUnit) ?? UInt64(max(0, defaultUnit))
        create.stripeCount = given?.number(ImageOptionsHandle.stripeCount) ?? UInt64(max(0, defaultCount))
    } catch {
        return Bridge.code(error)
    }
    let dataPool = given?.text(ImageOptionsHandle.dataPool) ?? ((try? configuration.string("rbd_default_data_pool")) ?? nil)
    let context = handle.context
    let client = handle.cluster.client
    let chosen = create
    return Bridge.status("rbd_create4") { () async throws(RADOSError) in
        var options = chosen
        if let dataPool, !dataPool.isEmpty {
            guard let id = await client?.poolID(named: dataPool) else {
                throw RADOSError(.notFound, "data pool \(dataPool) does not exist", errno: ENOENT)
            }
            options.dataPoolID = id
        }
        _ = try await Image.create(context, name: name, size: size, options: options)
    }
}

// MARK: - listing

/// `rbd_list2`: the images of the pool (namespace) with their ids, sorted by name;
/// -ERANGE with `*max` set when the array is too small. Free the strings with
/// `rbd_image_spec_list_cleanup`.
@_cdecl("rbd_list2")
public func rbd_list2(_ ioctx: rados_ioctx_t?, _ images: UnsafeMutablePointer<rbd_image_spec_t>?, _ max: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let max else { return -EINVAL }
    let context = handle.context
    let result = Bridge.run("rbd_list2") { () async throws(RADOSError) -> [(name: String, id: String)] in
        var found: [(name: String, id: String)] = []
        for name in try await ImageDirectory.list(context) {
            found.append((name, try await ImageInfo.imageID(context, name: name)))
        }
        return found
    }
    guard case .success(let found) = result else { return Bridge.code(result) }
    let capacity = max.pointee
    max.pointee = found.count
    guard found.count <= capacity else { return -ERANGE }
    guard let images else { return found.isEmpty ? 0 : -EINVAL }
    for (index, image) in found.enumerated() {
        images[index] = rbd_image_spec_t(id: strdup(image.id), name: strdup(image.name))
    }
    return 0
}

/// `rbd_image_spec_list_cleanup`: frees what `rbd_list2` filled in.
@_cdecl("rbd_image_spec_list_cleanup")
public func rbd_image_spec_list_cleanup(_ images: UnsafeMutablePointer<rbd_image_spec_t>?, _ count: Int) {
    guard let images else { return }
    for index in 0..<count {
        free(images[index].id)
        free(images[index].name)
        images[index] = rbd_image_spec_t(id: nil, name: nil)
    }
}

/// `rbd_list`: the names, each NUL-terminated, one after the other; returns the bytes
/// used, or -ERANGE with `*size` set to the bytes needed.
@_cdecl("rbd_list")
public func rbd_list(_ ioctx: rados_ioctx_t?, _ names: UnsafeMutablePointer<CChar>?, _ size: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let handle = Handle.object(ioctx, as: IOContextHandle.self), let size else { return -EINVAL }
    let context = handle.context
    let result = Bridge.run("rbd_list") { () async throws(RADOSError) -> [String] in try await ImageDirectory.list(context) }
    guard case .success(let found) = result else { return Bridge.code(result) }
    let bytes = found.flatMap { Array($0.utf8CString) }
    let capacity = size.pointee
    size.pointee = bytes.count
    guard bytes.count <= capacity, let names else { return bytes.isEmpty ? 0 : -ERANGE }
    for (index, byte) in bytes.enumerated() { names[index] = byte }
    return Int32(clamping: bytes.count)
}

/// `rbd_remove_with_progress`: `rbd_remove`, reporting 100% once done.
@_cdecl("rbd_remove_with_progress")
public func rbd_remove_with_progress(_ ioctx: rados_ioctx_t?, _ name: UnsafePointer<CChar>?, _ progress: librbd_progress_fn_t?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    let status = rbd_remove(ioctx, name)
    if status == 0 { _ = progress?(1, 1, argument) }
    return status
}

// MARK: - opening by id, identity

/// `rbd_open_by_id`: opens the image whose id is `id`.
@_cdecl("rbd_open_by_id")
public func rbd_open_by_id(_ ioctx: rados_ioctx_t?, _ id: UnsafePointer<CChar>?, _ image: UnsafeMutablePointer<rbd_image_t?>?, _ snapshot: UnsafePointer<CChar>?) -> Int32 {
    openByID("rbd_open_by_id", ioctx, id, image, snapshot, readOnly: false)
}

/// `rbd_open_by_id_read_only`.
@_cdecl("rbd_open_by_id_read_only")
public func rbd_open_by_id_read_only(_ ioctx: rados_ioctx_t?, _ id: UnsafePointer<CChar>?, _ image: UnsafeMutablePointer<rbd_image_t?>?, _ snapshot: UnsafePointer<CChar>?) -> Int32 {
    openByID("rbd_open_by_id_read_only", ioctx, id, image, snapshot, readOnly: true)
}

private func openByID(_ function: StaticString, _ ioctx: rados_ioctx_t?, _ id: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<rbd_image_t?>?, _ snapshot: UnsafePointer<CChar>?, readOnly: Bool) -> Int32 {
    guard let id = String(cArgument: id) else { return -EINVAL }
    return openImage(function, ioctx, out, snapshot) { (context, snapshotName, cache, scheduler) throws(RADOSError) -> Image in
        try await Image.open(context, id: id, snapshot: snapshotName, readOnly: readOnly, cache: cache, scheduler: scheduler)
    }
}

/// Copies `text` and its NUL into `buffer` of `*length` bytes; -ERANGE with `*length`
/// set to the bytes needed when it does not fit.
private func copyOut(_ text: String, _ buffer: UnsafeMutablePointer<CChar>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let length else { return -EINVAL }
    let bytes = Array(text.utf8CString)
    let capacity = length.pointee
    length.pointee = bytes.count
    guard bytes.count <= capacity, let buffer else { return -ERANGE }
    for (index, byte) in bytes.enumerated() { buffer[index] = byte }
    return 0
}

/// `rbd_get_id`: the image's id.
@_cdecl("rbd_get_id")
public func rbd_get_id(_ image: rbd_image_t?, _ id: UnsafeMutablePointer<CChar>?, _ length: Int) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    var size = length
    return copyOut(handle.image.id, id, &size)
}

/// `rbd_get_name`: the image's name.
@_cdecl("rbd_get_name")
public func rbd_get_name(_ image: rbd_image_t?, _ name: UnsafeMutablePointer<CChar>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    return copyOut(handle.image.name, name, length)
}

/// `rbd_get_block_name_prefix`: `rbd_data.<id>` (the data objects' prefix).
@_cdecl("rbd_get_block_name_prefix")
public func rbd_get_block_name_prefix(_ image: rbd_image_t?, _ prefix: UnsafeMutablePointer<CChar>?, _ length: Int) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    var size = length
    return copyOut(handle.image.info.blockNamePrefix, prefix, &size)
}

/// `rbd_get_stripe_unit`.
@_cdecl("rbd_get_stripe_unit")
public func rbd_get_stripe_unit(_ image: rbd_image_t?, _ unit: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let unit else { return -EINVAL }
    unit.pointee = handle.image.layout.stripeUnit
    return 0
}

/// `rbd_get_stripe_count`.
@_cdecl("rbd_get_stripe_count")
public func rbd_get_stripe_count(_ image: rbd_image_t?, _ count: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let count else { return -EINVAL }
    count.pointee = handle.image.layout.stripeCount
    return 0
}

/// `rbd_version`: the librbd API version SwiftRBD implements (Pacific's 1.16.0).
@_cdecl("rbd_version")
public func rbd_version(_ major: UnsafeMutablePointer<Int32>?, _ minor: UnsafeMutablePointer<Int32>?, _ extra: UnsafeMutablePointer<Int32>?) {
    major?.pointee = 1
    minor?.pointee = 16
    extra?.pointee = 0
}

// MARK: - I/O and operations with flags or progress

/// `rbd_read2`: `rbd_read` with fadvise flags (ignored).
@_cdecl("rbd_read2")
public func rbd_read2(_ image: rbd_image_t?, _ offset: UInt64, _ length: Int, _ buffer: UnsafeMutablePointer<CChar>?, _ opFlags: Int32) -> Int {
    rbd_read(image, offset, length, buffer)
}

/// `rbd_write2`: `rbd_write` with fadvise flags (ignored).
@_cdecl("rbd_write2")
public func rbd_write2(_ image: rbd_image_t?, _ offset: UInt64, _ length: Int, _ buffer: UnsafePointer<CChar>?, _ opFlags: Int32) -> Int {
    rbd_write(image, offset, length, buffer)
}

/// `rbd_resize2`: resizes; shrinking only with `allow_shrink`; reports 100% once done.
@_cdecl("rbd_resize2")
public func rbd_resize2(_ image: rbd_image_t?, _ size: UInt64, _ allowShrink: Bool, _ progress: librbd_progress_fn_t?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    let opened = handle.image
    let status = Bridge.status("rbd_resize2") { () async throws(RADOSError) in try await opened.resize(to: size, allowShrink: allowShrink) }
    if status == 0 { _ = progress?(1, 1, argument) }
    return status
}

/// `rbd_snap_create2`: `rbd_snap_create` with flags (the quiesce flags have nothing to
/// quiesce here: no quiesce watchers are registered) and a progress callback.
@_cdecl("rbd_snap_create2")
public func rbd_snap_create2(_ image: rbd_image_t?, _ name: UnsafePointer<CChar>?, _ flags: UInt32, _ progress: librbd_progress_fn_t?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    let status = rbd_snap_create(image, name)
    if status == 0 { _ = progress?(1, 1, argument) }
    return status
}

/// `rbd_write_zeroes`: makes the range read as zeros (thick with flag 1: zeros written).
@_cdecl("rbd_write_zeroes")
public func rbd_write_zeroes(_ image: rbd_image_t?, _ offset: UInt64, _ length: Int, _ zeroFlags: Int32, _ opFlags: Int32) -> Int {
    guard let handle = Handle.object(image, as: ImageHandle.self), length >= 0, zeroFlags & ~1 == 0 else { return Int(-EINVAL) }
    let opened = handle.image
    let result = Bridge.run("rbd_write_zeroes") { () async throws(RADOSError) -> Int in
        if zeroFlags & 1 != 0 {
            return try await opened.write(offset: offset, data: ByteBuffer(repeating: 0, count: length))
        }
        return Int(try await opened.writeZeroes(offset: offset, length: UInt64(length)))
    }
    switch result {
    case .success(let count): return count
    case .failure(let error): return Int(Bridge.code(error))
    }
}

/// `rbd_snap_get_namespace_type`: the namespace (0 user, 1 group, 2 trash, 3 mirror) of
/// the snapshot whose id is `snapID`; -ENOENT when there is none.
@_cdecl("rbd_snap_get_namespace_type")
public func rbd_snap_get_namespace_type(_ image: rbd_image_t?, _ snapID: UInt64, _ type: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let type else { return -EINVAL }
    let status = handle.refreshIfRequired("rbd_snap_get_namespace_type")
    guard status == 0 else { return status }
    guard let snapshot = handle.image.snapshots.first(where: { $0.id == snapID }) else { return -ENOENT }
    type.pointee = Int32(snapshot.namespaceType)
    return 0
}
