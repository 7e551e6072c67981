import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// The clone calls' inputs byte for byte, against the encodings in ceph/ceph
/// `src/cls/rbd/cls_rbd_client.cc` and `src/cls/rbd/cls_rbd_types.cc`.
@Suite struct ClsRBDCloneTests {
    static func input(_ op: OSDOp, _ method: String) -> [UInt8] { ClsRBDTests.callInput(op, method: method) }

    static let parent = ClsRBD.ParentSpec(poolID: 2, poolNamespace: "ns", imageID: "ab12", snapID: 4)
    static let child = ClsRBD.ChildSpec(poolID: 3, poolNamespace: "", imageID: "cd34")

    /// `ParentImageSpec` v1: s64 pool, string namespace, string image id, u64 snap id.
    static let parentSpecBytes: [UInt8] = [1, 1, 30, 0, 0, 0]  // version 1, compat 1, 30 bytes
        + [2, 0, 0, 0, 0, 0, 0, 0]  // pool 2
        + [2, 0, 0, 0, 0x6E, 0x73]  // namespace "ns"
        + [4, 0, 0, 0, 0x61, 0x62, 0x31, 0x32]  // image id "ab12"
        + [4, 0, 0, 0, 0, 0, 0, 0]  // snap id 4

    /// `ChildImageSpec` v2 (compat 1): s64 pool, string image id, string namespace.
    static let childSpecBytes: [UInt8] = [2, 1, 20, 0, 0, 0]  // version 2, compat 1, 20 bytes
        + [3, 0, 0, 0, 0, 0, 0, 0]  // pool 3
        + [4, 0, 0, 0, 0x63, 0x64, 0x33, 0x34]  // image id "cd34"
        + [0, 0, 0, 0]  // namespace ""

    @Test func parentAttachSendsTheSpecOverlapAndReattach() {
        let expected = Self.parentSpecBytes
            + [0, 0, 0, 1, 0, 0, 0, 0]  // overlap 16 MiB
            + [0]  // reattach: false
        #expect(Self.input(ClsRBD.parentAttach(Self.parent, overlap: 16 << 20), "parent_attach") == expected)
    }

    @Test func setParentIsTheLegacyFormWithoutNamespace() {
        let expected: [UInt8] = [2, 0, 0, 0, 0, 0, 0, 0]  // pool 2
            + [4, 0, 0, 0, 0x61, 0x62, 0x31, 0x32]  // image id "ab12"
            + [4, 0, 0, 0, 0, 0, 0, 0]  // snap id 4
            + [0, 0, 0, 1, 0, 0, 0, 0]  // overlap 16 MiB
        #expect(Self.input(ClsRBD.setParent(Self.parent, overlap: 16 << 20), "set_parent") == expected)
    }

    @Test func operationFeaturesSetSendsValueThenMask() {
        let expected: [UInt8] = [2, 0, 0, 0, 0, 0, 0, 0]  // clone-child
            + [2, 0, 0, 0, 0, 0, 0, 0]  // mask: clone-child
        #expect(Self.input(ClsRBD.operationFeaturesSet(ClsRBD.operationCloneChild, mask: ClsRBD.operationCloneChild), "op_features_set") == expected)
    }

    @Test func childAttachAndDetachSendSnapIDThenChildSpec() {
        let expected: [UInt8] = [4, 0, 0, 0, 0, 0, 0, 0] + Self.childSpecBytes  // snap id 4, then the child
        #expect(Self.input(ClsRBD.childAttach(snapID: 4, child: Self.child), "child_attach") == expected)
        #expect(Self.input(ClsRBD.childDetach(snapID: 4, child: Self.child), "child_detach") == expected)
    }

    @Test func childrenListAndSnapshotTrashAddSendTheSnapID() {
        #expect(Self.input(ClsRBD.childrenList(snapID: 9), "children_list") == [9, 0, 0, 0, 0, 0, 0, 0])
        #expect(Self.input(ClsRBD.snapshotTrashAdd(id: 9), "snapshot_trash_add") == [9, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func addAndRemoveChildUseTheFormat1Key() {
        let expected: [UInt8] = [2, 0, 0, 0, 0, 0, 0, 0]  // parent pool 2
            + [4, 0, 0, 0, 0x61, 0x62, 0x31, 0x32]  // parent image id "ab12"
            + [4, 0, 0, 0, 0, 0, 0, 0]  // parent snap id 4
            + [4, 0, 0, 0, 0x63, 0x64, 0x33, 0x34]  // child image id "cd34"
        #expect(Self.input(ClsRBD.addChild(parent: Self.parent, childID: "cd34"), "add_child") == expected)
        #expect(Self.input(ClsRBD.removeChild(parent: Self.parent, childID: "cd34"), "remove_child") == expected)
    }

    @Test func trashGetSendsTheImageID() {
        #expect(Self.input(ClsRBD.trashGet(id: "cd34"), "trash_get") == [4, 0, 0, 0, 0x63, 0x64, 0x33, 0x34])
    }

    @Test func decodesChildrenListInBothSpecVersions() throws {
        var output = ByteBuffer()
        output.writeDencU32(2)  // two children
        output.writeBytes(Self.childSpecBytes)  // v2: pool 3, "cd34", namespace ""
        output.writeBytes([1, 1, 20, 0, 0, 0] + [5, 0, 0, 0, 0, 0, 0, 0] + [8, 0, 0, 0] + Array("ef567890".utf8))  // v1: pool 5, "ef567890", no namespace
        let children = try ClsRBD.decodeChildrenList(output)
        #expect(children == [Self.child, ClsRBD.ChildSpec(poolID: 5, poolNamespace: "", imageID: "ef567890")])
        var trailing = output
        trailing.writeBytes([0])
        #expect(throws: DencError.self) { try ClsRBD.decodeChildrenList(trailing) }
        var hostile = ByteBuffer()
        hostile.writeDencU32(0xFFFF_FFFF)  // a count no payload can hold
        #expect(throws: DencError.self) { try ClsRBD.decodeChildrenList(hostile) }
    }

    @Test func decodesTheTrashEntryName() throws {
        var output = ByteBuffer()
        output.writeDencVersioned(version: 2, compat: 1) {
            $0.writeDencU8(0)  // source: user
            $0.writeDencString("vm-disk")  // name
            $0.writeDencUTime(UTime(seconds: 1, nanoseconds: 0))  // deletion time
            $0.writeDencUTime(UTime(seconds: 2, nanoseconds: 0))  // deferment end
            $0.writeDencU8(0)  // state: normal
        }
        #expect(try ClsRBD.decodeTrashImageName(output) == "vm-disk")
    }

    @Test func decodesATrashedSnapshotsOriginalName() throws {
        func info(_ namespace: (inout ByteBuffer) -> Void) -> ByteBuffer {
            var output = ByteBuffer()
            output.writeDencVersioned(version: 1, compat: 1) { body in
                body.writeDencU64(4)  // id
                body.writeDencVersioned(version: 1, compat: 1, namespace)
                body.writeDencString("0f1e2d3c-uuid")  // name (a UUID once trashed)
                body.writeDencU64(16 << 20)  // size
                body.writeDencUTime(UTime(seconds: 5, nanoseconds: 0))  // timestamp
                body.writeDencU32(1)  // child count
            }
            return output
        }
        let trashed = try ClsRBD.decodeSnapshotInfo(info {
            $0.writeDencU32(2)  // trash
            $0.writeDencString("s")  // original name
            $0.writeDencU32(0)  // original namespace: user
        })
        #expect(trashed.namespaceType == 2 && trashed.originalName == "s" && trashed.originalNamespaceType == 0)
        let user = try ClsRBD.decodeSnapshotInfo(info { $0.writeDencU32(0) })
        #expect(user.namespaceType == 0 && user.originalName == nil && user.originalNamespaceType == nil)
    }

    @Test func autoPicksFormat2FromMimicOn() {
        #expect(CloneFormat.automatic(minCompatClient: "jewel", requireMinCompatClient: "luminous") == .v1)
        #expect(CloneFormat.automatic(minCompatClient: "jewel", requireMinCompatClient: "mimic") == .v2)
        #expect(CloneFormat.automatic(minCompatClient: "nautilus", requireMinCompatClient: "luminous") == .v2)
        #expect(CloneFormat.automatic(minCompatClient: nil, requireMinCompatClient: "unknown") == .v1)
        #expect(CloneFormat(parsing: " 2") == .v2 && CloneFormat(parsing: "auto") == .auto && CloneFormat(parsing: "3") == nil)
    }

    @Test func cloneOptionsComeFromTheParentUnlessGiven() throws {
        var parent = ImageInfo(name: "p", id: "ab12", size: 16 << 20, order: 22, features: [.layering, .stripingV2, .exclusiveLock, .objectMap, .fastDiff, .operations], operationFeatures: 1, flags: 0, blockNamePrefix: "rbd_data.ab12", stripeUnit: 65536, stripeCount: 4, dataPoolID: nil, snapshotCount: 1, createTimestamp: .distantPast, accessTimestamp: .distantPast, modifyTimestamp: .distantPast)
        let inherited = Image.cloneCreateOptions(ImageCreateOptions(), parent: parent)
        #expect(inherited.features == [.layering, .exclusiveLock, .objectMap])
        #expect(inherited.order == 22 && inherited.stripeUnit == 65536 && inherited.stripeCount == 4)
        parent.stripeUnit = 1 << 22
        parent.stripeCount = 1
        let given = Image.cloneCreateOptions(ImageCreateOptions(order: 20, features: [.layering]), parent: parent)
        #expect(given.features == [.layering] && given.order == 20 && given.stripeUnit == 1 << 22)
        // As librbd: the parent's 4 MiB stripe unit does not fit 1 MiB objects.
        #expect(throws: RADOSError.self) { try CreatePlan(metadataPoolID: 1, size: 16 << 20, options: given) }
    }
}
