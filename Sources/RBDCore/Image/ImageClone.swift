import NIOCore
import RADOSProto

extension Image {
    /// Creates image `childName` in `childIO`'s pool and namespace as a clone of snapshot
    /// `snapshot` of image `parentName` in `parentIO`'s, like `rbd clone`, and returns the
    /// clone's id. The clone reads what it has not written from the parent snapshot.
    ///
    /// The steps, checks and rollback follow librbd (ceph/ceph
    /// `src/librbd/image/CloneRequest.cc`, `AttachParentRequest.cc`,
    /// `AttachChildRequest.cc`, `src/librbd/deep_copy/MetadataCopyRequest.cc`):
    /// 1. resolve the format (`auto`: 2 when the cluster requires Mimic clients or
    ///    newer); format 1 cannot cross namespaces (EXDEV);
    /// 2. open the parent at the snapshot: it must have layering (ENOSYS), and for format
    ///    1 the snapshot must be protected (EINVAL);
    /// 3. create the child (``create(_:name:size:options:)``) with the parent snapshot's
    ///    size; unset options take librbd's clone defaults: the parent's features (less
    ///    those librbd enables implicitly: striping, data-pool, fast-diff, operations …),
    ///    the parent's order, stripe unit and stripe count. (As with librbd, an `order`
    ///    alone that does not fit the parent's stripe unit is refused.)
    /// 4. `parent_attach` on the child's header, overlap = the snapshot's size
    ///    (`set_parent` on OSDs without it);
    /// 5. format 2: the clone-child operation feature on the child (`op_features_set`),
    ///    then `child_attach` on the parent's header (which sets clone-parent there);
    ///    format 1: `add_child` on `rbd_children` of the child's pool, then the snapshot
    ///    must still be protected;
    /// 6. the parent's image metadata (`rbd image-meta`) copied to the child;
    /// 7. a header-update notify on the parent's header, so its open clients reread it.
    ///
    /// A failure after the child exists removes it again (``remove(_:name:)``, which
    /// also undoes the attach). Mirroring (journaling images) is not set up.
    ///
    /// - Throws: ``RADOSError`` `.notFound` when the parent or its snapshot does not
    ///   exist; `.alreadyExists` when `childName` is taken; `.invalidArgument` for an
    ///   unprotected snapshot with format 1 or a bad layout; ENOSYS without layering;
    ///   EXDEV for a format 1 clone across namespaces.
    @discardableResult
    public static func clone(
        parentIO: IOContext, parentName: String, snapshot snapshotName: String,
        childIO: IOContext, childName: String,
        options: ImageCreateOptions = ImageCreateOptions(), format: CloneFormat = .auto
    ) async throws(RADOSError) -> String {
        if let features = options.features, !features.isSubset(of: .all) {
            throw RADOSError(.unsupported, "librbd does not support requested features", errno: 38)
        }
        let format = try await format.resolved(childIO)
        if format == .v1 && parentIO.namespace != childIO.namespace {
            throw RADOSError(.clusterError, "clone v2 required for cross-namespace clones", errno: 18)
        }
        let parent = try await open(parentIO, name: parentName, snapshot: snapshotName, readOnly: true)
        do {
            let id = try await clone(parent: parent, parentIO: parentIO, childIO: childIO, childName: childName, options: options, format: format)
            try? await parent.close()
            return id
        } catch {
            try? await parent.close()
            throw error
        }
    }

    /// Features librbd enables by itself, so a clone does not inherit them
    /// (`RBD_FEATURES_IMPLICIT_ENABLE`, `src/include/rbd/features.h`).
    static let implicitlyEnabledFeatures: RBDFeatures = [.stripingV2, .dataPool, .fastDiff, .operations, .migrating, .nonPrimary, RBDFeatures(rawValue: 1 << 11)]

    /// The operation features this client knows (`RBD_OPERATION_FEATURES_ALL`); an image
    /// with others cannot be operated on (librbd's `operations_disabled`).
    static let knownOperationFeatures: UInt64 = 0xF

    /// The create options of a clone of `parent`: what is unset comes from the parent
    /// (`CloneRequest::validate_parent`, `create_child`).
    static func cloneCreateOptions(_ options: ImageCreateOptions, parent: ImageInfo) -> ImageCreateOptions {
        var options = options
        if options.features == nil { options.features = parent.features.subtracting(implicitlyEnabledFeatures) }
        if options.order == nil { options.order = parent.order }
        if options.stripeUnit == 0 { options.stripeUnit = parent.stripeUnit }
        if options.stripeCount == 0 { options.stripeCount = parent.stripeCount }
        return options
    }

    private static func clone(parent: Image, parentIO: IOContext, childIO: IOContext, childName: String, options: ImageCreateOptions, format: CloneFormat) async throws(RADOSError) -> String {
        guard let snapshot = parent.snapshot else {
            throw RADOSError(.invalidArgument, "image to be cloned must be a snapshot")
        }
        let parentInfo = parent.info
        if parentInfo.operationFeatures & ~knownOperationFeatures != 0 {
            throw RADOSError(.permissionDenied, "image operations disabled due to unsupported op features", errno: 30)
        }
        guard parentInfo.features.contains(.layering) else {
            throw RADOSError(.unsupported, "parent image must support layering", errno: 38)
        }
        if format == .v1 && !snapshot.isProtected {
            throw RADOSError(.invalidArgument, "parent snapshot must be protected")
        }
        let childOptions = cloneCreateOptions(options, parent: parentInfo)
        guard childOptions.features?.contains(.layering) == true else {
            throw RADOSError(.unsupported, "cloning image must support layering", errno: 38)
        }
        let size = snapshot.size
        let childID = try await create(childIO, name: childName, size: size, options: childOptions)
        let spec = ClsRBD.ParentSpec(poolID: parentIO.poolID, poolNamespace: parentIO.namespace, imageID: parent.id, snapID: snapshot.id)
        do {
            try await attachParent(childIO, childID: childID, parent: spec, overlap: size)
            try await attachChild(childIO, childID: childID, parentIO: parentIO, parent: spec, format: format)
            try await copyMetadata(from: parentIO, parentID: parent.id, to: childIO, childID: childID)
        } catch {
            try? await remove(childIO, name: childName)
            throw error
        }
        _ = try? await parentIO.notify(RBDObjectNames.header(imageID: parent.id), payload: ImageNotify.headerUpdate(), timeout: notifyTimeoutSeconds)
        return childID
    }

    /// `AttachParentRequest`: `parent_attach`, or `set_parent` where the OSDs lack it
    /// (only without a namespace: namespaces need newer OSDs, EXDEV).
    private static func attachParent(_ childIO: IOContext, childID: String, parent: ClsRBD.ParentSpec, overlap: UInt64) async throws(RADOSError) {
        let header = RBDObjectNames.header(imageID: childID)
        do {
            _ = try await childIO.operate(header, [ClsRBD.parentAttach(parent, overlap: overlap)])
        } catch where error.errno == 95 {
            var legacy = parent
            if legacy.poolNamespace == childIO.namespace { legacy.poolNamespace = "" }
            guard legacy.poolNamespace.isEmpty else {
                throw RADOSError(.clusterError, "the OSDs cannot record a parent in another namespace", errno: 18)
            }
            _ = try await childIO.operate(header, [ClsRBD.setParent(legacy, overlap: overlap)])
        }
    }

    /// `AttachChildRequest` for a new clone.
    private static func attachChild(_ childIO: IOContext, childID: String, parentIO: IOContext, parent: ClsRBD.ParentSpec, format: CloneFormat) async throws(RADOSError) {
        let parentHeader = RBDObjectNames.header(imageID: parent.imageID)
        switch format {
        case .v1:
            var spec = parent
            spec.poolNamespace = ""
            _ = try await childIO.operate(ClsRBD.childrenObject, [ClsRBD.addChild(parent: spec, childID: childID)])
            // An unprotect racing with us must not leave an unprotected parent.
            let output = try await parentIO.operate(parentHeader, [ClsRBD.getProtectionStatus(snapID: parent.snapID)])
            let status = try ImageInfo.decode { try ClsRBD.decodeProtectionStatus(output.first ?? ByteBuffer()) }
            guard status == .protected else {
                throw RADOSError(.invalidArgument, "parent snapshot must be protected")
            }
        case .v2, .auto:
            let clone = ClsRBD.operationCloneChild
            _ = try await childIO.operate(RBDObjectNames.header(imageID: childID), [ClsRBD.operationFeaturesSet(clone, mask: clone)])
            let child = ClsRBD.ChildSpec(poolID: childIO.poolID, poolNamespace: childIO.namespace, imageID: childID)
            _ = try await parentIO.operate(parentHeader, [ClsRBD.childAttach(snapID: parent.snapID, child: child)])
        }
    }

    /// `MetadataCopyRequest`: the parent's `metadata_list`, page by page, set on the child.
    private static func copyMetadata(from parentIO: IOContext, parentID: String, to childIO: IOContext, childID: String) async throws(RADOSError) {
        let page: UInt64 = 128
        var after = ""
        while true {
            let output = try await parentIO.operate(RBDObjectNames.header(imageID: parentID), [ClsRBD.metadataList(startAfter: after, maxReturn: page)])
            let pairs = try ImageInfo.decode { try ClsRBD.decodeMetadataList(output.first ?? ByteBuffer()) }
            if !pairs.isEmpty {
                _ = try await childIO.operate(RBDObjectNames.header(imageID: childID), [ClsRBD.metadataSet(pairs)])
            }
            guard UInt64(pairs.count) == page, let last = pairs.keys.max() else { return }
            after = last
        }
    }
}
