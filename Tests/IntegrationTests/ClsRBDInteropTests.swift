import Foundation
import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// Our `rbd` object-class codecs against the real class on the OSDs, before our own
/// messenger exists: Debian's librados Python binding runs each call
/// (`Ioctx.execute`) with the input our encoder built, and our decoder reads the
/// real output. Reads are checked against what `rbd info` says; an image created
/// purely through our encoders is then read back by Ceph's own `rbd`.
@Suite(.requiresCluster, .requiresPythonRados)
struct ClsRBDInteropTests {
    struct ClassCallFailed: Error, CustomStringConvertible {
        var method: String
        var code: Int
        var description: String { "rbd.\(method) returned \(code)" }
    }

    /// Runs one class call through python3-rados and returns its output.
    /// A compound write: `create` ops become an exclusive create, class calls follow in order.
    static func executeWrite(_ ops: [OSDOp], on object: String) throws {
        var exclusiveCreate = ops.contains { $0.code == .create }
        for op in ops where op.code == .call {
            _ = try execute(op, on: object, write: true, exclusiveCreate: exclusiveCreate)
            exclusiveCreate = false
        }
    }

    /// Writing methods go in a write op (`rados_exec` is a read and cannot modify).
    static func execute(_ op: OSDOp, on object: String, pool: String = "rbd", write: Bool = false, exclusiveCreate: Bool = false) throws -> ByteBuffer {
        guard case .classCall(let classLength, let methodLength, _) = op.arguments else {
            throw ClassCallFailed(method: "?", code: -22)
        }
        var data = op.input
        let className = data.readString(length: Int(classLength)) ?? ""
        let method = data.readString(length: Int(methodLength)) ?? ""
        let input = Array(data.readableBytesView).map { String(format: "%02x", $0) }.joined()
        let script = """
            import sys, rados
            conf, pool, obj, cls, method, hexin, write, create = sys.argv[1:9]
            cluster = rados.Rados(conffile=conf)
            cluster.connect()
            io = cluster.open_ioctx(pool)
            try:
                if write == "1":
                    op = io.create_write_op()
                    if create == "1":
                        op.new(rados.LIBRADOS_CREATE_EXCLUSIVE)
                    op.execute(cls, method, bytes.fromhex(hexin))
                    io.operate_write_op(op, obj)
                    io.release_write_op(op)
                    ret, out = 0, b""
                else:
                    ret, out = io.execute(obj, cls, method, bytes.fromhex(hexin), length=1 << 20)
                print(ret)
                print((out or b"").hex())
            except rados.Error as error:
                print(-getattr(error, "errno", 5) if getattr(error, "errno", None) else -5)
                print("")
            cluster.shutdown()
            """
        guard let conf = ClusterEnvironment.cephConf else { throw ClassCallFailed(method: method, code: -2) }
        let result = try ClusterEnvironment.run([ClusterEnvironment.python, "-c", script, conf, pool, object, className, method, input, write ? "1" : "0", exclusiveCreate ? "1" : "0"])
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard result.status == 0, let code = lines.first.flatMap({ Int($0) }) else {
            throw ClassCallFailed(method: method + " (python: \(result.stderr.prefix(300)))", code: -5)
        }
        guard code >= 0 else { throw ClassCallFailed(method: method, code: code) }
        let hex = lines.count > 1 ? Array(lines[1].utf8) : []
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        var index = 0
        while index + 1 < hex.count {
            bytes.append(UInt8(String(decoding: hex[index...(index + 1)], as: UTF8.self), radix: 16) ?? 0)
            index += 2
        }
        return ByteBuffer(bytes: bytes)
    }

    static func rbdInfo(_ spec: String) throws -> [String: Any] {
        let data = try ClusterEnvironment.ceph("rbd", ["info", "--format", "json", spec])
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    @Test func readsWhatRbdCreated() throws {
        let name = "cls-read-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "1G", "--object-size", "1M", "--stripe-unit", "64K", "--stripe-count", "8"])
        defer {
            _ = try? ClusterEnvironment.ceph("rbd", ["snap", "purge", "--no-progress", "rbd/\(name)"])
            _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"])
        }
        _ = try ClusterEnvironment.ceph("rbd", ["snap", "create", "--no-progress", "rbd/\(name)@first"])
        _ = try ClusterEnvironment.ceph("rbd", ["resize", "--no-progress", "--size", "2G", "rbd/\(name)"])
        _ = try ClusterEnvironment.ceph("rbd", ["snap", "create", "--no-progress", "rbd/\(name)@second"])
        _ = try ClusterEnvironment.ceph("rbd", ["image-meta", "set", "rbd/\(name)", "conf_rbd_cache", "false"])
        let info = try Self.rbdInfo("rbd/\(name)")

        let id = try ClsRBD.decodeString(try Self.execute(ClsRBD.getID(), on: RBDObjectNames.id(imageName: name)))
        #expect(id == info["id"] as? String)
        let header = RBDObjectNames.header(imageID: id)

        let size = try ClsRBD.decodeSize(try Self.execute(ClsRBD.getSize(snapID: MOSDOp.noSnap), on: header))
        #expect(size.size == 2 << 30 && Int(size.order) == info["order"] as? Int)
        let features = try ClsRBD.decodeFeatures(try Self.execute(ClsRBD.getFeatures(readOnly: true), on: header))
        #expect(features.features.names == (info["features"] as? [String]) ?? [])
        let prefix = try ClsRBD.decodeString(try Self.execute(ClsRBD.getObjectPrefix(), on: header))
        #expect(prefix == info["block_name_prefix"] as? String)
        let stripes = try ClsRBD.decodeStripeUnitCount(try Self.execute(ClsRBD.getStripeUnitCount(), on: header))
        #expect(stripes.unit == 65536 && stripes.count == 8)
        #expect(try ClsRBD.decodeI64(try Self.execute(ClsRBD.getDataPool(), on: header)) == -1)
        #expect(try ClsRBD.decodeU64(try Self.execute(ClsRBD.getFlags(snapID: MOSDOp.noSnap), on: header)) == 0)
        #expect(try ClsRBD.decodeParent(try Self.execute(ClsRBD.getParent(), on: header)) == nil)
        let created = try ClsRBD.decodeTimestamp(try Self.execute(ClsRBD.getCreateTimestamp(), on: header))
        #expect(abs(Double(created.seconds) - Date().timeIntervalSince1970) < 600)

        // Snapshots: the snap context lists both, newest first, and each one decodes.
        let snapc = try ClsRBD.decodeSnapContext(try Self.execute(ClsRBD.getSnapContext(), on: header))
        let listed = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["snap", "ls", "--format", "json", "rbd/\(name)"])) as? [[String: Any]])
        let ids = listed.compactMap { ($0["id"] as? Int).map(UInt64.init) }
        #expect(snapc.snaps == ids.sorted(by: >))
        #expect(snapc.seq == ids.max())
        for snap in listed {
            let snapID = UInt64((snap["id"] as? Int) ?? -1)
            let snapshot = try ClsRBD.decodeSnapshotInfo(try Self.execute(ClsRBD.snapshotGet(id: snapID), on: header))
            #expect(snapshot.name == snap["name"] as? String)
            #expect(Int(snapshot.imageSize) == snap["size"] as? Int)
            #expect(snapshot.namespaceType == ClsRBD.SnapshotInfo.userNamespace)
        }
        let sizeAtFirst = try ClsRBD.decodeSize(try Self.execute(ClsRBD.getSize(snapID: ids.min() ?? 0), on: header))
        #expect(sizeAtFirst.size == 1 << 30)

        // The directory maps the name to the id; image metadata set by rbd is listed.
        let directory = try ClsRBD.decodeDirectoryList(try Self.execute(ClsRBD.directoryList(startAfter: "", maxReturn: 1024), on: RBDObjectNames.directory))
        #expect(directory[name] == id)
        let metadata = try ClsRBD.decodeMetadataList(try Self.execute(ClsRBD.metadataList(startAfter: "", maxReturn: 64), on: header))
        #expect(metadata["conf_rbd_cache"].map { String(buffer: $0) } == "false")
    }

    @Test func rbdReadsAnImageCreatedByOurEncoders() throws {
        let name = "cls-write-\(UInt32.random(in: 0...UInt32.max))"
        let id = String(format: "%012x", UInt64.random(in: 0...0xFFFF_FFFF_FFFF))
        let header = RBDObjectNames.header(imageID: id)
        // librbd's order: id object, directory entry, header, striping.
        try Self.executeWrite(ClsRBD.createIDObject(id: id), on: RBDObjectNames.id(imageName: name))
        _ = try Self.execute(ClsRBD.directoryAdd(name: name, id: id), on: RBDObjectNames.directory, write: true)
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }
        try Self.executeWrite(ClsRBD.createHeader(size: 3 << 30, order: 20, features: [.layering, .stripingV2], objectPrefix: RBDObjectNames.dataPrefix(imageID: id)), on: header)
        _ = try Self.execute(ClsRBD.setStripeUnitCount(unit: 1 << 16, count: 4), on: header, write: true)
        _ = try Self.execute(ClsRBD.metadataSet(["swiftrbd_test": ByteBuffer(string: "hello")]), on: header, write: true)

        let info = try Self.rbdInfo("rbd/\(name)")
        #expect(info["size"] as? Int == 3 << 30)
        #expect(info["order"] as? Int == 20)
        #expect(info["id"] as? String == id)
        #expect(info["block_name_prefix"] as? String == "rbd_data.\(id)")
        #expect(info["features"] as? [String] == ["layering", "striping"])
        #expect(info["stripe_unit"] as? Int == 65536)
        #expect(info["stripe_count"] as? Int == 4)
        #expect(info["format"] as? Int == 2)
        let meta = String(decoding: try ClusterEnvironment.ceph("rbd", ["image-meta", "get", "rbd/\(name)", "swiftrbd_test"]), as: UTF8.self)
        #expect(meta.trimmingCharacters(in: .whitespacesAndNewlines) == "hello")
        let listing = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["ls", "--format", "json", "rbd"])) as? [String])
        #expect(listing.contains(name))

        // Resize and a snapshot through our encoders, seen by rbd.
        _ = try Self.execute(ClsRBD.setSize(4 << 30), on: header, write: true)
        _ = try Self.execute(ClsRBD.snapshotAdd(id: 1, name: "ours"), on: header, write: true)
        // The pool must know the snap id is in use; a self-managed id from `ceph osd pool` would be the
        // real source. Here the header alone is checked.
        let snaps = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["snap", "ls", "--format", "json", "rbd/\(name)"])) as? [[String: Any]])
        #expect(snaps.first?["name"] as? String == "ours")
        #expect((try Self.rbdInfo("rbd/\(name)"))["size"] as? Int == 4 << 30)
        _ = try Self.execute(ClsRBD.snapshotRemove(id: 1), on: header, write: true)
    }

    /// The id object's bytes as Ceph's `rados` reads them.
    static func radosGet(_ object: String) throws -> [UInt8] {
        Array(try ClusterEnvironment.ceph("rados", ["-p", "rbd", "get", object, "-"]))
    }

    /// What `set_id` stores: a Ceph string (le32 length, then the bytes).
    static func encodedString(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return withUnsafeBytes(of: UInt32(bytes.count).littleEndian, Array.init) + bytes
    }

    @Test func aSecondCreatorOfTheSameIdObjectGetsEEXIST() throws {
        let name = "cls-excl-\(UInt32.random(in: 0...UInt32.max))"
        let object = RBDObjectNames.id(imageName: name)
        try Self.executeWrite(ClsRBD.createIDObject(id: "abc123"), on: object)
        defer { _ = try? ClusterEnvironment.ceph("rados", ["-p", "rbd", "rm", object]) }
        #expect(try ClsRBD.decodeString(try Self.execute(ClsRBD.getID(), on: object)) == "abc123")
        // Ceph's own tool reads the object our encoder wrote: exactly the encoded id.
        let stored = try Self.radosGet(object)
        #expect(stored == Self.encodedString("abc123"))
        let error = #expect(throws: ClassCallFailed.self) { try Self.executeWrite(ClsRBD.createIDObject(id: "def456"), on: object) }
        #expect(error?.code == -17, "the exclusive create must fail with EEXIST, not \(error.map { "\($0)" } ?? "nothing")")
        #expect(try ClsRBD.decodeString(try Self.execute(ClsRBD.getID(), on: object)) == "abc123")
        #expect(try Self.radosGet(object) == stored, "the refused create changed the id object")
    }

    @Test func aDuplicateNameIsRefusedByTheDirectory() throws {
        let name = "cls-dup-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "1M"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }
        let id = try #require(try Self.rbdInfo("rbd/\(name)")["id"] as? String)
        let error = #expect(throws: ClassCallFailed.self) {
            try Self.execute(ClsRBD.directoryAdd(name: name, id: "deadbeef"), on: RBDObjectNames.directory, write: true)
        }
        // cls_rbd's dir_add_image: the name key exists, so EEXIST.
        #expect(error?.code == -17, "dir_add_image of a taken name must fail with EEXIST, not \(error.map { "\($0)" } ?? "nothing")")
        // The directory still maps the name to rbd's id, and holds no entry for the refused one.
        let directory = try ClsRBD.decodeDirectoryList(try Self.execute(ClsRBD.directoryList(startAfter: "", maxReturn: 1024), on: RBDObjectNames.directory))
        #expect(directory[name] == id)
        #expect(!directory.values.contains("deadbeef"))
        #expect((try Self.rbdInfo("rbd/\(name)"))["id"] as? String == id)
    }
}
