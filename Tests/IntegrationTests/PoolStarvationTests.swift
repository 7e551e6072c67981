import Foundation
import NIOCore
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
        defer {
            _ = try? ClusterEnvironment.ceph("rbd", ["snap", "purge", "--no-progress", "rbd/\(name)"])
            _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"])
        }
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        #expect(try await image.write(offset: 0, data: ByteBuffer(repeating: 0xAA, count: 4096)) == 4096)
        #expect(!image.isRefreshRequired)
        let header = "rbd_header.\(image.id)"
        let cookie = try #require(try ClusterEnvironment.watchers(header).first)

        // Block every cooperative thread (the pool is as wide as the machine has cores),
        // then let a plain thread drive Ceph's tools while this task is suspended.
        let width = ProcessInfo.processInfo.activeProcessorCount
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        for _ in 0..<width {
            Task.detached {
                started.signal()
                release.wait()
            }
        }
        let observation: Observation = await withCheckedContinuation { continuation in
            Thread {
                var seen = Observation()
                defer {
                    for _ in 0..<width { release.signal() }
                    continuation.resume(returning: seen)
                }
                for _ in 0..<width {
                    guard started.wait(timeout: .now() + 30) == .success else { return }
                }
                // Proof that the pool is saturated: a task started now does not run.
                let probe = DispatchSemaphore(value: 0)
                Task.detached { probe.signal() }
                seen.poolBlocked = probe.wait(timeout: .now() + 1) == .timedOut

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
            }.start()
        }
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
}
