import NIOCore
import RADOSProto

/// Calls to the `rbd` object class, the way librbd makes them.
///
/// Each function builds the `CALL` op with its input encoded as the OSD-side method
/// expects; each `decode…` reads a method's output. Image metadata lives in the header
/// object's omap and is only ever touched through these methods, so what we write is
/// what `rbd` reads. Source: ceph/ceph `src/cls/rbd/cls_rbd_client.cc` (inputs and
/// outputs), `src/cls/rbd/cls_rbd.cc` (the methods), `src/cls/rbd/cls_rbd_types.cc`
/// (`SnapshotInfo`, `SnapshotNamespace`, `ParentImageSpec`).
package enum ClsRBD {
    static let className = "rbd"

    static func call(_ method: String, _ body: (inout ByteBuffer) -> Void = { _ in }) -> OSDOp {
        var input = ByteBuffer()
        body(&input)
        // Class and method names are short constants, so this cannot fail.
        return (try? OSDOp.call(class: className, method: method, input: input)) ?? OSDOp(.call)
    }

    // MARK: rbd_id.<name>

    package static func getID() -> OSDOp { call("get_id") }
    /// `set_id` needs the object to exist: send it after an exclusive create (``createIDObject(id:)``).
    package static func setID(_ id: String) -> OSDOp { call("set_id") { $0.writeDencString(id) } }
    /// The compound op librbd sends to `rbd_id.<name>`: exclusive create, then `set_id`
    /// (`src/librbd/image/CreateRequest.cc`, `create_id_object`).
    package static func createIDObject(id: String) -> [OSDOp] { [.create(exclusive: true), setID(id)] }

    // MARK: rbd_directory

    package static func directoryGetID(name: String) -> OSDOp { call("dir_get_id") { $0.writeDencString(name) } }
    package static func directoryGetName(id: String) -> OSDOp { call("dir_get_name") { $0.writeDencString(id) } }
    package static func directoryList(startAfter: String, maxReturn: UInt64) -> OSDOp {
        call("dir_list") {
            $0.writeDencString(startAfter)
            $0.writeDencU64(maxReturn)
        }
    }
    package static func directoryAdd(name: String, id: String) -> OSDOp {
        call("dir_add_image") {
            $0.writeDencString(name)
            $0.writeDencString(id)
        }
    }
    package static func directoryRemove(name: String, id: String) -> OSDOp {
        call("dir_remove_image") {
            $0.writeDencString(name)
            $0.writeDencString(id)
        }
    }
    package static func directoryRename(from source: String, to destination: String, id: String) -> OSDOp {
        call("dir_rename_image") {
            $0.writeDencString(source)
            $0.writeDencString(destination)
            $0.writeDencString(id)
        }
    }

    /// `dir_state_assert`: fails (EINVAL, or ENOENT when the directory is missing) unless the
    /// namespace's directory is in `state` (0 ready, 1 removing); librbd prefixes
    /// `dir_add_image` with it inside namespaces (`CreateRequest::add_image_to_directory`).
    package static func directoryStateAssert(_ state: UInt8 = 0) -> OSDOp { call("dir_state_assert") { $0.writeDencU8(state) } }

    /// `dir_list`'s output: image name → id.
    package static func decodeDirectoryList(_ output: ByteBuffer) throws -> [String: String] {
        var buffer = output
        return try buffer.readDencMap(minimumEntrySize: 8, key: { try $0.readDencString() }, value: { try $0.readDencString() })
    }

    // MARK: rbd_header.<id>

    /// `create`: size, order, features, object prefix, data pool (-1 for none).
    package static func createImage(size: UInt64, order: UInt8, features: RBDFeatures, objectPrefix: String, dataPoolID: Int64 = -1) -> OSDOp {
        call("create") {
            $0.writeDencU64(size)
            $0.writeDencU8(order)
            $0.writeDencU64(features.rawValue)
            $0.writeDencString(objectPrefix)
            $0.writeDencI64(dataPoolID)
        }
    }

    /// The compound op librbd sends to `rbd_header.<id>`: exclusive create, then `create`
    /// (`CreateRequest::create_image`), so a second creator fails with EEXIST.
    package static func createHeader(size: UInt64, order: UInt8, features: RBDFeatures, objectPrefix: String, dataPoolID: Int64 = -1) -> [OSDOp] {
        [.create(exclusive: true), createImage(size: size, order: order, features: features, objectPrefix: objectPrefix, dataPoolID: dataPoolID)]
    }

    package static func getSize(snapID: UInt64) -> OSDOp { call("get_size") { $0.writeDencU64(snapID) } }
    package static func setSize(_ size: UInt64) -> OSDOp { call("set_size") { $0.writeDencU64(size) } }
    /// `get_features` for the head; `readOnly` lets the OSD skip features a reader need not honour.
    package static func getFeatures(readOnly: Bool) -> OSDOp {
        call("get_features") {
            $0.writeDencU64(MOSDOp.noSnap)
            $0.writeDencBool(readOnly)
        }
    }
    package static func getObjectPrefix() -> OSDOp { call("get_object_prefix") }
    package static func getDataPool() -> OSDOp { call("get_data_pool") }
    package static func getFlags(snapID: UInt64) -> OSDOp { call("get_flags") { $0.writeDencU64(snapID) } }
    package static func getOperationFeatures() -> OSDOp { call("op_features_get") }
    package static func getSnapContext() -> OSDOp { call("get_snapcontext") }
    package static func getStripeUnitCount() -> OSDOp { call("get_stripe_unit_count") }
    package static func setStripeUnitCount(unit: UInt64, count: UInt64) -> OSDOp {
        call("set_stripe_unit_count") {
            $0.writeDencU64(unit)
            $0.writeDencU64(count)
        }
    }
    package static func getCreateTimestamp() -> OSDOp { call("get_create_timestamp") }
    package static func getAccessTimestamp() -> OSDOp { call("get_access_timestamp") }
    package static func getModifyTimestamp() -> OSDOp { call("get_modify_timestamp") }
    package static func getParent() -> OSDOp { call("parent_get") }
    /// `parent_overlap_get`: how many bytes of a clone (at `snapID`) still map to its parent.
    package static func parentOverlapGet(snapID: UInt64) -> OSDOp { call("parent_overlap_get") { $0.writeDencU64(snapID) } }

    /// `get_size` output: order, then size.
    package static func decodeSize(_ output: ByteBuffer) throws -> (order: UInt8, size: UInt64) {
        var buffer = output
        return (try buffer.readDencU8(), try buffer.readDencU64())
    }

    /// `get_features` output: features, then the incompatible ones.
    package static func decodeFeatures(_ output: ByteBuffer) throws -> (features: RBDFeatures, incompatible: RBDFeatures) {
        var buffer = output
        return (RBDFeatures(rawValue: try buffer.readDencU64()), RBDFeatures(rawValue: try buffer.readDencU64()))
    }

    package static func decodeString(_ output: ByteBuffer) throws -> String {
        var buffer = output
        return try buffer.readDencString()
    }

    package static func decodeU64(_ output: ByteBuffer) throws -> UInt64 {
        var buffer = output
        return try buffer.readDencU64()
    }

    package static func decodeI64(_ output: ByteBuffer) throws -> Int64 {
        var buffer = output
        return try buffer.readDencI64()
    }

    /// `get_snapcontext` output: seq, then snap ids newest first. Refused unless valid
    /// (`SnapContext::is_valid`: ids strictly decreasing, none above seq).
    package static func decodeSnapContext(_ output: ByteBuffer) throws -> SnapContext {
        var buffer = output
        let context = try buffer.readDencSnapContext()
        guard context.isValid else {
            throw DencError(.invalidValue("snap context is not ordered"), at: output, context: ["SnapContext"])
        }
        return context
    }

    /// `get_stripe_unit_count` output.
    package static func decodeStripeUnitCount(_ output: ByteBuffer) throws -> (unit: UInt64, count: UInt64) {
        var buffer = output
        return (try buffer.readDencU64(), try buffer.readDencU64())
    }

    /// A utime_t output.
    package static func decodeTimestamp(_ output: ByteBuffer) throws -> UTime {
        var buffer = output
        return try buffer.readDencUTime()
    }

    /// `parent_get` output: `ParentImageSpec` (pool -1 when the image has no parent).
    package static func decodeParent(_ output: ByteBuffer) throws -> ParentSpec? {
        var buffer = output
        let spec = try buffer.readDencVersioned("ParentImageSpec", understands: 1) { body, _ in
            ParentSpec(poolID: try body.readDencI64(), poolNamespace: try body.readDencString(), imageID: try body.readDencString(), snapID: try body.readDencU64())
        }
        return spec.poolID < 0 ? nil : spec
    }

    /// `parent_overlap_get` output: `std::optional<uint64_t>` (none without a parent).
    package static func decodeParentOverlap(_ output: ByteBuffer) throws -> UInt64? {
        try output.decodeExactly("parent overlap") { buffer in try buffer.readDencOptional { try $0.readDencU64() } }
    }

    /// A clone's parent: the pool, namespace, image id and snapshot it was cloned from.
    package struct ParentSpec: Hashable, Sendable {
        package var poolID: Int64
        package var poolNamespace: String
        package var imageID: String
        package var snapID: UInt64
    }

    // MARK: snapshots

    /// `snapshot_add`: a user snapshot (namespace type 0).
    package static func snapshotAdd(id: UInt64, name: String) -> OSDOp {
        call("snapshot_add") {
            $0.writeDencString(name)
            $0.writeDencU64(id)
            $0.writeDencVersioned(version: 1, compat: 1) { $0.writeDencU32(SnapshotInfo.userNamespace) }
        }
    }
    package static func snapshotRemove(id: UInt64) -> OSDOp { call("snapshot_remove") { $0.writeDencU64(id) } }
    package static func snapshotRename(id: UInt64, to name: String) -> OSDOp {
        call("snapshot_rename") {
            $0.writeDencU64(id)
            $0.writeDencString(name)
        }
    }
    package static func snapshotGet(id: UInt64) -> OSDOp { call("snapshot_get") { $0.writeDencU64(id) } }
    package static func getProtectionStatus(snapID: UInt64) -> OSDOp { call("get_protection_status") { $0.writeDencU64(snapID) } }
    package static func setProtectionStatus(snapID: UInt64, status: UInt8) -> OSDOp {
        call("set_protection_status") {
            $0.writeDencU64(snapID)
            $0.writeDencU8(status)
        }
    }

    /// `get_protection_status` output (`RBD_PROTECTION_STATUS_*`).
    package enum ProtectionStatus: UInt8, Sendable {
        case unprotected = 0
        case unprotecting = 1
        case protected = 2
    }

    package static func decodeProtectionStatus(_ output: ByteBuffer) throws -> ProtectionStatus {
        let raw = try output.decodeExactly("get_protection_status") { try $0.readDencU8() }
        guard let status = ProtectionStatus(rawValue: raw) else {
            throw DencError(.invalidValue("protection status \(raw)"), at: output, context: ["get_protection_status"])
        }
        return status
    }

    /// `get_children` on `rbd_children` (clone format 1): ids of the images cloned from
    /// snapshot `snapID` of image `imageID` in pool `poolID`; ENOENT when there are none.
    package static func getChildren(poolID: Int64, imageID: String, snapID: UInt64) -> OSDOp {
        call("get_children") { $0.writeDencV1ParentKey(poolID: poolID, imageID: imageID, snapID: snapID) }
    }

    /// `get_children` output: a set of image ids.
    package static func decodeChildren(_ output: ByteBuffer) throws -> [String] {
        try output.decodeExactly("get_children") { try $0.readDencArray(minimumElementSize: 4) { try $0.readDencString() } }
    }

    /// One snapshot as `snapshot_get` describes it.
    package struct SnapshotInfo: Hashable, Sendable {
        /// Snapshot namespace types (`cls::rbd::SnapshotNamespaceType`).
        package static let userNamespace: UInt32 = 0
        package static let groupNamespace: UInt32 = 1
        package static let trashNamespace: UInt32 = 2
        package static let mirrorNamespace: UInt32 = 3

        package var id: UInt64
        package var namespaceType: UInt32
        package var name: String
        package var imageSize: UInt64
        package var timestamp: UTime
        package var childCount: UInt32
        /// A trashed snapshot's name and namespace type before it was trashed
        /// (`TrashSnapshotNamespace`: string original name, u32 original type).
        package var originalName: String? = nil
        package var originalNamespaceType: UInt32? = nil
    }

    package static func decodeSnapshotInfo(_ output: ByteBuffer) throws -> SnapshotInfo {
        var buffer = output
        return try buffer.readDencVersioned("SnapshotInfo", understands: 1) { body, _ in
            let id = try body.readDencU64()
            // The namespace's own fields depend on its type; only the trash's are read.
            let namespace = try body.readDencVersioned("SnapshotNamespace", understands: 1) { ns, _ -> (type: UInt32, originalName: String?, originalType: UInt32?) in
                let type = try ns.readDencU32()
                guard type == SnapshotInfo.trashNamespace else { return (type, nil, nil) }
                return (type, try ns.readDencString(), try ns.readDencU32())
            }
            let name = try body.readDencString()
            let size = try body.readDencU64()
            let timestamp = try body.readDencUTime()
            let children = try body.readDencU32()
            return SnapshotInfo(
                id: id, namespaceType: namespace.type, name: name, imageSize: size, timestamp: timestamp, childCount: children,
                originalName: namespace.originalName, originalNamespaceType: namespace.originalType)
        }
    }

    // MARK: image metadata (`rbd image-meta`)

    package static func metadataSet(_ pairs: [String: ByteBuffer]) -> OSDOp {
        call("metadata_set") { buffer in
            buffer.writeDencMap(pairs, key: { $0.writeDencString($1) }, value: { $0.writeDencBytes($1) })
        }
    }
    package static func metadataRemove(key: String) -> OSDOp { call("metadata_remove") { $0.writeDencString(key) } }
    package static func metadataGet(key: String) -> OSDOp { call("metadata_get") { $0.writeDencString(key) } }
    package static func metadataList(startAfter: String, maxReturn: UInt64) -> OSDOp {
        call("metadata_list") {
            $0.writeDencString(startAfter)
            $0.writeDencU64(maxReturn)
        }
    }
    package static func decodeMetadataList(_ output: ByteBuffer) throws -> [String: ByteBuffer] {
        var buffer = output
        return try buffer.readDencMap(minimumEntrySize: 8, key: { try $0.readDencString() }, value: { try $0.readDencBytes() })
    }

    // MARK: object map (`rbd_object_map.<id>`)

    /// Object states in the map (`OBJECT_NONEXISTENT` … `OBJECT_EXISTS_CLEAN`).
    package enum ObjectState: UInt8, Sendable {
        case nonexistent = 0
        case exists = 1
        case pending = 2
        case existsClean = 3
    }

    package static func objectMapResize(objectCount: UInt64, defaultState: ObjectState) -> OSDOp {
        call("object_map_resize") {
            $0.writeDencU64(objectCount)
            $0.writeDencU8(defaultState.rawValue)
        }
    }

    /// Sets objects `start..<end` to `state`, only those in `currentState` when given.
    package static func objectMapUpdate(start: UInt64, end: UInt64, state: ObjectState, currentState: ObjectState?) -> OSDOp {
        call("object_map_update") {
            $0.writeDencU64(start)
            $0.writeDencU64(end)
            $0.writeDencU8(state.rawValue)
            $0.writeDencOptional(currentState) { $0.writeDencU8($1.rawValue) }
        }
    }

    /// `object_map_snap_add`: in the head map, EXISTS becomes EXISTS_CLEAN (fast diff,
    /// when a snapshot is taken).
    package static func objectMapSnapAdd() -> OSDOp { call("object_map_snap_add") }

    /// `object_map_snap_remove`: folds a removed snapshot's map (its stored form) into
    /// the next newer map: objects EXISTS there and EXISTS_CLEAN here become EXISTS.
    package static func objectMapSnapRemove(removedMap stored: ByteBuffer) -> OSDOp {
        call("object_map_snap_remove") { $0.writeImmutableBuffer(stored) }
    }

    /// `parent_detach`: the head of a clone stops mapping to its parent (snapshots of an
    /// image without deep-flatten keep their link); clears the clone-child operation
    /// feature when nothing refers to the parent any more (`src/cls/rbd/cls_rbd.cc`).
    package static func parentDetach() -> OSDOp { call("parent_detach") }
    /// `remove_parent`: the pre-Nautilus form of ``parentDetach()``, for OSDs without it.
    package static func removeParent() -> OSDOp { call("remove_parent") }

    // MARK: copy-up (a clone's data object)

    /// `sparse_copyup`: unless the object exists already, writes the parent's bytes into
    /// it: `extents` (object offset, length; in order, not overlapping) are the allocated
    /// runs, `data` their bytes back to back. An empty map creates an empty object. The
    /// input is `std::map<uint64_t, uint64_t>` then a length-prefixed bufferlist
    /// (`src/cls/rbd/cls_rbd_client.cc`, `sparse_copyup`; `src/cls/rbd/cls_rbd.cc`).
    package static func sparseCopyup(extents: [(offset: UInt64, length: UInt64)], data: ByteBuffer) -> OSDOp {
        call("sparse_copyup") {
            $0.writeDencLength(extents.count)
            for extent in extents {
                $0.writeDencU64(extent.offset)
                $0.writeDencU64(extent.length)
            }
            $0.writeDencBytes(data)
        }
    }

    /// Header flags (`RBD_FLAG_*`).
    package static let flagObjectMapInvalid: UInt64 = 1
    package static let flagFastDiffInvalid: UInt64 = 2

    /// `set_flags`: the bits of `mask` become those of `flags`, for the head or a snapshot.
    package static func setFlags(_ flags: UInt64, mask: UInt64, snapID: UInt64) -> OSDOp {
        call("set_flags") {
            $0.writeDencU64(flags)
            $0.writeDencU64(mask)
            $0.writeDencU64(snapID)
        }
    }
}
