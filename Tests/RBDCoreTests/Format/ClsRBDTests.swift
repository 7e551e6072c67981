import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

@Suite struct ClsRBDTests {
    /// The data segment of a class call: class name, method name, then the input.
    static func callInput(_ op: OSDOp, class className: String = "rbd", method: String) -> [UInt8] {
        var data = op.input
        let prefix = data.readString(length: className.utf8.count + method.utf8.count)
        #expect(prefix == className + method)
        #expect(op.code == .call)
        return Array(data.readableBytesView)
    }

    @Test func createEncodesSizeOrderFeaturesPrefixAndDataPool() {
        let op = ClsRBD.createImage(size: 1 << 30, order: 22, features: [.layering, .exclusiveLock], objectPrefix: "rbd_data.1a2b", dataPoolID: -1)
        var expected: [UInt8] = []
        expected += [0, 0, 0, 0x40, 0, 0, 0, 0]  // size 1 GiB
        expected += [22]  // order (4 MiB objects)
        expected += [5, 0, 0, 0, 0, 0, 0, 0]  // features: layering | exclusive-lock
        expected += [13, 0, 0, 0] + Array("rbd_data.1a2b".utf8)  // object prefix
        expected += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]  // data pool: none
        #expect(Self.callInput(op, method: "create") == expected)
    }

    @Test func snapshotAddNamesAUserSnapshot() {
        let op = ClsRBD.snapshotAdd(id: 4, name: "s1")
        let expected: [UInt8] = [2, 0, 0, 0, 0x73, 0x31]  // name "s1"
            + [4, 0, 0, 0, 0, 0, 0, 0]  // snap id 4
            + [1, 1, 4, 0, 0, 0, 0, 0, 0, 0]  // SnapshotNamespace v1: type 0 (user)
        #expect(Self.callInput(op, method: "snapshot_add") == expected)
    }

    @Test func objectMapUpdateCarriesTheOptionalCurrentState() {
        let conditional = ClsRBD.objectMapUpdate(start: 3, end: 4, state: .exists, currentState: .nonexistent)
        #expect(Self.callInput(conditional, method: "object_map_update") == [3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0])
        let unconditional = ClsRBD.objectMapUpdate(start: 0, end: 1, state: .pending, currentState: nil)
        #expect(Self.callInput(unconditional, method: "object_map_update").suffix(2) == [2, 0])
    }

    @Test func decodesSizeFeaturesAndStripes() throws {
        let size = try ClsRBD.decodeSize(ByteBuffer(bytes: [22, 0, 0, 0, 0x40, 0, 0, 0, 0]))
        #expect(size.order == 22 && size.size == 1 << 30)
        let features = try ClsRBD.decodeFeatures(ByteBuffer(bytes: [61, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
        #expect(features.features == .pacificDefault && features.incompatible.isEmpty)
        #expect(features.features.names == ["layering", "exclusive-lock", "object-map", "fast-diff", "deep-flatten"])
        let stripes = try ClsRBD.decodeStripeUnitCount(ByteBuffer(bytes: [0, 0, 1, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]))
        #expect(stripes.unit == 65536 && stripes.count == 8)
        #expect(throws: DencError.self) { try ClsRBD.decodeSize(ByteBuffer(bytes: [22, 0, 0])) }
    }

    @Test func snapContextMustBeOrdered() throws {
        var good = ByteBuffer()
        good.writeDencU64(7)
        good.writeDencArray([7, 5, 2] as [UInt64]) { $0.writeDencU64($1) }
        let decoded = try ClsRBD.decodeSnapContext(good)
        #expect(decoded.seq == 7 && decoded.snaps == [7, 5, 2])
        var bad = ByteBuffer()
        bad.writeDencU64(7)
        bad.writeDencArray([2, 5] as [UInt64]) { $0.writeDencU64($1) }
        #expect(throws: DencError.self) { try ClsRBD.decodeSnapContext(bad) }
        var aboveSeq = ByteBuffer()
        aboveSeq.writeDencU64(3)
        aboveSeq.writeDencArray([5] as [UInt64]) { $0.writeDencU64($1) }
        #expect(throws: DencError.self) { try ClsRBD.decodeSnapContext(aboveSeq) }
    }

    @Test func decodesSnapshotInfoSkippingNamespaceDetails() throws {
        var output = ByteBuffer()
        output.writeDencVersioned(version: 1, compat: 1) { info in
            info.writeDencU64(4)  // id
            info.writeDencVersioned(version: 1, compat: 1) { ns in  // a group snapshot namespace
                ns.writeDencU32(1)
                ns.writeDencI64(2)
                ns.writeDencString("group-id")
                ns.writeDencString("snap-id")
            }
            info.writeDencString("before-upgrade")
            info.writeDencU64(10 << 30)  // image size at the snapshot
            info.writeDencU32(1_700_000_000)
            info.writeDencU32(5)
            info.writeDencU32(2)  // children
        }
        let info = try ClsRBD.decodeSnapshotInfo(output)
        #expect(info.id == 4 && info.namespaceType == 1 && info.name == "before-upgrade")
        #expect(info.imageSize == 10 << 30 && info.timestamp == UTime(rawSeconds: 1_700_000_000, nanoseconds: 5) && info.childCount == 2)
    }

    @Test func directoryListAndParent() throws {
        var list = ByteBuffer()
        list.writeDencMap(["vm1": "abc", "vm2": "def"], key: { $0.writeDencString($1) }, value: { $0.writeDencString($1) })
        #expect(try ClsRBD.decodeDirectoryList(list) == ["vm1": "abc", "vm2": "def"])
        var noParent = ByteBuffer()
        noParent.writeDencVersioned(version: 1, compat: 1) {
            $0.writeDencI64(-1)
            $0.writeDencString("")
            $0.writeDencString("")
            $0.writeDencU64(MOSDOp.noSnap)
        }
        #expect(try ClsRBD.decodeParent(noParent) == nil)
    }

    @Test func objectNamesFollowLibrbd() {
        #expect(RBDObjectNames.id(imageName: "vm") == "rbd_id.vm")
        #expect(RBDObjectNames.header(imageID: "1026414d399a") == "rbd_header.1026414d399a")
        #expect(RBDObjectNames.data(prefix: "rbd_data.1026414d399a", objectNumber: 0x1F) == "rbd_data.1026414d399a.000000000000001f")
        #expect(RBDObjectNames.objectMap(imageID: "ab", snapID: 4) == "rbd_object_map.ab.0000000000000004")
    }
}
