import Foundation
import NIOCore
import RADOSProto  // the public API only: no @testable
import Testing

/// The public RADOS API against Ceph's `rados` tool: data, xattrs, omap and class
/// calls written through `IOContext` are what `rados` reads, and the other way round.
@Suite(.enabled(if: ClusterEnvironment.hasCluster, Comment(rawValue: ClusterEnvironment.skipMessage)), .serialized)
struct RADOSClientTests {
    static func client() async throws -> RADOSClient {
        let conf = try #require(ClusterEnvironment.cephConf)
        return try await RADOSClient.connect(try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false))
    }

    static func rados(_ arguments: [String]) throws -> String {
        String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd"] + arguments), as: UTF8.self)
    }

    @Test func dataCallsMatchRados() async throws {
        let client = try await Self.client()
        defer { Task { await client.shutdown() } }
        let io = try await client.ioContext(pool: "rbd")
        let name = "api-\(UInt32.random(in: 0...UInt32.max))"
        try await io.writeFull(name, ByteBuffer(string: "hello "))
        try await io.append(name, ByteBuffer(string: "world"))
        try await io.write(name, ByteBuffer(string: "W"), offset: 6)
        #expect(try Self.rados(["get", name, "-"]) == "hello World")
        #expect(String(buffer: try await io.read(name, offset: 6, length: 100)) == "World")
        let info = try await io.stat(name)
        #expect(info.size == 11)
        #expect(abs(info.modified.timeIntervalSinceNow) < 600)
        try await io.truncate(name, size: 5)
        #expect(try Self.rados(["get", name, "-"]) == "hello")
        try await io.zero(name, offset: 1, length: 2)
        #expect(Array(try await io.read(name, length: 5).readableBytesView) == [0x68, 0, 0, 0x6C, 0x6F])
        await #expect(throws: RADOSError.self) { try await io.create(name, exclusive: true) }
        try await io.remove(name)
        do {
            _ = try await io.stat(name)
            Issue.record("stat of a removed object succeeded")
        } catch {
            #expect(error.code == .notFound && error.errno == 2)
        }
        do {
            _ = try await client.ioContext(pool: "no-such-pool")
            Issue.record("a missing pool was accepted")
        } catch {
            #expect(error.code == .notFound)
        }
    }

    @Test func xattrsAndOmapMatchRados() async throws {
        let client = try await Self.client()
        defer { Task { await client.shutdown() } }
        let namespace = "api-ns"
        let io = try await client.ioContext(pool: "rbd", namespace: namespace)
        let name = "meta-\(UInt32.random(in: 0...UInt32.max))"
        try await io.create(name, exclusive: true)
        defer { Task { try? await io.remove(name) } }
        try await io.setXattr(name, name: "colour", value: ByteBuffer(string: "blue"))
        #expect(try Self.rados(["-N", namespace, "getxattr", name, "colour"]) == "blue")
        _ = try Self.rados(["-N", namespace, "setxattr", name, "shape", "round"])
        let attributes = try await io.xattrs(name)
        #expect(attributes.mapValues { String(buffer: $0) } == ["colour": "blue", "shape": "round"])
        try await io.removeXattr(name, name: "colour")
        #expect(try Self.rados(["-N", namespace, "listxattr", name]).split(separator: "\n") == ["shape"])

        try await io.omapSet(name, ["a": ByteBuffer(string: "1"), "b": ByteBuffer(string: "2")])
        #expect(try Self.rados(["-N", namespace, "listomapkeys", name]).split(separator: "\n") == ["a", "b"])
        _ = try Self.rados(["-N", namespace, "setomapval", name, "c", "3"])
        let page = try await io.omapGet(name)
        #expect(page.values.mapValues { String(buffer: $0) } == ["a": "1", "b": "2", "c": "3"])
        #expect(page.more == false)
        let firstTwo = try await io.omapGet(name, maxReturn: 2)
        #expect(firstTwo.values.count == 2 && firstTwo.more)
        #expect(try await io.omapGet(name, keys: ["b", "zz"]).mapValues { String(buffer: $0) } == ["b": "2"])
        try await io.omapRemove(name, keys: ["a"])
        #expect(try Self.rados(["-N", namespace, "listomapkeys", name]).split(separator: "\n") == ["b", "c"])
    }

    @Test func classCallsAndMonitorCommands() async throws {
        let client = try await Self.client()
        defer { Task { await client.shutdown() } }
        let image = "api-cls-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(image)", "--size", "1M"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(image)"]) }
        let io = try await client.ioContext(pool: "rbd")
        var output = try await io.exec("rbd_id.\(image)", class: "rbd", method: "get_id")
        let rawLength = output.readInteger(endianness: .little, as: UInt32.self)
        let length = try #require(rawLength)
        let id = output.readString(length: Int(length))
        let info = try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", "rbd/\(image)"])) as? [String: Any]
        #expect(id == info?["id"] as? String)

        let (pools, _) = try await client.monCommand("{\"prefix\": \"osd pool ls\", \"format\": \"json\"}")
        let ours = try JSONSerialization.jsonObject(with: Data(pools.readableBytesView)) as? [String]
        let theirs = try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("ceph", ["osd", "pool", "ls", "--format", "json"])) as? [String]
        #expect(ours != nil && ours == theirs)
        #expect(await client.osdmapEpoch > 0)
    }
}
