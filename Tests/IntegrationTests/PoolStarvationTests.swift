import Foundation
import NIOCore
import NIOPosix
import RADOSProto
import RBDCore
import Testing

/// The client's protocol work runs on its NIO event loop, not on Swift's cooperative
/// pool: with every thread of that pool blocked, Ceph's tools changing an image we hold
/// open still get our acknowledgements (a header update marks the image at once), the
/// watch survives, and once the pool is free again our writes carry the new snap
/// context, so the snapshot taken meanwhile keeps its data.
@Suite(.requiresCluster, .serialized)
struct PoolStarvationTests {
    /// What the blocking thread saw while the pool was blocked.
    struct Observation: Sendable {
        var poolBlocked = false
        var notify: (status: Int32, stderr: String) = (0, "")
        var snapCreate: (status: Int32, seconds: Double, marked: Bool) = (0, 0, false)
        var resize: (status: Int32, seconds: Double) = (0, 0)
        var watchers: [ClusterEnvironment.RadosWatcher] = []
    }

    @Test func headerUpdatesAreAnsweredWhileTheCooperativePoolIsBlocked() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "starved-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "8M", "--image-feature", "layering"])
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        #expect(try await image.write(offset: 0, data: ByteBuffer(repeating: 0xAA, count: 4096)) == 4096)
        #expect(!image.isRefreshRequired)
        let header = "rbd_header.\(image.id)"
        let cookie = try #require(try ClusterEnvironment.watchers(header).first)

        let (poolBlocked, seenOrNil) = await Self.whileCooperativePoolIsBlocked { () -> Observation in
            var seen = Observation()
            func run(_ arguments: [String]) -> (status: Int32, seconds: Double, stderr: String) {
                let start = Date()
                let result = (try? ClusterEnvironment.run(arguments)) ?? (status: -1, stdout: Data(), stderr: "could not start \(arguments[0])")
                return (result.status, Date().timeIntervalSince(start), result.stderr)
            }
            // rados notify exits 0 only when every watcher acknowledged.
            let notify = run(["rados", "-c", conf, "-p", "rbd", "notify", header, "are you there?"])
            seen.notify = (notify.status, notify.stderr)
            // librbd notifies HEADER_UPDATE after the snapshot and waits for acks up
            // to its notify timeout (5 s, `librbd/watcher/Notifier.cc`).
            let snap = run(["rbd", "-c", conf, "snap", "create", "rbd/\(name)@during"])
            seen.snapCreate = (snap.status, snap.seconds, image.isRefreshRequired)
            let resize = run(["rbd", "-c", conf, "resize", "--size", "16M", "rbd/\(name)"])
            seen.resize = (resize.status, resize.seconds)
            seen.watchers = (try? ClusterEnvironment.watchers(header)) ?? []
            return seen
        }
        var observation = seenOrNil ?? Observation()
        observation.poolBlocked = poolBlocked
        print("pool blocked: \(observation.poolBlocked); rbd snap create \(observation.snapCreate.seconds) s, rbd resize \(observation.resize.seconds) s")
        #expect(observation.poolBlocked, "the cooperative pool was not saturated, so this test proved nothing")
        #expect(observation.notify.status == 0, "rados notify was not acknowledged: \(observation.notify.stderr)")
        #expect(observation.snapCreate.status == 0)
        #expect(observation.snapCreate.marked, "rbd's header update did not mark the image while the pool was blocked")
        #expect(observation.snapCreate.seconds < 5, "rbd snap create waited for its notify timeout: our ack did not come")
        #expect(observation.resize.status == 0)
        #expect(observation.resize.seconds < 5, "rbd resize waited for its notify timeout: our ack did not come")
        #expect(observation.watchers == [cookie], "the watch did not survive: \(observation.watchers)")

        // The pool is free again: the next write sees the snapshot and the new size.
        #expect(try await image.write(offset: 0, data: ByteBuffer(repeating: 0xBB, count: 4096)) == 4096)
        #expect(image.size == 16 << 20)
        let atSnapshot = try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)@during", "-"])
        let head = try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)", "-"])
        #expect(atSnapshot.count == 8 << 20 && atSnapshot.prefix(4096).allSatisfy { $0 == 0xAA }, "the snapshot lost its data to a write with a stale snap context")
        #expect(head.count == 16 << 20 && head.prefix(4096).allSatisfy { $0 == 0xBB })
        try await image.close()
    }

    /// What the aio test saw on its plain thread.
    struct AIOObservation: Sendable {
        var completed: [String] = []
        var returnValues: [Int] = []
        /// Completions that ran on a thread other than an NIO event loop's.
        var offLoop: [String] = []
        var read: ByteBuffer?
    }

    /// The callback form of image I/O (what the C ABI's `rbd_aio_*` calls) needs nothing
    /// from Swift's cooperative pool: with every pool thread blocked, writes spanning
    /// several objects of a striped image, a write-zeroes, a flush and a read issued from
    /// a plain thread all complete, on the event loop; Ceph's `rbd export` then reads the
    /// same bytes.
    @Test func aioRequestsCompleteOnTheLoopWhileTheCooperativePoolIsBlocked() async throws {
        let name = "starved-aio-\(UInt32.random(in: 0...UInt32.max))"
        let size = 8 << 20
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "8M", "--object-size", "1M", "--stripe-unit", "64K", "--stripe-count", "4", "--image-feature", "layering"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)

        var expected = [UInt8](repeating: 0, count: size)
        let patternOffset = 512 << 10, patternLength = 3 << 20
        for index in 0..<patternLength { expected[patternOffset + index] = UInt8(truncatingIfNeeded: index % 251 + 1) }
        let pattern = ByteBuffer(bytes: expected[patternOffset..<(patternOffset + patternLength)])
        expected.replaceSubrange(0..<4096, with: repeatElement(0x5A, count: 4096))
        let zeroOffset = (1 << 20) + 100, zeroLength = 70_000
        expected.replaceSubrange(zeroOffset..<(zeroOffset + zeroLength), with: repeatElement(0, count: zeroLength))

        let (poolBlocked, seen) = await Self.whileCooperativePoolIsBlocked { () -> AIOObservation in
            var seen = AIOObservation()
            let offLoop = ManagedText()
            /// Starts one request and waits (30 s at most) for its completion.
            func run(_ what: String, _ start: (IOCompletion) -> Void) -> IOCompletion? {
                let done = DispatchSemaphore(value: 0)
                let completion = IOCompletion { _ in
                    if MultiThreadedEventLoopGroup.currentEventLoop == nil { offLoop.set(what) }
                    done.signal()
                }
                start(completion)
                guard done.wait(timeout: .now() + 30) == .success else { return nil }
                seen.completed.append(what)
                seen.returnValues.append(completion.returnValue ?? Int.min)
                return completion
            }
            _ = run("striped write") { image.aioWrite(offset: UInt64(patternOffset), data: pattern, completion: $0) }
            _ = run("4 KiB write") { image.aioWrite(offset: 0, data: ByteBuffer(repeating: 0x5A, count: 4096), completion: $0) }
            _ = run("write-zeroes") { image.aioWriteZeroes(offset: UInt64(zeroOffset), length: UInt64(zeroLength), completion: $0) }
            _ = run("flush") { image.aioFlush(completion: $0) }
            seen.read = run("read") { image.aioRead(offset: 0, length: UInt64(size), completion: $0) }?.data
            if let text = offLoop.text { seen.offLoop.append(text) }
            return seen
        }
        #expect(poolBlocked, "the cooperative pool was not saturated, so this test proved nothing")
        let observation = try #require(seen)
        #expect(observation.completed == ["striped write", "4 KiB write", "write-zeroes", "flush", "read"], "these completed while the pool was blocked: \(observation.completed)")
        #expect(observation.returnValues == [patternLength, 4096, zeroLength, 0, size])
        #expect(observation.offLoop.isEmpty, "completions ran off the event loop: \(observation.offLoop)")
        #expect(observation.read.map { Array($0.readableBytesView) == expected } == true, "the aio read did not return what the aio writes wrote")
        let exported = try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)", "-"])
        #expect(Array(exported) == expected, "rbd export does not read what the aio writes wrote")
        try await image.close()
    }

    /// Blocks every thread of Swift's cooperative pool (it is as wide as the machine has
    /// cores), runs `body` on a plain thread meanwhile, then frees the pool. Returns
    /// whether the pool was proven saturated (a task started during `body` did not run)
    /// and `body`'s result (nil when the pool could not be blocked within 300 s).
    static func whileCooperativePoolIsBlocked<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> (poolBlocked: Bool, value: Value?) {
        let width = ProcessInfo.processInfo.activeProcessorCount
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        for _ in 0..<width {
            Task.detached {
                started.signal()
                release.wait()
            }
        }
        return await withCheckedContinuation { continuation in
            Thread {
                var blocked = false
                var value: Value?
                defer {
                    for _ in 0..<width { release.signal() }
                    continuation.resume(returning: (blocked, value))
                }
                // Each blocker needs a pool thread to start on; the suite's synchronous
                // tests (child processes) hold pool threads for seconds at a time, one
                // after another, so this waits as long as a busy run may take rather than
                // failing while they come and go (a blocker, once started, keeps its thread).
                for _ in 0..<width {
                    guard started.wait(timeout: .now() + 300) == .success else { return }
                }
                // Proof that the pool is saturated: a task started now does not run.
                let probe = DispatchSemaphore(value: 0)
                Task.detached { probe.signal() }
                blocked = probe.wait(timeout: .now() + 1) == .timedOut
                value = body()
            }.start()
        }
    }
}
