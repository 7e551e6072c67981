import CCephABI
import Foundation
import RADOSProto
import RBDCore

/// `rbd_diff_iterate2` without a starting snapshot: which parts of the range hold data.
///
/// A simple, correct-but-coarse form of librbd's `DiffIterate` (ceph/ceph
/// `src/librbd/api/DiffIterate.cc`): every data object the range touches is stat'ed (at
/// the open snapshot), 32 at a time; the parts of the range that map to objects that
/// exist are reported with `exists = 1`, in image order, one call per object extent (per
/// stripe unit with fancy striping). Granularity is the whole object both with and
/// without `whole_object`: an existing object's holes are reported as data, which is
/// what allocation queries (QEMU's block status) may assume. Nothing is reported for
/// objects that do not exist. The callback runs on the calling thread; a negative
/// return stops the iteration, which returns that value.
///
/// A starting snapshot (`fromsnapname`) is not supported (-EOPNOTSUPP); `include_parent`
/// has no effect (SwiftRBD does not read through to a parent yet).
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
    guard fromSnapshot == nil else {
        Diagnostics.once("diff.fromsnap", "rbd_diff_iterate2 from a snapshot is not implemented by SwiftRBD yet; returning -EOPNOTSUPP")
        return -EOPNOTSUPP
    }
    let opened = handle.image
    let result = Bridge.run("rbd_diff_iterate2") { () async throws(RADOSError) -> [ImageExtent] in
        try await opened.refreshIfRequired()
        return try await AllocatedExtents.find(opened, offset: offset, length: length)
    }
    guard case .success(let extents) = result else { return Bridge.code(result) }
    for extent in extents {
        let status = callback(extent.offset, Int(extent.length), 1, argument)
        if status < 0 { return status }
    }
    return 0
}

/// Bytes of the image: where and how many.
struct ImageExtent: Sendable, Hashable {
    var offset: UInt64
    var length: UInt64
}

enum AllocatedExtents {
    /// Stat requests in flight at once.
    static let concurrency = 32

    /// The image extents within `offset..<offset+length` (clipped to the image) whose
    /// objects exist at the image's read snapshot, sorted by offset.
    static func find(_ image: Image, offset: UInt64, length: UInt64) async throws(RADOSError) -> [ImageExtent] {
        let size = image.size
        guard offset < size, length > 0 else { return [] }
        let clipped = min(length, size - offset)
        let objects = Striper.objectExtents(image.layout, offset: offset, length: clipped)
        let prefix = image.info.blockNamePrefix
        let io = image.dataIO
        let snapID = image.readSnapID
        var found: [ImageExtent] = []
        var index = 0
        while index < objects.count {
            let batch = objects[index..<min(index + concurrency, objects.count)]
            index += batch.count
            let existing = await withTaskGroup(of: Result<[ImageExtent], RADOSError>.self) { group in
                for extent in batch {
                    group.addTask {
                        let name = dataObjectName(prefix: prefix, objectNumber: extent.objectNumber)
                        do throws(RADOSError) {
                            _ = try await io.operate(name, [.stat], snapID: snapID)
                        } catch where error.errno == ENOENT {
                            return .success([])
                        } catch {
                            return .failure(error)
                        }
                        return .success(extent.bufferExtents.map { ImageExtent(offset: offset + $0.offset, length: $0.length) })
                    }
                }
                var all: [Result<[ImageExtent], RADOSError>] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            for outcome in existing { found += try outcome.get() }
        }
        return found.sorted { $0.offset < $1.offset }
    }

    /// `rbd_data.<id>.<object number as 16 hex digits>`.
    static func dataObjectName(prefix: String, objectNumber: UInt64) -> String {
        let hex = String(objectNumber, radix: 16)
        return prefix + "." + String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }
}
