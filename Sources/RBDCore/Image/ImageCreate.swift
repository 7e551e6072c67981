import NIOCore
import RADOSProto

/// How to lay out a new image: what `rbd create` takes besides the name and size.
///
/// Unset values take librbd's defaults: order 22 (4 MiB objects), Pacific's default
/// features (61: layering, exclusive-lock, object-map, fast-diff, deep-flatten), the
/// object size as the stripe unit and a stripe count of 1, no data pool.
public struct ImageCreateOptions: Sendable, Hashable {
    /// log2 of the object size, 12…25 (`--order`, `--object-size`); nil for 22.
    public var order: UInt8?
    /// The features to enable (`--image-feature`); nil for the `rbd_default_features`
    /// default. `striping` and `data-pool` are set or cleared from the layout and
    /// ``dataPoolID`` as librbd does; `object-map` brings `fast-diff` along.
    public var features: RBDFeatures?
    /// Bytes per stripe unit (`--stripe-unit`); 0 for the object size.
    public var stripeUnit: UInt64
    /// Objects per stripe (`--stripe-count`); 0 for 1.
    public var stripeCount: UInt64
    /// The pool data objects go to (`--data-pool`), by id; nil (or the image's own pool)
    /// keeps them with the header.
    public var dataPoolID: Int64?

    public init(order: UInt8? = nil, features: RBDFeatures? = nil, stripeUnit: UInt64 = 0, stripeCount: UInt64 = 0, dataPoolID: Int64? = nil) {
        self.order = order
        self.features = features
        self.stripeUnit = stripeUnit
        self.stripeCount = stripeCount
        self.dataPoolID = dataPoolID
    }

    /// librbd's default object order (`rbd_default_order`).
    public static let defaultOrder: UInt8 = 22
}

extension Image {
    /// Creates a format 2 image named `name` of `size` bytes in the I/O context's pool
    /// and namespace, and returns its id.
    ///
    /// The steps and their rollback follow librbd (`src/librbd/image/CreateRequest.cc`):
    /// validate features, order and striping; add the name to `rbd_directory` (asserting
    /// a namespace's directory is ready); create `rbd_id.<name>` exclusively holding a
    /// fresh id; create `rbd_header.<id>` exclusively with the `rbd` class's `create`;
    /// record non-default striping; size the object map when `object-map` is on. A
    /// failing step undoes the earlier ones.
    ///
    /// - Throws: ``RADOSError`` `.alreadyExists` when an image of that name exists,
    ///   `.invalidArgument` for an invalid order, striping or feature set, `.notFound`
    ///   when the data pool or the namespace does not exist.
    @discardableResult
    public static func create(_ io: IOContext, name: String, size: UInt64, options: ImageCreateOptions = ImageCreateOptions()) async throws(RADOSError) -> String {
        let plan = try CreatePlan(metadataPoolID: io.poolID, size: size, options: options)
        guard !name.isEmpty else { throw RADOSError(.invalidArgument, "image name was not specified") }
        if let pool = plan.dataPoolID {
            do {
                _ = try await io.ioContext(poolID: pool)
            } catch {
                throw RADOSError(.notFound, "data pool \(pool) does not exist", errno: 2)
            }
        }
        // librbd's `create` first checks that neither format has the name
        // (`src/librbd/internal.cc`, `detect_format`).
        for object in [RBDObjectNames.id(imageName: name), name + ".rbd"] where try await exists(io, object) {
            throw RADOSError(.alreadyExists, "rbd image \(name) already exists", errno: 17)
        }

        let id = generateImageID(instanceID: io.instanceID)
        let header = RBDObjectNames.header(imageID: id)
        let idObject = RBDObjectNames.id(imageName: name)

        // 1. Directory entry.
        var directoryOps: [OSDOp] = []
        if !io.namespace.isEmpty { directoryOps.append(ClsRBD.directoryStateAssert()) }
        directoryOps.append(ClsRBD.directoryAdd(name: name, id: id))
        do {
            _ = try await io.operate(RBDObjectNames.directory, directoryOps)
        } catch {
            switch error.errno {
            case 17: throw RADOSError(.alreadyExists, "rbd image \(name) already exists", errno: 17)
            case 2 where !io.namespace.isEmpty: throw RADOSError(.notFound, "namespace \(io.namespace) does not exist in pool \(io.poolName)", errno: 2)
            default: throw error
            }
        }

        // 2. Id object; 3. header; 4. striping; 5. object map — each undone on failure.
        var undo: [String] = []
        do throws(RADOSError) {
            do throws(RADOSError) {
                _ = try await io.operate(idObject, ClsRBD.createIDObject(id: id))
            } catch where error.errno == 17 {
                throw RADOSError(.alreadyExists, "rbd image \(name) already exists", errno: 17)
            }
            undo.append(idObject)
            do throws(RADOSError) {
                _ = try await io.operate(header, ClsRBD.createHeader(size: size, order: plan.order, features: plan.features, objectPrefix: plan.objectPrefix(id: id, metadataPoolID: io.poolID), dataPoolID: plan.dataPoolID ?? -1))
            } catch where error.errno == 17 {
                // The id is taken (librbd answers EBADF and leaves everything as is).
                throw RADOSError(.clusterError, "image id \(id) is already in use", errno: 9)
            }
            undo.append(header)
            if plan.needsStripingCall {
                _ = try await io.operate(header, [ClsRBD.setStripeUnitCount(unit: plan.stripeUnit, count: plan.stripeCount)])
            }
            if plan.features.contains(.objectMap) {
                let objectMap = RBDObjectNames.objectMap(imageID: id)
                undo.append(objectMap)
                _ = try await io.operate(objectMap, [ClsRBD.objectMapResize(objectCount: plan.objectCount(size: size), defaultState: .nonexistent)])
            }
        } catch {
            for object in undo.reversed() { try? await io.remove(object) }
            _ = try? await io.operate(RBDObjectNames.directory, [ClsRBD.directoryRemove(name: name, id: id)])
            throw error
        }
        return id
    }

    static func exists(_ io: IOContext, _ object: String) async throws(RADOSError) -> Bool {
        do {
            _ = try await io.stat(object)
            return true
        } catch where error.code == .notFound {
            return false
        }
    }

    /// A new image id the way librbd makes one (`src/librbd/Utils.cc`,
    /// `generate_image_id`): the client's instance id in hex followed by a random
    /// 32-bit number in hex, keeping the last 14 characters (`RBD_MAX_IMAGE_ID_LENGTH`).
    package static func generateImageID(instanceID: UInt64) -> String {
        let text = String(instanceID, radix: 16) + String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        return String(text.suffix(14))
    }
}

/// A validated create request: librbd's checks and derived values
/// (`CreateRequest` constructor, `validate_features`, `validate_order`,
/// `validate_striping`, `validate_layout`).
struct CreatePlan {
    var order: UInt8
    var features: RBDFeatures
    var stripeUnit: UInt64
    var stripeCount: UInt64
    var dataPoolID: Int64?

    /// Most objects an object map can track (`ObjectMap::MAX_OBJECT_MAP_OBJECT_COUNT`, 256 Mi).
    static let maxObjectMapObjects: UInt64 = 256 * 1024 * 1024
    /// Longest data object prefix (`RBD_MAX_BLOCK_NAME_PREFIX_LENGTH`).
    static let maxObjectPrefixLength = 43

    init(metadataPoolID: Int64, size: UInt64, options: ImageCreateOptions) throws(RADOSError) {
        order = options.order ?? ImageCreateOptions.defaultOrder
        var features = options.features ?? RBDFeatures.pacificDefault
        if features.contains(.objectMap) { features.insert(.fastDiff) }
        stripeUnit = options.stripeUnit
        stripeCount = options.stripeCount
        if let pool = options.dataPoolID, pool != metadataPoolID {
            dataPoolID = pool
            features.insert(.dataPool)
        } else {
            features.remove(.dataPool)
        }
        let objectSize = UInt64(1) << UInt64(min(order, 63))
        if (stripeUnit != 0 && stripeUnit != objectSize) || (stripeCount != 0 && stripeCount != 1) {
            features.insert(.stripingV2)
        } else {
            features.remove(.stripingV2)
        }
        self.features = features

        guard features.isSubset(of: .all) else { throw RADOSError(.unsupported, "librbd does not support requested features", errno: 38) }
        guard !features.contains(.operations) else { throw RADOSError(.invalidArgument, "cannot use internally controlled features") }
        if features.contains(.fastDiff) && !features.contains(.objectMap) { throw RADOSError(.invalidArgument, "cannot use fast diff without object map") }
        if features.contains(.objectMap) && !features.contains(.exclusiveLock) { throw RADOSError(.invalidArgument, "cannot use object map without exclusive lock") }
        if features.contains(.journaling) && !features.contains(.exclusiveLock) { throw RADOSError(.invalidArgument, "cannot use journaling without exclusive lock") }
        guard (12...25).contains(order) else { throw RADOSError(.invalidArgument, "order must be in the range [12, 25]", errno: 33) }
        if (stripeUnit != 0) != (stripeCount != 0) { throw RADOSError(.invalidArgument, "must specify both (or neither) of stripe-unit and stripe-count") }
        if stripeUnit != 0 && (stripeUnit > objectSize || objectSize % stripeUnit != 0) { throw RADOSError(.invalidArgument, "stripe unit is not a factor of the object size") }
        if features.contains(.objectMap) && objectCount(size: size) > Self.maxObjectMapObjects { throw RADOSError(.invalidArgument, "image size not compatible with object map") }
    }

    /// Whether librbd records the layout with `set_stripe_unit_count`.
    var needsStripingCall: Bool {
        if stripeUnit == 0 && stripeCount == 0 { return false }
        return !(stripeCount == 1 && stripeUnit == UInt64(1) << UInt64(order))
    }

    var layout: StripeLayout? {
        let objectSize = UInt64(1) << UInt64(order)
        return try? StripeLayout(objectSize: objectSize, stripeUnit: stripeUnit == 0 ? objectSize : stripeUnit, stripeCount: stripeCount == 0 ? 1 : stripeCount)
    }

    func objectCount(size: UInt64) -> UInt64 {
        guard let layout else { return 0 }
        return Striper.objectCount(layout, imageSize: size)
    }

    /// `rbd_data.<id>`, or `rbd_data.<metadata pool id>.<id>` with a data pool.
    func objectPrefix(id: String, metadataPoolID: Int64) -> String {
        dataPoolID == nil ? RBDObjectNames.dataPrefix(imageID: id) : "rbd_data.\(metadataPoolID).\(id)"
    }
}
