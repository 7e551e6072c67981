import Foundation
import NIOCore
import Testing
@testable import RADOSProto

/// Objects through our own stack (msgr2, cephx, OSDMap + CRUSH placement, Objecter)
/// against Ceph's `rados` tool on the same cluster: what we write it reads, what it
/// writes we read, byte for byte, in crc and secure mode, with and without a namespace.
@Suite(.requiresCluster, .serialized)
struct ObjecterInteropTests {
    static func connect(_ extra: [String] = []) async throws -> (MonClient, Objecter) {
        let configuration = try RADOSConfiguration.load(configFile: ClusterEnvironment.cephConf, arguments: extra, environment: [:], searchDefaultPaths: false)
        return try await ClusterConnection.connect(configuration)
    }

    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func radosArgs(_ namespace: String) -> [String] { namespace.isEmpty ? [] : ["-N", namespace] }

    @Test(arguments: [(["--ms_client_mode", "crc", "--ms_mon_client_mode", "crc"], ""), (["--ms_client_mode", "secure", "--ms_mon_client_mode", "secure"], "ns-\(UInt16.random(in: 0...UInt16.max))")])
    func whatWeWriteRadosReadsAndBack(modes: [String], namespace: String) async throws {
        let (monitor, objecter) = try await Self.connect(modes)
        defer { Task { await objecter.shutdown(); await monitor.close() } }
        let pool = try await objecter.poolID(named: "rbd")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("objecter-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        for size in [0, 1, 4096, 6 << 20] {
            // Ours → rados.
            let name = "ours-\(size)-\(UInt32.random(in: 0...UInt32.max))"
            let bytes = Self.random(size)
            let written = try await objecter.execute(pool: pool, namespace: namespace, object: name, ops: [.writeFull(ByteBuffer(bytes: bytes))])
            #expect(written.reply.result == 0)
            #expect(written.reply.userVersion > 0)
            let file = directory.appendingPathComponent(name)
            _ = try ClusterEnvironment.ceph("rados", ["-p", "rbd"] + Self.radosArgs(namespace) + ["get", name, file.path])
            #expect(Array(try Data(contentsOf: file)) == bytes, "rados read back something else for \(size) bytes")

            // rados → ours, with stat, a partial read and a compound op.
            let theirs = "theirs-\(size)-\(UInt32.random(in: 0...UInt32.max))"
            let theirBytes = Self.random(size)
            let source = directory.appendingPathComponent(theirs)
            try Data(theirBytes).write(to: source)
            _ = try ClusterEnvironment.ceph("rados", ["-p", "rbd"] + Self.radosArgs(namespace) + ["put", theirs, source.path])
            let read = try await objecter.execute(pool: pool, namespace: namespace, object: theirs, ops: [.stat, .read(offset: 0, length: UInt64(max(size, 1)))])
            #expect(read.reply.returnValues == [0, 0])
            var stat = read.outputs[0]
            #expect(try stat.readDencU64() == UInt64(size))
            #expect(Array(read.outputs[1].readableBytesView) == theirBytes)
            if size > 100 {
                let middle = try await objecter.execute(pool: pool, namespace: namespace, object: theirs, ops: [.read(offset: 50, length: 40)])
                #expect(Array(middle.outputs[0].readableBytesView) == Array(theirBytes[50..<90]))
            }

            // Remove both through us; rados no longer finds them.
            for object in [name, theirs] {
                #expect(try await objecter.execute(pool: pool, namespace: namespace, object: object, ops: [.delete]).reply.result == 0)
                let gone = try ClusterEnvironment.run(["rados", "-c", ClusterEnvironment.cephConf ?? "", "-p", "rbd"] + Self.radosArgs(namespace) + ["stat", object])
                #expect(gone.status != 0)
            }
        }
    }

    @Test func errorsComeBackAsErrno() async throws {
        let (monitor, objecter) = try await Self.connect()
        defer { Task { await objecter.shutdown(); await monitor.close() } }
        let pool = try await objecter.poolID(named: "rbd")
        let missing = try await objecter.execute(pool: pool, object: "missing-\(UInt32.random(in: 0...UInt32.max))", ops: [.read(offset: 0, length: 10)])
        #expect(missing.reply.result == -2)
        let name = "excl-\(UInt32.random(in: 0...UInt32.max))"
        #expect(try await objecter.execute(pool: pool, object: name, ops: [.create(exclusive: true)]).reply.result == 0)
        #expect(try await objecter.execute(pool: pool, object: name, ops: [.create(exclusive: true)]).reply.result == -17)
        _ = try await objecter.execute(pool: pool, object: name, ops: [.delete])
        await #expect(throws: RADOSError.self) { try await objecter.poolID(named: "no-such-pool") }
    }

    @Test func aClassCallRunsOnTheOSD() async throws {
        // The rbd class's get_id on an id object written by Ceph's own rbd tool.
        let (monitor, objecter) = try await Self.connect()
        defer { Task { await objecter.shutdown(); await monitor.close() } }
        let image = "objecter-cls-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(image)", "--size", "1M"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(image)"]) }
        let info = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", "rbd/\(image)"])) as? [String: Any])
        let pool = try await objecter.poolID(named: "rbd")
        let reply = try await objecter.execute(pool: pool, object: "rbd_id.\(image)", ops: [try OSDOp.call(class: "rbd", method: "get_id", input: ByteBuffer())])
        #expect(reply.reply.result == 0)
        var output = reply.outputs[0]
        #expect(try output.readDencString() == info["id"] as? String)
    }

    @Test func rbdctlStatPrintsWhatRadosPrints() throws {
        let rbdctl = ClusterEnvironment.rbdctl
        // scripts/test.sh builds every product before running the tests.
        try #require(FileManager.default.isExecutableFile(atPath: rbdctl), "build rbdctl first (swift build)")
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "statcmp-\(UInt32.random(in: 0...UInt32.max))"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        try Data(Self.random(12345)).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let put = try ClusterEnvironment.run([rbdctl, "rados", "-c", conf, "-p", "rbd", "put", name, file.path])
        #expect(put.status == 0, "\(put.stderr)")
        defer { _ = try? ClusterEnvironment.ceph("rados", ["-p", "rbd", "rm", name]) }
        let ours = try ClusterEnvironment.run([rbdctl, "rados", "stat", "-c", conf, "-p", "rbd", name])
        let theirs = try ClusterEnvironment.ceph("rados", ["-p", "rbd", "stat", name])
        #expect(ours.status == 0)
        #expect(String(decoding: ours.stdout, as: UTF8.self) == String(decoding: theirs, as: UTF8.self))
        let missing = try ClusterEnvironment.run([rbdctl, "rados", "stat", "-c", conf, "-p", "rbd", name + "-missing"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("(2) No such file or directory"))
    }
}
