import CCephABI
import Glibc
import RADOSProto
import RBDCore

/// `rbd_lock_acquire`: takes the exclusive lock and keeps it (other clients' requests
/// are refused with EROFS) until `rbd_lock_release` or `rbd_close`. Only
/// `RBD_LOCK_MODE_EXCLUSIVE` (0) is supported, as in librbd.
@_cdecl("rbd_lock_acquire")
public func rbd_lock_acquire(_ image: rbd_image_t?, _ mode: Int32) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    guard mode == 0 else { return -EOPNOTSUPP }
    let opened = handle.image
    return Bridge.status("rbd_lock_acquire") { () async throws(RADOSError) in try await opened.acquireExclusiveLock() }
}

/// `rbd_lock_release`: gives up a lock taken with `rbd_lock_acquire`; EINVAL when this
/// client does not hold it.
@_cdecl("rbd_lock_release")
public func rbd_lock_release(_ image: rbd_image_t?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self) else { return -EINVAL }
    let opened = handle.image
    return Bridge.status("rbd_lock_release") { () async throws(RADOSError) in try await opened.releaseExclusiveLock() }
}

/// `rbd_is_exclusive_lock_owner`: 1 in `isOwner` while this client holds the lock.
@_cdecl("rbd_is_exclusive_lock_owner")
public func rbd_is_exclusive_lock_owner(_ image: rbd_image_t?, _ isOwner: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let isOwner else { return -EINVAL }
    isOwner.pointee = handle.image.ownsExclusiveLock ? 1 : 0
    return 0
}
