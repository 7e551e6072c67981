import Foundation
import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// Header watch/notify between our open images and librbd's, both ways: when `rbd`
/// takes a snapshot or resizes, our open image rereads the header before its next
/// write (so the snapshot keeps its data); when we do, an image librbd has open for
/// writing rereads it (same check, from the other side).
@Suite(.requiresCluster)
struct ImageHeaderWatchTests {
    static func connect() async throws -> RADOSClient {
        let conf = try #require(ClusterEnvironment.cephConf)
        return try await RADOSClient.connect(try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false))
    }

    static func rbd(_ arguments: [String]) throws -> Data { try ClusterEnvironment.ceph("rbd", arguments) }

    /// Runs `rbd` without blocking a Swift concurrency thread: while it notifies, our
    /// watch must be able to acknowledge (the test machine may have only two).
    static func rbdAsync(_ arguments: [String]) async throws -> Data {
        try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.ceph("rbd", arguments) }
    }

    static func export(_ spec: String) async throws -> [UInt8] { Array(try await rbdAsync(["export", "--no-progress", spec, "-"])) }

    static func unique(_ label: String) -> String { "watch-\(label)-\(UInt32.random(in: 0...UInt32.max))" }

    static func cleanup(_ spec: String) {
        _ = try? rbd(["snap", "purge", "--no-progress", spec])
        _ = try? rbd(["rm", "--no-progress", spec])
    }

    /// Whether `bytes` is `count` copies of `value` (big buffers are not compared inside #expect).
    static func all(_ bytes: some Collection<UInt8>, _ value: UInt8, count: Int) -> Bool {
        bytes.count == count && bytes.allSatisfy { $0 == value }
    }

    // MARK: rbd changes the header, our open image follows

    @Test func ourOpenImageKeepsRbdsSnapshotIntact() async throws {
        let name = Self.unique("snap")
        let spec = "rbd/\(name)"
        _ = try Self.rbd(["create", spec, "--size", "8M", "--object-size", "1M", "--image-feature", "layering"])
        defer { Self.cleanup(spec) }
        let client = try await Self.connect()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        let watchers = try await image.watchers().watchers
        #expect(watchers.count == 1, "the open image watches its header")

        try await image.write(offset: 0, data: ByteBuffer(repeating: 0xAA, count: 3 << 20))
        _ = try await Self.rbdAsync(["snap", "create", "--no-progress", spec + "@s"])
        // The notify marks the image (normally before rbd returns).
        #expect(await image.waitForRefreshMark())
        // These writes must carry the new snap context, or the OSDs overwrite the objects
        // in place and the snapshot reads the new bytes. Issued together, they share one
        // reread of the header.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for piece in 0..<24 {
                group.addTask {
                    try await image.write(offset: UInt64(piece) << 17, data: ByteBuffer(repeating: 0xBB, count: 1 << 17))
                }
            }
            try await group.waitForAll()
        }
        #expect(!image.isRefreshRequired)
        #expect(image.snapshots.map(\.name) == ["s"])

        let atSnapshot = try await Self.export(spec + "@s")
        #expect(Self.all(atSnapshot.prefix(3 << 20), 0xAA, count: 3 << 20), "rbd export @s lost the snapshot's data")
        #expect(Self.all(atSnapshot.dropFirst(3 << 20), 0, count: 5 << 20))
        let head = try await Self.export(spec)
        #expect(Self.all(head.prefix(3 << 20), 0xBB, count: 3 << 20))
        try await image.close()
        #expect(try await image.watchers().watchers.isEmpty, "close removed the watch")
    }

    @Test func ourOpenImageFollowsRbdResize() async throws {
        let name = Self.unique("resize")
        let spec = "rbd/\(name)"
        _ = try Self.rbd(["create", spec, "--size", "8M", "--object-size", "1M", "--image-feature", "layering"])
        defer { Self.cleanup(spec) }
        let client = try await Self.connect()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        #expect(image.size == 8 << 20)

        _ = try await Self.rbdAsync(["resize", "--no-progress", "--size", "16M", spec])
        #expect(await image.waitForRefreshMark())
        // Past the old end: accepted whole, since the write rereads the size first.
        let written = try await image.write(offset: 12 << 20, data: ByteBuffer(repeating: 0x5C, count: 1 << 20))
        #expect(written == 1 << 20)
        #expect(image.size == 16 << 20)
        let exported = try await Self.export(spec)
        #expect(Self.all(exported[(12 << 20)..<(13 << 20)], 0x5C, count: 1 << 20))

        _ = try await Self.rbdAsync(["resize", "--no-progress", "--allow-shrink", "--size", "4M", spec])
        // As after the growth: the notify's mark may come after rbd returned.
        #expect(await image.waitForRefreshMark())
        try await image.refreshIfRequired()
        #expect(image.size == 4 << 20)
        do {
            _ = try await image.read(offset: 6 << 20, length: 1)
            Issue.record("a read past the shrunk end was accepted")
        } catch {
            #expect(error.errno == 22)
        }
        try await image.close()
    }

    // MARK: we change the header, librbd's open image follows

    /// A python3-rbd client (librbd) holding the image open for writing. Before its
    /// second write it waits (up to 60 s) until librbd reports the size the test sends:
    /// librbd rereads the header only once our notify marked it (`size()` refreshes an
    /// image marked for refresh, nothing else), and our notify may have timed out
    /// before a loaded machine let librbd handle it.
    static let librbdWriter = """
    import sys, time, rados, rbd
    cluster = rados.Rados(conffile=sys.argv[1])
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    image = rbd.Image(io, sys.argv[2])
    image.write(b'\\xaa' * (3 << 20), 0)
    image.flush()
    print('written', flush=True)
    expected = int(sys.stdin.readline())
    deadline = time.monotonic() + 60
    while image.size() != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    image.write(b'\\xbb' * (3 << 20), 0)
    image.flush()
    print('size', image.size(), flush=True)
    sys.stdin.readline()
    image.close()
    io.close()
    cluster.shutdown()
    """

    /// Reads one line from `handle` (nil at end of file).
    static func readLine(_ handle: FileHandle) -> String? {
        var line = Data()
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte.first == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    @Test(.requiresPythonRBD)
    func librbdWriterKeepsOurSnapshotIntactAndSeesOurResize() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = Self.unique("librbd")
        let spec = "rbd/\(name)"
        _ = try Self.rbd(["create", spec, "--size", "8M", "--object-size", "1M", "--image-feature", "layering"])
        defer { Self.cleanup(spec) }
        let writer = try PythonClient(Self.librbdWriter, arguments: [conf, name])
        defer { writer.finish() }
        try #require(try await writer.readLine() == "written", "the librbd writer did not start")

        let client = try await Self.connect()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        #expect(try await image.otherWatchers().count == 1, "librbd watches the header")
        try await image.createSnapshot(named: "ours")
        try await image.resize(to: 12 << 20)
        try await image.close()

        // librbd was told: once it reports our size (its wait for that bounds only a
        // hang), its next write carries our snapshot in its snap context.
        try writer.send("\(12 << 20)")
        let reported = try await writer.readLine()
        #expect(reported == "size \(12 << 20)", "librbd did not see our resize within 60 s")
        try writer.send("")

        let atSnapshot = try await Self.export(spec + "@ours")
        #expect(atSnapshot.count == 8 << 20)
        #expect(Self.all(atSnapshot.prefix(3 << 20), 0xAA, count: 3 << 20), "librbd's write after our snapshot overwrote it")
        let head = try await Self.export(spec)
        #expect(Self.all(head.prefix(3 << 20), 0xBB, count: 3 << 20))
    }
}

extension ClusterEnvironment {
    /// Runs blocking work (a child process) on a Dispatch thread and awaits it, so the
    /// Swift concurrency threads stay free for the client (its watch acknowledgements).
    static func offThreadPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}

extension Image {
    /// Waits (up to `seconds`) until a header-update notify has marked the image. rbd
    /// returns after its notify's timeout even when our ack has not arrived yet (a busy
    /// machine can hold our watch's task back), so the test waits for the mark itself
    /// before writing on, instead of assuming it came before rbd returned.
    func waitForRefreshMark(seconds: Int = 30) async -> Bool {
        for _ in 0..<(seconds * 20) {
            if isRefreshRequired { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return isRefreshRequired
    }
}
