import Foundation
import NIOCore
@testable import RADOSProto
import RBDCore
import Testing

/// Images with Pacific's default features (layering, exclusive-lock, object-map,
/// fast-diff, deep-flatten) written by us and by librbd (python3-rbd, `rbd`), in turns
/// and at the same time: the lock moves between the clients on request, every write
/// lands, and Ceph's own `rbd object-map check` finds the object map right.
@Suite(.requiresCluster, .requiresPythonRBD, .serialized)
struct ImageExclusiveLockTests {
    /// A librbd client driven line by line: `write OFFSET BYTE LENGTH` writes and flushes
    /// (taking the lock, asking the owner for it), then prints `ok`; `loop OFFSET BYTE
    /// COUNT` writes 4 KiB COUNT times at OFFSET + i·4 KiB; an empty line closes it.
    static let librbdWriter = """
    import sys, rados, rbd
    cluster = rados.Rados(conffile=sys.argv[1])
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    image = rbd.Image(io, sys.argv[2])
    print('open', flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            break
        if words[0] == 'write':
            offset, byte, length = int(words[1]), int(words[2]), int(words[3])
            image.write(bytes([byte]) * length, offset)
            image.flush()
        elif words[0] == 'loop':
            offset, byte, count = int(words[1]), int(words[2]), int(words[3])
            for i in range(count):
                image.write(bytes([byte]) * 4096, offset + i * 4096)
            image.flush()
        print('ok', flush=True)
    image.close()
    io.close()
    cluster.shutdown()
    """

    static func rbd(_ arguments: [String]) throws -> Data {
        try ClusterEnvironment.ceph("rbd", arguments)
    }

    static func export(_ spec: String) throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-xl-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = try rbd(["export", "--no-progress", spec, file])
        return Array(try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    /// `rbd object-map check` passes and leaves the map valid (rbd only warns when it
    /// finds and fixes a difference, so the flags are checked too).
    static func expectObjectMapValid(_ spec: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let check = try ClusterEnvironment.run(["rbd", "-c", try #require(ClusterEnvironment.cephConf), "object-map", "check", "--no-progress", spec])
        #expect(check.status == 0, "rbd object-map check \(spec): \(check.stderr)", sourceLocation: sourceLocation)
        #expect(!check.stderr.contains("invalid"), "rbd object-map check \(spec): \(check.stderr)", sourceLocation: sourceLocation)
        let info = try #require(try JSONSerialization.jsonObject(with: rbd(["info", "--format", "json", spec])) as? [String: Any])
        #expect((info["flags"] as? [String]) == [], "\(spec) flags after the check: \(info["flags"] ?? "none")", sourceLocation: sourceLocation)
    }

    static func lockers(_ spec: String) throws -> [[String: Any]] {
        let output = try rbd(["lock", "ls", "--format", "json", spec])
        if let list = try JSONSerialization.jsonObject(with: output) as? [[String: Any]] { return list }
        return []
    }

    static func fill(_ model: inout [UInt8], _ offset: Int, _ byte: UInt8, _ length: Int) {
        for index in offset..<offset + length { model[index] = byte }
    }

    @Test func defaultFeatureImagesAreWrittenUnderTheLockWithTheObjectMapKept() async throws { try await Self.ours("basic", size: "32M") { spec, image, client in
        #expect(image.info.features == .pacificDefault)
        // Opening takes no lock: librbd takes it at the first write.
        #expect(try Self.lockers(spec).isEmpty)

        var model = [UInt8](repeating: 0, count: 32 << 20)
        try await image.write(offset: 4096, data: ByteBuffer(repeating: 0xa1, count: 8192))
        Self.fill(&model, 4096, 0xa1, 8192)
        try await image.write(offset: (8 << 20) - 512, data: ByteBuffer(repeating: 0xb2, count: 1024))  // two objects
        Self.fill(&model, (8 << 20) - 512, 0xb2, 1024)
        try await image.write(offset: 20 << 20, data: ByteBuffer(repeating: 0xc3, count: 4 << 20))  // a whole object
        Self.fill(&model, 20 << 20, 0xc3, 4 << 20)
        try await image.discard(offset: 20 << 20, length: 4 << 20)  // removed again
        Self.fill(&model, 20 << 20, 0, 4 << 20)
        try await image.writeZeroes(offset: 4096, length: 4096)
        Self.fill(&model, 4096, 0, 4096)
        try await image.discard(offset: 28 << 20, length: 4 << 20)  // an object that never existed

        // We hold librbd's lock, as rbd shows it.
        let held = try Self.lockers(spec)
        try #require(held.count == 1, "rbd lock ls: \(held)")
        let cookie = try #require(held[0]["id"] as? String)
        #expect(cookie.hasPrefix("auto "), "lock cookie \(cookie)")
        #expect(held[0]["locker"] as? String == "client.\(client.instanceID)")
        #expect(image.ownsExclusiveLock)

        try await image.close()
        #expect(try Self.lockers(spec).isEmpty, "closing releases the lock")
        #expect(ImageIOInteropTests.firstDifference(try Self.export(spec), model) == nil)
        try Self.expectObjectMapValid(spec)
        // The removed object is gone for real (the map said so before rbd checked).
        let prefix = try #require(image.info.blockNamePrefix as String?)
        let objects = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "ls"]), as: UTF8.self)
            .split(separator: "\n").filter { $0.hasPrefix(prefix) }.map(String.init).sorted()
        #expect(objects == ["\(prefix).0000000000000000", "\(prefix).0000000000000001", "\(prefix).0000000000000002"], "\(objects)")
    } }

    /// A default-feature image made by rbd and open in our client for `body` (given its
    /// spec, the image and the client); removed afterwards.
    static func ours(_ label: String, size: String = "16M", _ body: (String, Image, RADOSClient) async throws -> Void) async throws {
        let name = "xl-\(label)-\(UInt32.random(in: 0...UInt32.max))"
        let spec = "rbd/\(name)"
        _ = try Self.rbd(["create", spec, "--size", size])
        defer { ClusterEnvironment.removeImage(spec) }
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        let outcome: Result<Void, any Error>
        do {
            try await body(spec, image, client)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        // A failed handover is easier to read knowing whether our watch was re-registered
        // or lost meanwhile (a map change, the machine's load): said only when it was.
        let statistics = await client.objecter.statistics
        if statistics.watchReconnects > 0 || statistics.watchesLost > 0 { print("\(name): our client's watches: \(statistics)") }
        try outcome.get()
    }

    /// ``ours(_:size:_:)`` with a librbd client (``librbdWriter``) that opened the image
    /// first.
    static func shared(_ label: String, _ body: (String, PythonClient, Image) async throws -> Void) async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try await ours(label) { spec, image, _ in
            let writer = try PythonClient(Self.librbdWriter, arguments: [conf, String(spec.dropFirst(4))])
            defer { writer.finish() }
            try #require(try await writer.readLine() == "open")
            try await body(spec, writer, image)
        }
    }

    @Test func theLockMovesBetweenLibrbdAndUsOnRequest() async throws { try await Self.shared("turns") { spec, writer, image in

        var model = [UInt8](repeating: 0, count: 16 << 20)
        for turn in 0..<4 {
            // librbd writes (asking us for the lock from the second turn on) …
            let theirs = turn * (2 << 20)
            try writer.send("write \(theirs) \(0x10 + turn) 65536")
            try #require(try await writer.readLine() == "ok", "librbd's write \(turn)")
            Self.fill(&model, theirs, UInt8(0x10 + turn), 65536)
            #expect(!image.ownsExclusiveLock, "we gave the lock up when librbd asked (turn \(turn))")
            // … then we do (asking librbd, which holds it now).
            let ours = theirs + (1 << 20)
            try await image.write(offset: UInt64(ours), data: ByteBuffer(repeating: UInt8(0x80 + turn), count: 65536))
            Self.fill(&model, ours, UInt8(0x80 + turn), 65536)
            #expect(image.ownsExclusiveLock)
        }
        try await image.close()
        writer.finish()
        #expect(ImageIOInteropTests.firstDifference(try Self.export(spec), model) == nil)
        try Self.expectObjectMapValid(spec)
    } }

    /// A librbd client that writes 4 KiB blocks on request and says how each went
    /// (`ok`, or the error's class: librbd raises `ReadOnlyImage` when the owner keeps
    /// the lock).
    static let politeWriter = """
    import sys, rados, rbd
    cluster = rados.Rados(conffile=sys.argv[1])
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    image = rbd.Image(io, sys.argv[2])
    print('open', flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            break
        try:
            image.write(bytes([int(words[1])]) * 4096, int(words[0]))
            image.flush()
            print('ok', flush=True)
        except rbd.Error as error:
            print('error ' + type(error).__name__, flush=True)
    image.close()
    io.close()
    cluster.shutdown()
    """

    /// `rbd_lock_acquire` semantics: a lock we took explicitly is kept when librbd asks
    /// (its write fails with EROFS, as against a librbd owner in that mode), and after
    /// our release librbd takes it, while our own writes then fail instead of taking it
    /// back.
    @Test func anExplicitlyAcquiredLockIsKeptUntilReleased() async throws { try await Self.ours("manual") { spec, image, client in
        let conf = try #require(ClusterEnvironment.cephConf)
        try await image.acquireExclusiveLock()
        #expect(image.ownsExclusiveLock)
        try await image.write(offset: 0, data: ByteBuffer(repeating: 0x61, count: 4096))
        let writer = try PythonClient(Self.politeWriter, arguments: [conf, String(spec.dropFirst(4))])
        defer { writer.finish() }
        try #require(try await writer.readLine() == "open")
        try writer.send("8192 98")
        #expect(try await writer.readLine() == "error ReadOnlyImage", "librbd's write against our kept lock")
        #expect(image.ownsExclusiveLock, "the lock stayed ours")
        let lockers = try await ClusterEnvironment.offThreadPool { try Self.lockers(spec).map { $0["locker"] as? String } }
        #expect(lockers == ["client.\(client.instanceID)"], "\(lockers)")

        try await image.releaseExclusiveLock()
        #expect(!image.ownsExclusiveLock)
        try writer.send("8192 98")
        #expect(try await writer.readLine() == "ok", "librbd writes once we released the lock")
        let refused = await ClusterEnvironment.refusal("our write after the release") { _ = try await image.write(offset: 4096, data: ByteBuffer(repeating: 0x63, count: 4096)) }
        #expect(refused?.errno == 30, "\(String(describing: refused))")
        await #expect(throws: RADOSError.self) { try await image.releaseExclusiveLock() }
        try await image.close()
        writer.finish()
        var model = [UInt8](repeating: 0, count: 16 << 20)
        Self.fill(&model, 0, 0x61, 4096)
        Self.fill(&model, 8192, 98, 4096)
        let exported = try await ClusterEnvironment.offThreadPool { try Self.export(spec) }
        #expect(ImageIOInteropTests.firstDifference(exported, model) == nil)
    } }

    @Test func librbdAndWeWritingAtOnceBothProgress() async throws { try await Self.shared("both") { spec, writer, image in

        // librbd writes 64 blocks in the first 4 MiB while we write 64 in the next object.
        let count = 64
        try writer.send("loop 0 119 \(count)")
        for index in 0..<count {
            try await image.write(offset: UInt64((4 << 20) + index * 4096), data: ByteBuffer(repeating: 0x3c, count: 4096))
        }
        try #require(try await writer.readLine() == "ok", "librbd's writes finished")
        try await image.close()
        writer.finish()
        var model = [UInt8](repeating: 0, count: 16 << 20)
        Self.fill(&model, 0, 119, count * 4096)
        Self.fill(&model, 4 << 20, 0x3c, count * 4096)
        #expect(ImageIOInteropTests.firstDifference(try Self.export(spec), model) == nil)
        try Self.expectObjectMapValid(spec)
    } }

    @Test func rbdSnapCreateWhileWeHoldTheLock() async throws { try await Self.ours("snap") { spec, image, _ in
        var model = [UInt8](repeating: 0, count: 16 << 20)
        try await image.write(offset: 0, data: ByteBuffer(repeating: 0x41, count: 1 << 20))
        Self.fill(&model, 0, 0x41, 1 << 20)
        #expect(image.ownsExclusiveLock)
        let holder = try await ClusterEnvironment.offThreadPool { try Self.lockers(spec).map { $0["id"] as? String } }
        // rbd asks us, the owner, to take the snapshot (the lock does not move).
        _ = try await ClusterEnvironment.offThreadPool { try Self.rbd(["snap", "create", "--no-progress", spec + "@s1"]) }
        #expect(try await ClusterEnvironment.offThreadPool { try Self.lockers(spec).map { $0["id"] as? String } } == holder)
        #expect(image.ownsExclusiveLock)
        let atSnapshot = model
        try await image.write(offset: 512 << 10, data: ByteBuffer(repeating: 0x42, count: 1 << 20))
        Self.fill(&model, 512 << 10, 0x42, 1 << 20)
        // And ours, under the lock, with the object map copied and fast diff kept.
        try await image.createSnapshot(named: "s2")
        let atSecond = model
        try await image.write(offset: 8 << 20, data: ByteBuffer(repeating: 0x43, count: 4096))
        Self.fill(&model, 8 << 20, 0x43, 4096)
        try await image.close()

        #expect(ImageIOInteropTests.firstDifference(try Self.export(spec + "@s1"), atSnapshot) == nil)
        #expect(ImageIOInteropTests.firstDifference(try Self.export(spec + "@s2"), atSecond) == nil)
        #expect(ImageIOInteropTests.firstDifference(try Self.export(spec), model) == nil)
        try Self.expectObjectMapValid(spec)
        try Self.expectObjectMapValid(spec + "@s2")
        // Fast diff from s2 (through the maps) sees only the object written after it.
        let diff = try #require(try JSONSerialization.jsonObject(with: Self.rbd(["diff", "--whole-object", "--from-snap", "s2", "--format", "json", spec])) as? [[String: Any]])
        #expect(diff.map { $0["offset"] as? Int } == [8 << 20], "rbd diff --from-snap s2: \(diff)")
    } }

    /// Polls `rbd lock ls` until `spec` has a holder (a process starting up).
    static func waitForHolder(_ spec: String, seconds: Double = 60) async throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let holder = try await ClusterEnvironment.offThreadPool({ try Self.lockers(spec).first.map { LockHolder($0) } }) { return holder.fields }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        return nil
    }

    /// A lock listing entry carried off the thread pool.
    struct LockHolder: @unchecked Sendable {
        var fields: [String: Any]
        init(_ fields: [String: Any]) { self.fields = fields }
    }

    /// A librbd client killed while it holds the lock: its watch times out, then our
    /// write blocklists it and breaks its lock, as librbd would.
    @Test func aDeadLibrbdOwnerIsBrokenAndBlocklisted() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "xl-dead-\(UInt32.random(in: 0...UInt32.max))"
        let spec = "rbd/\(name)"
        _ = try Self.rbd(["create", spec, "--size", "16M"])
        defer { ClusterEnvironment.removeImage(spec) }
        let writer = try PythonClient(Self.librbdWriter, arguments: [conf, name])
        try #require(try await writer.readLine() == "open")
        try writer.send("write 0 90 4096")
        try #require(try await writer.readLine() == "ok")
        let holder = try #require(try Self.lockers(spec).first, "librbd holds the lock")
        kill(writer.process.processIdentifier, SIGKILL)
        writer.finish()

        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        try await image.write(offset: 8192, data: ByteBuffer(repeating: 0x5b, count: 4096))
        #expect(image.ownsExclusiveLock)
        try await image.close()
        let blocklist = String(decoding: try ClusterEnvironment.ceph("ceph", ["osd", "blocklist", "ls"]), as: UTF8.self)
        let address = try #require(holder["address"] as? String)
        #expect(blocklist.contains(address), "the dead owner \(address) is blocklisted: \(blocklist)")
        var model = [UInt8](repeating: 0, count: 16 << 20)
        Self.fill(&model, 0, 90, 4096)
        Self.fill(&model, 8192, 0x5b, 4096)
        #expect(ImageIOInteropTests.firstDifference(try Self.export(spec), model) == nil)
        try Self.expectObjectMapValid(spec)
    }

    /// Our client (rbdctl bench) killed while it holds the lock: rbd takes the image over.
    @Test func rbdTakesOverFromOurKilledClient() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let name = "xl-killed-\(UInt32.random(in: 0...UInt32.max))"
        let spec = "rbd/\(name)"
        _ = try Self.rbd(["create", spec, "--size", "64M"])
        defer { ClusterEnvironment.removeImage(spec) }
        let bench = Process()
        bench.executableURL = URL(fileURLWithPath: ClusterEnvironment.rbdctl)
        bench.arguments = ["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "100G", "--io-pattern", "rand", spec, "-c", conf]
        bench.standardOutput = FileHandle.nullDevice
        bench.standardError = FileHandle.nullDevice
        try bench.run()
        let holder = try await Self.waitForHolder(spec)
        try #require(holder != nil, "rbdctl bench never took the lock")
        #expect((holder?["id"] as? String)?.hasPrefix("auto ") == true)
        kill(bench.processIdentifier, SIGKILL)
        bench.waitUntilExit()

        let takeover = try await ClusterEnvironment.offThreadPool {
            try ClusterEnvironment.run(["rbd", "-c", conf, "bench", "--io-type", "write", "--io-size", "4K", "--io-total", "64K", "--io-pattern", "seq", spec])
        }
        #expect(takeover.status == 0, "rbd bench after our client died: \(takeover.stderr)")
        let now = try Self.lockers(spec)
        #expect(now.isEmpty, "rbd released the lock it took: \(now)")
        try Self.expectObjectMapValid(spec)
    }

    /// Our resize (both ways) and rollback on a default-feature image keep the object
    /// map as librbd keeps it.
    @Test func resizeAndRollbackKeepTheObjectMap() async throws { try await Self.ours("resize") { spec, image, _ in
        try await image.write(offset: 0, data: ByteBuffer(repeating: 0x11, count: 16 << 20))
        try await image.createSnapshot(named: "full")
        try await image.resize(to: 6 << 20, allowShrink: true)  // objects 2 and 3 go, 1 is cut
        try await image.resize(to: 24 << 20)
        try await image.write(offset: 20 << 20, data: ByteBuffer(repeating: 0x22, count: 4096))
        try Self.expectObjectMapValid(spec)
        var model = [UInt8](repeating: 0, count: 24 << 20)
        Self.fill(&model, 0, 0x11, 6 << 20)
        Self.fill(&model, 20 << 20, 0x22, 4096)
        #expect(ImageIOInteropTests.firstDifference(try Self.export(spec), model) == nil)

        try await image.rollback(toSnapshot: "full")
        try await image.write(offset: 4096, data: ByteBuffer(repeating: 0x33, count: 4096))
        try await image.close()
        model = [UInt8](repeating: 0x11, count: 16 << 20)
        Self.fill(&model, 4096, 0x33, 4096)
        #expect(ImageIOInteropTests.firstDifference(try Self.export(spec), model) == nil)
        try Self.expectObjectMapValid(spec)
        try Self.expectObjectMapValid(spec + "@full")
    } }
}
