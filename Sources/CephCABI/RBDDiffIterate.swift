import CCephABI
import Foundation
import RADOSProto
import RBDCore

/// `rbd_diff_iterate2`: what changed since `fromsnapname` (NULL: since the image was
/// created) within the range, as librbd reports it (``Image/diff(fromSnapshot:offset:length:wholeObject:)``:
/// fast diff from the object maps for whole-object diffs of fast-diff images, exact
/// per-object clone lists otherwise). QEMU uses it for block status (`qemu-img map`,
/// sparse `convert`). Each extent goes to the callback on the calling thread, in image
/// order, with `exists` 1 for data and 0 for a range that now reads as zeros; a negative
/// return stops the iteration, which returns that value. `include_parent` has no effect
/// (SwiftRBD does not read through to a parent yet).
@_cdecl("rbd_diff_iterate2")
public func rbd_diff_iterate2(
    _ image: rbd_image_t?,
    _ fromSnapshot: UnsafePointer<CChar>?,
    _ offset: UInt64, _ length: UInt64,
    _ includeParent: UInt8, _ wholeObject: UInt8,
    _ callback: rbd_diff_iterate_callback_t?,
    _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let callback else { return -EINVAL }
    let from = fromSnapshot.map { String(cString: $0) }
    let opened = handle.image
    let result = Bridge.run("rbd_diff_iterate2") { () async throws(RADOSError) -> [DiffExtent] in
        try await opened.diff(fromSnapshot: from, offset: offset, length: length, wholeObject: wholeObject != 0)
    }
    guard case .success(let extents) = result else { return Bridge.code(result) }
    for extent in extents {
        let status = callback(extent.offset, Int(extent.length), extent.exists ? 1 : 0, argument)
        if status < 0 { return status }
    }
    return 0
}
