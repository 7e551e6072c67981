import Foundation
import NIOCore
import RADOSProto
import RBDCore
import Testing

/// Maintenance operations run through the exclusive-lock owner, both ways: `rbd snap
/// create`, `rbd resize`, `rbd flatten` and the snapshot verbs while we hold the lock
/// are run by us (the lock never moves, and since we keep it explicitly, librbd could not
/// have taken it), and ours while a librbd client keeps the lock explicitly
/// (`rbd_lock_acquire`) are run by it. The data, the snapshots and the object map are
/// checked with Ceph's own tools.
@Suite(.requiresCluster, .requiresPythonRBD, .serialized)
struct ImageOwnerRequestTests {
    static func rbd(_ arguments: [String]) async throws -> Data {
        try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.ceph("rbd", arguments) }
    }

    static func lockers(_ spec: String) async throws -> [String] {
        try await ClusterEnvironment.offThreadPool {
            try ImageExclusiveLockTests.lockers(spec).map { "\($0["locker"] as? String ?? "?") \($0["id"] as? String ?? "?")" }
        }
    }

    static func export(_ spec: String) async throws -> [UInt8] {
        try await ClusterEnvironment.offThreadPool { try ImageExclusiveLockTests.export(spec) }
    }

    static func size(_ spec: String) async throws -> Int? {
        try await ClusterEnvironment.offThreadPool {
            let info = try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", spec])) as? [String: Any]
            return info?["size"] as? Int
        }
    }

    /// A parent image with 6 MiB of data and snapshot `s`, and a default-feature clone of
    /// it; the model of the clone is returned. Both are removed afterwards.
    static func withClone(_ label: String, _ body: (_ child: String, _ model: [UInt8]) async throws -> Void) async throws {
        let tag = UInt32.random(in: 0...UInt32.max)
        let parent = "owner-\(label)-parent-\(tag)", child = "owner-\(label)-child-\(tag)"
        _ = try await rbd(["create", "rbd/\(parent)", "--size", "16M"])
        do {
            let client = try await RADOSClientTests.client()
            let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: parent)
            try await image.write(offset: 0, data: ByteBuffer(repeating: 0x50, count: 6 << 20))
            try await image.close()
            await client.shutdown()
            _ = try await rbd(["snap", "create", "--no-progress", "rbd/\(parent)@s"])
            _ = try await rbd(["clone", "--rbd-default-clone-format", "2", "rbd/\(parent)@s", "rbd/\(child)"])
            var model = [UInt8](repeating: 0, count: 16 << 20)
            ImageExclusiveLockTests.fill(&model, 0, 0x50, 6 << 20)
            try await body(child, model)
        } catch {
            Issue.record("\(error)")
        }
        _ = try? await ClusterEnvironment.offThreadPool { ClusterEnvironment.removeImage("rbd/\(child)") }
        _ = try? await ClusterEnvironment.offThreadPool { ClusterEnvironment.removeImage("rbd/\(parent)") }
    }

    @Test func rbdMaintenanceRunsThroughUsWhileWeKeepTheLock() async throws { try await Self.withClone("ours") { child, parentModel in
        let spec = "rbd/\(child)"
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: child)
        // Kept explicitly: librbd's requests for the lock are refused, so whatever rbd
        // manages to do below, we did for it.
        try await image.acquireExclusiveLock()
        let holder = try await Self.lockers(spec)
        try #require(holder.count == 1 && holder[0].hasPrefix("client.\(client.instanceID) auto "), "\(holder)")

        var model = parentModel
        try await image.write(offset: 1 << 20, data: ByteBuffer(repeating: 0x41, count: 1 << 20))
        ImageExclusiveLockTests.fill(&model, 1 << 20, 0x41, 1 << 20)
        _ = try await Self.rbd(["snap", "create", "--no-progress", "\(spec)@s1"])
        let atS1 = model
        try await image.write(offset: (1 << 20) + 4096, data: ByteBuffer(repeating: 0x42, count: 8192))
        ImageExclusiveLockTests.fill(&model, (1 << 20) + 4096, 0x42, 8192)

        // Growing: we see the new size and write past the old end.
        _ = try await Self.rbd(["resize", "--no-progress", "--size", "24M", spec])
        #expect(image.info.size == 24 << 20, "our image after rbd resize: \(image.info.size)")
        try await image.write(offset: 20 << 20, data: ByteBuffer(repeating: 0x43, count: 4096))
        model += [UInt8](repeating: 0, count: 8 << 20)
        ImageExclusiveLockTests.fill(&model, 20 << 20, 0x43, 4096)

        _ = try await Self.rbd(["snap", "rename", "\(spec)@s1", "\(spec)@kept"])
        _ = try await Self.rbd(["snap", "protect", "\(spec)@kept"])
        _ = try await Self.rbd(["snap", "unprotect", "\(spec)@kept"])
        _ = try await Self.rbd(["snap", "create", "--no-progress", "\(spec)@gone"])
        _ = try await Self.rbd(["snap", "rm", "--no-progress", "\(spec)@gone"])
        // Errors come back too.
        let duplicate = try await ClusterEnvironment.offThreadPool {
            try ClusterEnvironment.run(["rbd", "-c", try #require(ClusterEnvironment.cephConf), "snap", "create", "--no-progress", "\(spec)@kept"])
        }
        #expect(duplicate.status != 0 && duplicate.stderr.contains("File exists"), "rbd snap create of a taken name: \(duplicate.stderr)")

        // Shrinking back drops what lay past 16 MiB; then the clone is flattened.
        _ = try await Self.rbd(["resize", "--no-progress", "--allow-shrink", "--size", "16M", spec])
        model.removeLast(8 << 20)
        _ = try await Self.rbd(["flatten", "--no-progress", spec])
        try await image.refresh()
        #expect(image.info.parent == nil, "the clone is flattened")
        #expect(image.snapshots.map(\.name) == ["kept"])

        #expect(try await Self.lockers(spec) == holder, "the lock never moved")
        #expect(image.ownsExclusiveLock)
        try await image.write(offset: 0, data: ByteBuffer(repeating: 0x44, count: 4096))
        ImageExclusiveLockTests.fill(&model, 0, 0x44, 4096)
        try await image.close()

        #expect(ImageIOInteropTests.firstDifference(try await Self.export(spec), model) == nil, "the head")
        #expect(ImageIOInteropTests.firstDifference(try await Self.export("\(spec)@kept"), atS1) == nil, "the snapshot rbd made through us")
        try await ClusterEnvironment.offThreadPool {
            try ImageExclusiveLockTests.expectObjectMapValid(spec)
            try ImageExclusiveLockTests.expectObjectMapValid("\(spec)@kept")
        }
    } }

    /// A librbd client that opens the image, keeps its lock (`rbd_lock_acquire`) and then
    /// writes `write OFFSET BYTE LENGTH` lines (answering `ok` or the error's name) and
    /// answers `owner` with whether it still owns the lock.
    static let keepingOwner = """
    import sys, rados, rbd
    cluster = rados.Rados(conffile=sys.argv[1])
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    image = rbd.Image(io, sys.argv[2])
    image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
    print('locked', flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            break
        try:
            if words[0] == 'write':
                image.write(bytes([int(words[2])]) * int(words[3]), int(words[1]))
                image.flush()
                print('ok', flush=True)
            elif words[0] == 'owner':
                print('owner' if image.is_exclusive_lock_owner() else 'not owner', flush=True)
        except Exception as error:
            print('error ' + type(error).__name__, flush=True)
    image.close()
    io.close()
    cluster.shutdown()
    """

    @Test func ourMaintenanceRunsThroughALibrbdOwnerThatKeepsItsLock() async throws { try await Self.withClone("librbd") { child, parentModel in
        let spec = "rbd/\(child)"
        let conf = try #require(ClusterEnvironment.cephConf)
        let owner = try PythonClient(Self.keepingOwner, arguments: [conf, child])
        defer { owner.finish() }
        try #require(try await owner.readLine() == "locked", "the librbd owner did not start")
        var model = parentModel
        try owner.send("write \(1 << 20) 97 65536")
        try #require(try await owner.readLine() == "ok")
        ImageExclusiveLockTests.fill(&model, 1 << 20, 97, 65536)
        let holder = try await Self.lockers(spec)
        try #require(holder.count == 1, "\(holder)")

        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: child)
        try await image.createSnapshot(named: "s1")
        let atS1 = model
        try owner.send("write \(1 << 20) 98 4096")
        #expect(try await owner.readLine() == "ok", "librbd keeps writing after our snapshot")
        ImageExclusiveLockTests.fill(&model, 1 << 20, 98, 4096)

        try await image.resize(to: 24 << 20)
        #expect(image.info.size == 24 << 20)
        #expect(try await Self.size(spec) == 24 << 20)
        model += [UInt8](repeating: 0, count: 8 << 20)
        try await image.createSnapshot(named: "s2")
        try await image.removeSnapshot(named: "s2")
        // The owner's errors are ours.
        let duplicate = await ClusterEnvironment.refusal("a snapshot create of a taken name") { try await image.createSnapshot(named: "s1") }
        #expect(duplicate?.errno == 17, "\(String(describing: duplicate))")
        let shrink = await ClusterEnvironment.refusal("a shrink without allowShrink") { try await image.resize(to: 8 << 20) }
        #expect(shrink?.errno == 22, "\(String(describing: shrink))")

        try await image.flatten()
        #expect(image.info.parent == nil, "flattened by the owner")
        #expect(image.snapshots.map(\.name) == ["s1"])

        #expect(try await Self.lockers(spec) == holder, "the lock never moved")
        try owner.send("owner")
        #expect(try await owner.readLine() == "owner")
        try owner.send("write 0 99 4096")
        #expect(try await owner.readLine() == "ok")
        ImageExclusiveLockTests.fill(&model, 0, 99, 4096)
        try await image.close()
        owner.finish()

        #expect(ImageIOInteropTests.firstDifference(try await Self.export(spec), model) == nil, "the head")
        #expect(ImageIOInteropTests.firstDifference(try await Self.export("\(spec)@s1"), atS1) == nil, "the snapshot librbd made for us")
        try await ClusterEnvironment.offThreadPool { try ImageExclusiveLockTests.expectObjectMapValid(spec) }
    } }
}
