import Foundation
import NIOCore
import RADOSProto
import RBDCore  // the public API only: no @testable
import Testing

/// The public image lifecycle API in process (what `rbdctl` wraps), checked with `rbd`:
/// create, snapshots, metadata, resize, rename and remove through `Image`, and the
/// self-managed snap ids the monitor hands out.
@Suite(.enabled(if: ClusterEnvironment.hasCluster, Comment(rawValue: ClusterEnvironment.skipMessage)), .serialized)
struct ImageLifecycleAPITests {
    static func client() async throws -> RADOSClient {
        let conf = try #require(ClusterEnvironment.cephConf)
        return try await RADOSClient.connect(try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false))
    }

    static func rbd(_ arguments: [String]) throws -> String {
        String(decoding: try ClusterEnvironment.ceph("rbd", arguments), as: UTF8.self)
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
        await #expect(throws: RADOSError.self) { try await Image.create(io, name: name, size: 1 << 20) }
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
        await #expect(throws: RADOSError.self) { try await image.removeSnapshot(named: "one") }
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
        await #expect(throws: RADOSError.self) { try await image.metadata("conf_rbd_cache") }

        // Resize, rename, remove.
        await #expect(throws: RADOSError.self) { try await image.resize(to: 1 << 20) }
        try await image.resize(to: 1 << 20, allowShrink: true)
        #expect(image.size == 1 << 20)
        try await Image.rename(io, from: name, to: name + "-renamed")
        #expect(try await ImageDirectory.list(io).contains(name + "-renamed"))
        // As with librbd, our own open handle counts as a watcher: remove filters out
        // only the watch of the image it opens itself.
        do {
            try await Image.remove(io, name: name + "-renamed")
            Issue.record("removing an image this client holds open was not refused")
        } catch {
            #expect(error.errno == 16)
        }
        try await image.close()
        await #expect(throws: RADOSError.self) { try await image.read(offset: 0, length: 1) }
        try await Image.remove(io, name: name + "-renamed")
        #expect(!(try await ImageDirectory.list(io).contains(name + "-renamed")))
        await #expect(throws: RADOSError.self) { try await Image.open(io, name: name + "-renamed") }
    }
}
