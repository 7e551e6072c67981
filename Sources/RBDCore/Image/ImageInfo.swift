import Foundation
import NIOCore
import RADOSProto

/// What `rbd info` shows about a format 2 image, read from its header object.
///
/// Opening follows librbd (`src/librbd/image/OpenRequest.cc`, `RefreshRequest.cc`):
/// the name resolves to an id through `rbd_id.<name>`, then one compound read of `rbd`
/// class calls on `rbd_header.<id>` fetches size, features, prefix, flags, snapshots,
/// striping, data pool and timestamps.
public struct ImageInfo: Sendable, Hashable {
    public var name: String
    public var id: String
    public var size: UInt64
    /// log2 of the object size.
    public var order: UInt8
    public var features: RBDFeatures
    /// `RBD_OPERATION_FEATURE_*` bits (clone-parent, clone-child, group, snap-trash, …).
    public var operationFeatures: UInt64
    /// `RBD_FLAG_*` bits (object map invalid, fast diff invalid).
    public var flags: UInt64
    public var blockNamePrefix: String
    public var stripeUnit: UInt64
    public var stripeCount: UInt64
    /// The pool data objects go to, when it is not the image's own pool.
    public var dataPoolID: Int64?
    public var snapshotCount: Int
    /// The snap context writes to the head carry (`get_snapcontext`).
    package var snapContext: SnapContext = .empty
    /// The parent snapshot the header names (`parent_get`): a clone's, also kept for its
    /// snapshots once the head was flattened without deep-flatten; nil otherwise.
    package var parent: ClsRBD.ParentSpec?
    /// How many bytes of the head still map to the parent (`parent_overlap_get`): the
    /// clone's size when it was made, less what shrinking cut since; nil when the head
    /// has no parent (not a clone, or flattened).
    package var parentOverlap: UInt64?
    public var createTimestamp: Date
    public var accessTimestamp: Date
    public var modifyTimestamp: Date

    public var objectSize: UInt64 { UInt64(1) << UInt64(order) }

    /// The number of data objects the image can have (librbd's `get_num_objects`).
    public var objectCount: UInt64 {
        guard let layout = try? StripeLayout(objectSize: objectSize, stripeUnit: stripeUnit, stripeCount: stripeCount) else { return 0 }
        return Striper.objectCount(layout, imageSize: size)
    }

    /// Names of the set `RBD_FLAG_*` bits, as `rbd info` prints them.
    public var flagNames: [String] {
        var names: [String] = []
        if flags & 1 != 0 { names.append("object map invalid") }
        if flags & 2 != 0 { names.append("fast diff invalid") }
        return names
    }

    /// Names of the operation features, as `rbd info` prints them.
    public var operationFeatureNames: [String] {
        [(1 << 0, "clone-parent"), (1 << 1, "clone-child"), (1 << 2, "group"), (1 << 3, "snap-trash")]
            .filter { operationFeatures & UInt64($0.0) != 0 }.map(\.1)
    }

    /// Reads the image `name` in the I/O context's pool and namespace.
    ///
    /// - Throws: ``RADOSError`` `.notFound` when there is no such image.
    public static func load(_ io: IOContext, image name: String) async throws(RADOSError) -> ImageInfo {
        try await load(io, image: name, id: try await imageID(io, name: name))
    }

    /// The id of image `name`, from `rbd_id.<name>`.
    ///
    /// - Throws: ``RADOSError`` `.notFound` naming the image and pool when there is none.
    package static func imageID(_ io: IOContext, name: String) async throws(RADOSError) -> String {
        let idOutput: [ByteBuffer]
        do {
            idOutput = try await io.operate(RBDObjectNames.id(imageName: name), [ClsRBD.getID()])
        } catch where error.code == .notFound {
            let place = io.namespace.isEmpty ? io.poolName : "\(io.poolName)/\(io.namespace)"
            throw RADOSError(.notFound, "error opening image \(name): no such image in \(place)", errno: 2)
        }
        return try decode { try ClsRBD.decodeString(idOutput.first ?? ByteBuffer()) }
    }

    /// Reads the header of the image with id `id` (called `name`).
    package static func load(_ io: IOContext, image name: String, id: String) async throws(RADOSError) -> ImageInfo {
        let header = RBDObjectNames.header(imageID: id)
        let outputs = try await io.operate(header, [
            ClsRBD.getSize(snapID: MOSDOp.noSnap),
            ClsRBD.getFeatures(readOnly: true),
            ClsRBD.getObjectPrefix(),
            ClsRBD.getFlags(snapID: MOSDOp.noSnap),
            ClsRBD.getOperationFeatures(),
            ClsRBD.getSnapContext(),
            ClsRBD.getCreateTimestamp(),
            ClsRBD.getAccessTimestamp(),
            ClsRBD.getModifyTimestamp(),
            ClsRBD.getDataPool(),
            ClsRBD.getParent(),
            ClsRBD.parentOverlapGet(snapID: MOSDOp.noSnap),
        ])
        guard outputs.count == 12 else { throw RADOSError(.malformedData, "the image header answered \(outputs.count) of 12 calls") }
        let snapContext = try decode { try ClsRBD.decodeSnapContext(outputs[5]) }
        let (order, size) = try decode { try ClsRBD.decodeSize(outputs[0]) }
        let features = try decode { try ClsRBD.decodeFeatures(outputs[1]).features }
        var stripeUnit = UInt64(1) << UInt64(order)
        var stripeCount: UInt64 = 1
        if features.contains(.stripingV2) {
            let striping = try await io.operate(header, [ClsRBD.getStripeUnitCount()])
            (stripeUnit, stripeCount) = try decode { try ClsRBD.decodeStripeUnitCount(striping.first ?? ByteBuffer()) }
        }
        let dataPool = try decode { try ClsRBD.decodeI64(outputs[9]) }
        let parent = try decode { try ClsRBD.decodeParent(outputs[10]) }
        let overlap = try decode { try ClsRBD.decodeParentOverlap(outputs[11]) }
        var info = ImageInfo(
            name: name, id: id, size: size, order: order, features: features,
            operationFeatures: try decode { try ClsRBD.decodeU64(outputs[4]) },
            flags: try decode { try ClsRBD.decodeU64(outputs[3]) },
            blockNamePrefix: try decode { try ClsRBD.decodeString(outputs[2]) },
            stripeUnit: stripeUnit, stripeCount: stripeCount,
            dataPoolID: dataPool >= 0 ? dataPool : nil,
            snapshotCount: snapContext.snaps.count,
            snapContext: snapContext,
            createTimestamp: try decode { Date(timeIntervalSince1970: try ClsRBD.decodeTimestamp(outputs[6]).timeIntervalSince1970) },
            accessTimestamp: try decode { Date(timeIntervalSince1970: try ClsRBD.decodeTimestamp(outputs[7]).timeIntervalSince1970) },
            modifyTimestamp: try decode { Date(timeIntervalSince1970: try ClsRBD.decodeTimestamp(outputs[8]).timeIntervalSince1970) }
        )
        info.parent = parent
        info.parentOverlap = parent == nil ? nil : overlap
        return info
    }

    static func decode<T>(_ body: () throws -> T) throws(RADOSError) -> T {
        do {
            return try body()
        } catch let error as DencError {
            throw error.radosError
        } catch {
            throw RADOSError(.malformedData, "the image header does not decode")
        }
    }
}
