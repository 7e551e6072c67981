import Foundation
import NIOCore
import RADOSProto  // the public API only: no @testable
import Testing

/// The public RADOS API against Ceph's `rados` tool: data, xattrs, omap and class
/// calls written through `IOContext` are what `rados` reads, and the other way round.
@Suite(.requiresCluster, .serialized)
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

/// The rest of the public object API against `rados` and python3-rados: omap header,
/// clear and key listing, compound operations, self-managed snapshot reads and writes,
/// pool lookups, and an object-class call (cls_lock) seen by `rados lock info`.
@Suite(.requiresCluster, .requiresPythonRados, .serialized)
struct RADOSClientMoreTests {
    @Test func omapHeaderClearAndKeys() async throws {
        let client = try await RADOSClientTests.client()
        let io = try await client.ioContext(pool: "rbd")
        let name = "omap-\(UInt32.random(in: 0...UInt32.max))"
        defer { Task { try? await io.remove(name); await client.shutdown() } }
        try await io.create(name, exclusive: true)
        try await io.setOmapHeader(name, ByteBuffer(string: "head"))
        #expect(try RADOSClientTests.rados(["getomapheader", name]).hasPrefix("header (4 bytes) :\n"))
        _ = try RADOSClientTests.rados(["setomapheader", name, "other"])
        #expect(String(buffer: try await io.omapHeader(name)) == "other")
        try await io.omapSet(name, Dictionary(uniqueKeysWithValues: (0..<700).map { (String(format: "k%04d", $0), ByteBuffer(string: "\($0)")) }))
        let firstPage = try await io.omapKeys(name, maxReturn: 500)
        #expect(firstPage.keys.count == 500 && firstPage.more && firstPage.keys.first == "k0000")
        let rest = try await io.omapKeys(name, startAfter: firstPage.keys.last ?? "")
        #expect(rest.keys.count == 200 && !rest.more)
        #expect(try await io.omapAll(name).count == 700)
        #expect(try RADOSClientTests.rados(["listomapkeys", name]).split(separator: "\n").count == 700)
        try await io.omapClear(name)
        #expect(try RADOSClientTests.rados(["listomapkeys", name]).isEmpty)
        #expect(try await io.omapHeader(name).readableBytes == 0)
    }

    @Test func sparseReadGivesTheWrittenExtents() async throws {
        let client = try await RADOSClientTests.client()
        let io = try await client.ioContext(pool: "rbd")
        let name = "sparse-\(UInt32.random(in: 0...UInt32.max))"
        defer { Task { try? await io.remove(name); await client.shutdown() } }
        try await io.write(name, ByteBuffer(string: "head"), offset: 0)
        try await io.write(name, ByteBuffer(string: "tail"), offset: 1 << 20)
        let (extents, data) = try await io.sparseRead(name, length: 2 << 20)
        // Rebuild the object from the extents (holes are zeros) and compare with rados get.
        var rebuilt = [UInt8](repeating: 0, count: (1 << 20) + 4)
        var slice = data
        for extent in extents {
            let read = slice.readBytes(length: Int(extent.length))
            let bytes = try #require(read)
            rebuilt.replaceSubrange(Int(extent.offset)..<Int(extent.offset) + bytes.count, with: bytes)
        }
        #expect(slice.readableBytes == 0)
        #expect(extents.reduce(0) { $0 + $1.length } < 2 << 20)
        let theirs = try ClusterEnvironment.ceph("rados", ["-p", "rbd", "get", name, "-"])
        #expect(theirs.count == rebuilt.count && theirs.elementsEqual(rebuilt))
    }

    @Test func compoundOperationsAreAtomic() async throws {
        let client = try await RADOSClientTests.client()
        let io = try await client.ioContext(pool: "rbd")
        let name = "compound-\(UInt32.random(in: 0...UInt32.max))"
        defer { Task { try? await io.remove(name); await client.shutdown() } }
        var create = ObjectWriteOperation()
        create.create(exclusive: true)
        create.writeFull(ByteBuffer(string: "v1"))
        create.setXattr("state", ByteBuffer(string: "ready"))
        create.omapSet(["k": ByteBuffer(string: "v")])
        try await io.operate(name, create)
        #expect(try RADOSClientTests.rados(["get", name, "-"]) == "v1")

        // A failing assertion stops the whole request: nothing is written.
        var guarded = ObjectWriteOperation()
        guarded.compareXattr("state", equals: ByteBuffer(string: "busy"))
        guarded.writeFull(ByteBuffer(string: "v2"))
        do {
            try await io.operate(name, guarded)
            Issue.record("a failing cmpxattr let the write through")
        } catch {
            #expect(error.errno == 125)  // ECANCELED
        }
        #expect(try RADOSClientTests.rados(["get", name, "-"]) == "v1")
        var passing = ObjectWriteOperation()
        passing.compareXattr("state", equals: ByteBuffer(string: "ready"))
        passing.writeFull(ByteBuffer(string: "v3"))
        passing.setXattr("state", ByteBuffer(string: "done"))
        try await io.operate(name, passing)
        #expect(try RADOSClientTests.rados(["get", name, "-"]) == "v3")
        #expect(try RADOSClientTests.rados(["getxattr", name, "state"]) == "done")
        var exclusive = ObjectWriteOperation()
        exclusive.create(exclusive: true)
        await #expect(throws: RADOSError.self) { try await io.operate(name, exclusive) }

        var read = ObjectReadOperation()
        let stat = read.stat()
        let data = read.read(offset: 0, length: 10)
        let state = read.getXattr("state")
        let omap = read.omapGet(keys: ["k"])
        let result = try await io.operate(name, read)
        #expect(try result[stat].size == 2)
        #expect(String(buffer: try result[data]) == "v3")
        #expect(String(buffer: try result[state]) == "done")
        #expect(try result[omap].mapValues { String(buffer: $0) } == ["k": "v"])
    }

    /// python3-rados, for what librados has and our public API leaves to another part
    /// (self-managed snapshot ids).
    static func python(_ script: String) throws -> String {
        let conf = try #require(ClusterEnvironment.cephConf)
        let prelude = "import rados\nc = rados.Rados(conffile='\(conf)')\nc.connect()\nio = c.open_ioctx('rbd')\n"
        let result = try ClusterEnvironment.run([ClusterEnvironment.python, "-c", prelude + script])
        guard result.status == 0 else { throw ClusterEnvironment.ToolFailure(message: "python3-rados failed: \(result.stderr)") }
        return String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func snapshotReadsAndSnapContextWrites() async throws {
        let client = try await RADOSClientTests.client()
        var io = try await client.ioContext(pool: "rbd")
        let name = "snapc-\(UInt32.random(in: 0...UInt32.max))"
        let head = io
        defer { Task { try? await head.remove(name); await client.shutdown() } }
        try await io.writeFull(name, ByteBuffer(string: "before"))
        let snap = try #require(UInt64(try Self.python("print(io.create_self_managed_snap())")))
        defer { _ = try? Self.python("io.remove_self_managed_snap(\(snap))") }
        try io.setWriteSnapContext(seq: snap, snaps: [snap])
        try await io.writeFull(name, ByteBuffer(string: "after!"))
        #expect(String(buffer: try await io.read(name, length: 100)) == "after!")
        var atSnap = io
        atSnap.setReadSnapshot(snap)
        #expect(String(buffer: try await atSnap.read(name, length: 100)) == "before")
        // librados reads the same clone at that snap id.
        #expect(try Self.python("io.set_read(\(snap))\nprint(io.read('\(name)').decode())") == "before")
        #expect(try RADOSClientTests.rados(["listsnaps", name]).contains("\(snap)"))
        do {
            try io.setWriteSnapContext(seq: 1, snaps: [5])
            Issue.record("a snap context with a snap above its seq was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }

    @Test func poolLookups() async throws {
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let id = try #require(await client.poolID(named: "rbd"))
        let listed = String(decoding: try ClusterEnvironment.ceph("ceph", ["osd", "pool", "ls", "detail", "--format", "json"]), as: UTF8.self)
        let pools = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]])
        #expect(pools.first { $0["pool_name"] as? String == "rbd" }?["pool_id"] as? Int == Int(id))
        #expect(await client.poolName(id: id) == "rbd")
        #expect(await client.poolID(named: "no-such-pool") == nil)
        let io = try await client.ioContext(poolID: id)
        #expect(io.poolName == "rbd")
        await #expect(throws: RADOSError.self) { try await client.ioContext(poolID: 987_654) }
    }

    @Test func aLockTakenWithExecShowsInRadosLockInfo() async throws {
        let client = try await RADOSClientTests.client()
        let io = try await client.ioContext(pool: "rbd")
        let name = "lock-\(UInt32.random(in: 0...UInt32.max))"
        defer { Task { try? await io.remove(name); await client.shutdown() } }
        try await io.create(name, exclusive: false)
        // cls_lock_lock_op (ceph/ceph src/cls/lock/cls_lock_ops.h), version 1: name,
        // type (1 exclusive), cookie, tag, description, duration (utime), flags.
        var input = ByteBuffer()
        input.writeDencVersioned(version: 1, compat: 1) { body in
            body.writeDencString("swiftlock")
            body.writeDencU8(1)
            body.writeDencString("cookie-1")
            body.writeDencString("tag-1")
            body.writeDencString("taken by SwiftRBD")
            body.writeDencU32(0)
            body.writeDencU32(0)
            body.writeDencU8(0)
        }
        _ = try await io.exec(name, class: "lock", method: "lock", input: input)
        let info = try #require(try JSONSerialization.jsonObject(with: Data(try RADOSClientTests.rados(["lock", "info", name, "swiftlock"]).utf8)) as? [String: Any])
        #expect(info["type"] as? String == "exclusive")
        #expect(info["tag"] as? String == "tag-1")
        let lockers = try #require(info["lockers"] as? [[String: Any]])
        #expect(lockers.count == 1)
        #expect(lockers.first?["name"] as? String == "client.\(client.instanceID)")
        #expect(lockers.first?["cookie"] as? String == "cookie-1")
        // Taking it again with another cookie fails as librados reports it (EBUSY).
        var again = input
        again.clear()
        again.writeDencVersioned(version: 1, compat: 1) { body in
            body.writeDencString("swiftlock")
            body.writeDencU8(1)
            body.writeDencString("cookie-2")
            body.writeDencString("tag-1")
            body.writeDencString("")
            body.writeDencU32(0)
            body.writeDencU32(0)
            body.writeDencU8(0)
        }
        do {
            _ = try await io.exec(name, class: "lock", method: "lock", input: again)
            Issue.record("a second exclusive lock was granted")
        } catch {
            #expect(error.errno == 16)
        }
    }
}
