import NIOCore
import RADOSProto

/// The `rbd` class calls that make, list and unmake clones, the way librbd sends them.
///
/// Inputs from ceph/ceph `src/cls/rbd/cls_rbd_client.cc` (`parent_attach`, `set_parent`,
/// `op_features_set`, `child_attach`, `child_detach`, `children_list`, `add_child`,
/// `remove_child`, `snapshot_trash_add`, `trash_get`), the methods in
/// `src/cls/rbd/cls_rbd.cc`, and the types in `src/cls/rbd/cls_rbd_types.cc`
/// (`ParentImageSpec`, `ChildImageSpec`, `TrashImageSpec`).
///
/// Clone format 2 records a child on its parent's header (`child_attach`, keyed by the
/// parent snapshot) and marks both images with operation features; clone format 1
/// records it in the `rbd_children` object of the child's pool (`add_child`, keyed by
/// the parent's pool, image id and snapshot id), which needs the snapshot protected.
extension ClsRBD {
    /// The `rbd_children` object clone format 1 uses (`RBD_CHILDREN`, `src/include/rbd_types.h`).
    package static let childrenObject = "rbd_children"
    /// The pool's image trash (`RBD_TRASH`).
    package static let trashObject = "rbd_trash"

    /// Operation feature bits (`RBD_OPERATION_FEATURE_*`, `src/include/rbd/features.h`).
    package static let operationCloneParent: UInt64 = 1 << 0
    package static let operationCloneChild: UInt64 = 1 << 1
    package static let operationGroup: UInt64 = 1 << 2
    package static let operationSnapTrash: UInt64 = 1 << 3

    /// A clone as its parent's header lists it (`cls::rbd::ChildImageSpec`).
    package struct ChildSpec: Hashable, Sendable {
        package var poolID: Int64
        package var poolNamespace: String
        package var imageID: String

        package init(poolID: Int64, poolNamespace: String, imageID: String) {
            self.poolID = poolID
            self.poolNamespace = poolNamespace
            self.imageID = imageID
        }
    }

    // MARK: the child's header

    /// `parent_attach`: makes the image a clone of `parent` with `overlap` bytes mapping
    /// to it. Input: `ParentImageSpec` (v1: s64 pool, string namespace, string image id,
    /// u64 snap id), u64 overlap, bool reattach.
    package static func parentAttach(_ parent: ParentSpec, overlap: UInt64, reattach: Bool = false) -> OSDOp {
        call("parent_attach") {
            $0.writeDencParentSpec(parent)
            $0.writeDencU64(overlap)
            $0.writeDencBool(reattach)
        }
    }

    /// `set_parent`, what OSDs before Nautilus take (no namespace): s64 pool, string image
    /// id, u64 snap id, u64 overlap.
    package static func setParent(_ parent: ParentSpec, overlap: UInt64) -> OSDOp {
        call("set_parent") {
            $0.writeDencI64(parent.poolID)
            $0.writeDencString(parent.imageID)
            $0.writeDencU64(parent.snapID)
            $0.writeDencU64(overlap)
        }
    }

    /// `op_features_set`: the bits of `mask` become those of `features`.
    package static func operationFeaturesSet(_ features: UInt64, mask: UInt64) -> OSDOp {
        call("op_features_set") {
            $0.writeDencU64(features)
            $0.writeDencU64(mask)
        }
    }

    // MARK: the parent's header (clone format 2)

    /// `child_attach`: records `child` under snapshot `snapID` (bumping its child count
    /// and setting the clone-parent operation feature). ENOENT for a trashed snapshot,
    /// EEXIST when the child is already there.
    package static func childAttach(snapID: UInt64, child: ChildSpec) -> OSDOp {
        call("child_attach") {
            $0.writeDencU64(snapID)
            $0.writeDencChildSpec(child)
        }
    }

    /// `child_detach`: the reverse; the clone-parent operation feature goes when no
    /// snapshot has children left. ENOENT when the child is not there.
    package static func childDetach(snapID: UInt64, child: ChildSpec) -> OSDOp {
        call("child_detach") {
            $0.writeDencU64(snapID)
            $0.writeDencChildSpec(child)
        }
    }

    /// `children_list`: the children of snapshot `snapID`; ENOENT when it has none.
    package static func childrenList(snapID: UInt64) -> OSDOp { call("children_list") { $0.writeDencU64(snapID) } }

    /// `children_list` output: a set of `ChildImageSpec` (v2 adds the namespace).
    package static func decodeChildrenList(_ output: ByteBuffer) throws -> [ChildSpec] {
        try output.decodeExactly("children_list") { buffer in
            try buffer.readDencArray(minimumElementSize: 18) { item in
                try item.readDencVersioned("ChildImageSpec", understands: 2) { body, version in
                    let pool = try body.readDencI64()
                    let image = try body.readDencString()
                    let namespace = version >= 2 ? try body.readDencString() : ""
                    return ChildSpec(poolID: pool, poolNamespace: namespace, imageID: image)
                }
            }
        }
    }

    /// `snapshot_trash_add`: moves snapshot `id` to the trash namespace (its name becomes
    /// a random UUID, the old name and namespace type are kept in the namespace, the
    /// snap-trash operation feature is set). EBUSY when protected, EEXIST when already
    /// in the trash, EOPNOTSUPP on OSDs without it.
    package static func snapshotTrashAdd(id: UInt64) -> OSDOp { call("snapshot_trash_add") { $0.writeDencU64(id) } }

    // MARK: rbd_children (clone format 1)

    /// `add_child` on `rbd_children`: s64 parent pool, string parent image id, u64 parent
    /// snap id, string child image id (no namespace: format 1 clones share it).
    package static func addChild(parent: ParentSpec, childID: String) -> OSDOp {
        call("add_child") { $0.writeDencV1ChildKey(parent, childID: childID) }
    }

    /// `remove_child` on `rbd_children`, the same input; ENOENT when it is not there.
    package static func removeChild(parent: ParentSpec, childID: String) -> OSDOp {
        call("remove_child") { $0.writeDencV1ChildKey(parent, childID: childID) }
    }

    // MARK: rbd_trash

    /// `trash_get` on `rbd_trash`: the trash entry of image `id`.
    package static func trashGet(id: String) -> OSDOp { call("trash_get") { $0.writeDencString(id) } }

    /// `trash_get` output, `TrashImageSpec` (v1: u8 source, string name, utime deletion,
    /// utime deferment end; v2 adds u8 state): only the name matters here.
    package static func decodeTrashImageName(_ output: ByteBuffer) throws -> String {
        try output.decodeExactly("trash_get") { buffer in
            try buffer.readDencVersioned("TrashImageSpec", understands: 2) { body, _ in
                _ = try body.readDencU8()  // source
                return try body.readDencString()  // the times and state that follow are skipped
            }
        }
    }
}

extension ByteBuffer {
    /// `cls::rbd::ParentImageSpec` (version 1).
    mutating func writeDencParentSpec(_ spec: ClsRBD.ParentSpec) {
        writeDencVersioned(version: 1, compat: 1) {
            $0.writeDencI64(spec.poolID)
            $0.writeDencString(spec.poolNamespace)
            $0.writeDencString(spec.imageID)
            $0.writeDencU64(spec.snapID)
        }
    }

    /// `cls::rbd::ChildImageSpec` (version 2, compat 1: pool, image id, namespace).
    mutating func writeDencChildSpec(_ spec: ClsRBD.ChildSpec) {
        writeDencVersioned(version: 2, compat: 1) {
            $0.writeDencI64(spec.poolID)
            $0.writeDencString(spec.imageID)
            $0.writeDencString(spec.poolNamespace)
        }
    }

    /// The key of a parent snapshot in `rbd_children` (`get_children`'s input).
    mutating func writeDencV1ParentKey(poolID: Int64, imageID: String, snapID: UInt64) {
        writeDencI64(poolID)
        writeDencString(imageID)
        writeDencU64(snapID)
    }

    /// The key and value `add_child`/`remove_child` take.
    mutating func writeDencV1ChildKey(_ parent: ClsRBD.ParentSpec, childID: String) {
        writeDencV1ParentKey(poolID: parent.poolID, imageID: parent.imageID, snapID: parent.snapID)
        writeDencString(childID)
    }
}
