import CCephABI
import Foundation
import RADOSProto
import RBDCore

/// `rbd_snap_create`: takes a snapshot named `name` of the image.
@_cdecl("rbd_snap_create")
public func rbd_snap_create(_ image: rbd_image_t?, _ name: UnsafePointer<CChar>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let name = String(cArgument: name) else { return -EINVAL }
    let opened = handle.image
    return Bridge.status("rbd_snap_create") { () async throws(RADOSError) in try await opened.createSnapshot(named: name) }
}

/// `rbd_snap_remove`: removes snapshot `name` (-EBUSY while it is protected).
@_cdecl("rbd_snap_remove")
public func rbd_snap_remove(_ image: rbd_image_t?, _ name: UnsafePointer<CChar>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let name = String(cArgument: name) else { return -EINVAL }
    let opened = handle.image
    return Bridge.status("rbd_snap_remove") { () async throws(RADOSError) in try await opened.removeSnapshot(named: name) }
}

/// `rbd_snap_rollback`: makes the image's content that of snapshot `name`.
@_cdecl("rbd_snap_rollback")
public func rbd_snap_rollback(_ image: rbd_image_t?, _ name: UnsafePointer<CChar>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let name = String(cArgument: name) else { return -EINVAL }
    let opened = handle.image
    return Bridge.status("rbd_snap_rollback") { () async throws(RADOSError) in try await opened.rollback(toSnapshot: name) }
}

/// `rbd_snap_list`: the image's user snapshots, oldest first, into `snaps`, followed by
/// an entry with a NULL name; returns how many. When `*maxSnaps` leaves no room for all
/// of them and the terminating entry, sets it to the room needed and returns -ERANGE.
/// The names are allocated with `malloc`: `rbd_snap_list_end` frees them.
@_cdecl("rbd_snap_list")
public func rbd_snap_list(_ image: rbd_image_t?, _ snaps: UnsafeMutablePointer<rbd_snap_info_t>?, _ maxSnaps: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let maxSnaps else { return -EINVAL }
    let opened = handle.image
    let result = Bridge.run("rbd_snap_list") { () async throws(RADOSError) -> [Image.Snapshot] in
        try await opened.refreshIfRequired()
        return opened.snapshots.filter { $0.namespaceType == 0 }
    }
    guard case .success(let list) = result else { return Bridge.code(result) }
    let needed = list.count + 1
    guard let snaps, Int(maxSnaps.pointee) >= needed else {
        maxSnaps.pointee = Int32(clamping: needed)
        return -ERANGE
    }
    for (index, snapshot) in list.enumerated() {
        snaps[index] = rbd_snap_info_t(id: snapshot.id, size: snapshot.size, name: UnsafePointer(strdup(snapshot.name)))
    }
    snaps[list.count] = rbd_snap_info_t(id: 0, size: 0, name: nil)
    return Int32(clamping: list.count)
}

/// `rbd_snap_list_end`: frees the names `rbd_snap_list` filled in, up to the entry
/// with a NULL name.
@_cdecl("rbd_snap_list_end")
public func rbd_snap_list_end(_ snaps: UnsafeMutablePointer<rbd_snap_info_t>?) {
    guard let snaps else { return }
    var index = 0
    while let name = snaps[index].name {
        free(UnsafeMutableRawPointer(mutating: name))
        snaps[index].name = nil
        index += 1
    }
}
