import Foundation
import NIOCore
import RADOSProto
import RBDCore  // the public API only: no @testable
import Testing

/// The public image lifecycle API in process (what `rbdctl` wraps), checked with `rbd`:
/// create, snapshots, metadata, resize, rename and remove through `Image`, and the
/// self-managed snap ids the monitor hands out.
@Suite(.requiresCluster, .serialized)
struct ImageLifecycleAPITests {
    static func client() async throws -> RADOSClient {
        let conf = try #require(ClusterEnvironment.cephConf)
        return try await RADOSClient.connect(try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false))
    }

    static func rbd(_ arguments: [String]) throws -> String {
        String(decoding: try ClusterEnvironment.ceph("rbd", arguments), as: UTF8.self)
    }

    /// `rbd info --format json` of an image.
    static func rbdInfo(_ spec: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(try rbd(["info", "--format", "json", spec]).utf8)) as? [String: Any])
    }

    /// The images `rbd ls` lists in the pool.
    static func rbdList(_ pool: String = "rbd") throws -> [String] {
        try #require(try JSONSerialization.jsonObject(with: Data(try rbd(["ls", "--format", "json", pool]).utf8)) as? [String])
    }


    @Test func lifecycleThroughTheAPI() async throws {
        let client = try await Self.client()
        defer { Task { await client.shutdown() } }
        let io = try await client.ioContext(pool: "rbd")
        let name = "api-life-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            _ = try? Self.rbd(["snap", "purge", "--no-progress", "rbd/\(name)"])
            _ = try? Self.rbd(["rm", "--no-progress", "rbd/\(name)"])
            _ = try? Self.rbd(["rm", "--no-progress", "rbd/\(name)-renamed"])
        }
        let id = try await Image.create(io, name: name, size: 64 << 20, options: ImageCreateOptions(order: 20, features: [.layering], stripeUnit: 1 << 18, stripeCount: 2))
        let duplicate = await ClusterEnvironment.refusal("creating an existing image") { _ = try await Image.create(io, name: name, size: 1 << 20) }
        #expect(duplicate?.errno == 17 && duplicate?.code == .alreadyExists, "\(duplicate.map { String(reflecting: $0) } ?? "")")
        // The refused create left rbd's view of the image as it was.
        #expect(try Self.rbdInfo("rbd/\(name)")["size"] as? Int == 64 << 20)
        let image = try await Image.open(io, name: name)
        #expect(image.id == id)
        #expect(image.info.features == [.layering, .stripingV2])
        #expect(image.layout.stripeUnit == 1 << 18)
        // Open by id finds the name through the directory, like rbd_open_by_id.
        let byID = try await Image.open(io, id: id, readOnly: true)
        #expect(byID.name == name && byID.info.size == 64 << 20)
        try await byID.close()
        do {
            _ = try await Image.open(io, id: id + "00", readOnly: true)
            Issue.record("opening an unknown id succeeded")
        } catch {
            #expect(error.code == .notFound && error.message.contains(id + "00"))
        }

        // Snapshots: ids from the monitor increase; rbd lists what we made.
        try await image.createSnapshot(named: "one")
        try await image.createSnapshot(named: "two")
        let ids = image.snapshots.map(\.id)
        #expect(ids.count == 2 && ids[0] < ids[1])
        #expect(image.snapshots.map(\.size) == [64 << 20, 64 << 20])
        let listed = try JSONSerialization.jsonObject(with: Data(try Self.rbd(["snap", "ls", "--format", "json", "rbd/\(name)"]).utf8)) as? [[String: Any]]
        #expect(listed?.compactMap { $0["id"] as? Int }.map(UInt64.init) == ids)
        try await image.protectSnapshot(named: "one")
        #expect(image.snapshots.first?.isProtected == true)
        let protected = await ClusterEnvironment.refusal("removing a protected snapshot") { try await image.removeSnapshot(named: "one") }
        #expect(protected?.errno == 16, "\(protected.map { String(reflecting: $0) } ?? "")")
        try await image.unprotectSnapshot(named: "one")
        try await image.renameSnapshot(named: "two", to: "deux")
        #expect(image.snapshots.map(\.name) == ["one", "deux"])
        #expect(try await image.purgeSnapshots().isEmpty)
        #expect(image.snapshots.isEmpty)

        // Metadata.
        try await image.setMetadata("conf_rbd_cache", to: "false")
        #expect(try Self.rbd(["image-meta", "get", "rbd/\(name)", "conf_rbd_cache"]) == "false\n")
        #expect(try await image.metadata() == ["conf_rbd_cache": "false"])
        try await image.removeMetadata("conf_rbd_cache")
        let missingKey = await ClusterEnvironment.refusal("reading a removed metadata key") { _ = try await image.metadata("conf_rbd_cache") }
        #expect(missingKey?.errno == 2 && missingKey?.code == .notFound, "\(missingKey.map { String(reflecting: $0) } ?? "")")

        // Resize, rename, remove.
        let shrink = await ClusterEnvironment.refusal("shrinking without allowShrink") { try await image.resize(to: 1 << 20) }
        #expect(shrink?.errno == 22 && shrink?.code == .invalidArgument, "\(shrink.map { String(reflecting: $0) } ?? "")")
        #expect(try Self.rbdInfo("rbd/\(name)")["size"] as? Int == 64 << 20, "the refused shrink changed the size")
        try await image.resize(to: 1 << 20, allowShrink: true)
        #expect(image.size == 1 << 20)
        #expect(try Self.rbdInfo("rbd/\(name)")["size"] as? Int == 1 << 20)
        try await Image.rename(io, from: name, to: name + "-renamed")
        #expect(try await ImageDirectory.list(io).contains(name + "-renamed"))
        let afterRename = try Self.rbdList()
        #expect(afterRename.contains(name + "-renamed") && !afterRename.contains(name))
        let renamedInfo = try Self.rbdInfo("rbd/\(name)-renamed")
        #expect(renamedInfo["id"] as? String == id && renamedInfo["size"] as? Int == 1 << 20)
        // As with librbd, our own open handle counts as a watcher: remove filters out
        // only the watch of the image it opens itself.
        do {
            try await Image.remove(io, name: name + "-renamed")
            Issue.record("removing an image this client holds open was not refused")
        } catch {
            #expect(error.errno == 16)
        }
        try await image.close()
        // The refused remove left the image in place.
        #expect(try Self.rbdList().contains(name + "-renamed"))
        let closed = await ClusterEnvironment.refusal("reading a closed image") { _ = try await image.read(offset: 0, length: 1) }
        #expect(closed?.errno == 108, "\(closed.map { String(reflecting: $0) } ?? "")")  // ESHUTDOWN
        try await Image.remove(io, name: name + "-renamed")
        #expect(!(try await ImageDirectory.list(io).contains(name + "-renamed")))
        let gone = await ClusterEnvironment.refusal("opening a removed image") { _ = try await Image.open(io, name: name + "-renamed") }
        #expect(gone?.errno == 2 && gone?.code == .notFound, "\(gone.map { String(reflecting: $0) } ?? "")")
        // Ceph's view: rbd no longer lists it, and cannot open it (ENOENT: rbd exits 2).
        #expect(!(try Self.rbdList().contains(name + "-renamed")))
        let conf = try #require(ClusterEnvironment.cephConf)
        let info = try ClusterEnvironment.run(["rbd", "-c", conf, "info", "rbd/\(name)-renamed"])
        #expect(info.status == 2 && info.stderr.contains("No such file or directory"), "rbd info exited \(info.status): \(info.stderr)")
        // The header and id objects are gone too.
        let objects = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "ls"]), as: UTF8.self).split(separator: "\n")
        #expect(!objects.contains("rbd_header.\(id)") && !objects.contains("rbd_id.\(name)-renamed"))
    }
}
