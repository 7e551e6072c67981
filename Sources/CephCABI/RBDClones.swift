import CCephABI
import Foundation
import RADOSProto
import RBDCore

/// `rbd_clone3`: clones image `parentName` at snapshot `snapshotName` (in `parentContext`)
/// to `childName` in `childContext`. Options not given come from the parent (features,
/// order, striping), as librbd's `CloneRequest` takes them; the clone format from
/// `RBD_IMAGE_OPTION_CLONE_FORMAT` (12), else `rbd_default_clone_format`.
@_cdecl("rbd_clone3")
public func rbd_clone3(
    _ parentContext: rados_ioctx_t?, _ parentName: UnsafePointer<CChar>?, _ snapshotName: UnsafePointer<CChar>?,
    _ childContext: rados_ioctx_t?, _ childName: UnsafePointer<CChar>?, _ options: rbd_image_options_t?
) -> Int32 {
    guard let parentHandle = Handle.object(parentContext, as: IOContextHandle.self),
          let childHandle = Handle.object(childContext, as: IOContextHandle.self),
          let parentName = String(cArgument: parentName), let snapshotName = String(cArgument: snapshotName),
          let childName = String(cArgument: childName)
    else { return -EINVAL }
    let given = Handle.object(options, as: ImageOptionsHandle.self)
    if let format = given?.number(ImageOptionsHandle.format), format != 2 { return -EINVAL }
    var create = ImageCreateOptions()
    if let order = given?.number(ImageOptionsHandle.order), order != 0 {
        guard (12...25).contains(order) else { return -EDOM }
        create.order = UInt8(order)
    }
    if let bits = given?.number(ImageOptionsHandle.features) { create.features = RBDFeatures(rawValue: bits) }
    create.stripeUnit = given?.number(ImageOptionsHandle.stripeUnit) ?? 0
    create.stripeCount = given?.number(ImageOptionsHandle.stripeCount) ?? 0
    let format: CloneFormat
    switch given?.number(ImageOptionsHandle.cloneFormat) {
    case 1: format = .v1
    case 2: format = .v2
    case nil:
        do { format = try childHandle.cluster.configuration.cloneFormat() } catch { return Bridge.code(error) }
    default: return -EINVAL
    }
    let parentIO = parentHandle.context, childIO = childHandle.context, chosen = create
    return Bridge.status("rbd_clone3") { () async throws(RADOSError) in
        _ = try await Image.clone(parentIO: parentIO, parentName: parentName, snapshot: snapshotName, childIO: childIO, childName: childName, options: chosen, format: format)
    }
}

/// `rbd_flatten`: copies what the clone still reads from its parent into it and detaches
/// it (EINVAL for an image that is not a clone).
@_cdecl("rbd_flatten")
public func rbd_flatten(_ image: rbd_image_t?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    let opened = handle.image
    return Bridge.status("rbd_flatten") { () async throws(RADOSError) in try await opened.flatten() }
}

/// `rbd_flatten_with_progress`: ``rbd_flatten(_:)``, then the progress callback once
/// with the whole work done (the objects are copied up ten at a time without reports).
@_cdecl("rbd_flatten_with_progress")
public func rbd_flatten_with_progress(_ image: rbd_image_t?, _ progress: librbd_progress_fn_t?, _ context: UnsafeMutableRawPointer?) -> Int32 {
    let status = rbd_flatten(image)
    if status == 0, let progress { _ = progress(1, 1, context) }
    return status
}
