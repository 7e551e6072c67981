import Foundation
import NIOCore
import RADOSProto  // the public API only: no @testable
import RBDCore
import Testing

/// `RADOSClient.shutdown()` releases what the client holds on the cluster: watches that
/// were never cancelled and images that were never closed leave no watcher behind, so
/// Ceph's tools can act on them at once instead of after the OSD's 30 s watch timeout.
@Suite(.requiresCluster, .serialized)
struct ClientShutdownTests {
    @Test func shutdownRemovesAWatchThatWasNeverCancelled() async throws {
        let client = try await RADOSClientTests.client()
        let namespace = "shutdown-\(UInt32.random(in: 0...UInt32.max))"
        let io = try await client.ioContext(pool: "rbd", namespace: namespace)
        try await io.create("watched", exclusive: true)
        defer { _ = try? ClusterEnvironment.ceph("rados", ["-p", "rbd", "-N", namespace, "rm", "watched"]) }
        let watch = try await io.watch("watched")
        let listed = try ClusterEnvironment.watchers("watched", namespace: namespace)
        #expect(listed.map(\.cookie) == [watch.cookie], "rados listwatchers: \(listed)")
        await client.shutdown()
        #expect(try ClusterEnvironment.watchers("watched", namespace: namespace).isEmpty)
    }

    /// As after `rbd_close` and `rados_shutdown`: `rbd rm` is not refused for watchers.
    @Test func shutdownWithAnImageStillOpenLetsRbdRemoveIt() async throws {
        let name = "shutdown-open-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "4M", "--image-feature", "layering"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }
        let client = try await RADOSClientTests.client()
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        #expect(try await image.write(offset: 0, data: ByteBuffer(string: "kept")) == 4)
        let header = "rbd_header.\(image.id)"
        #expect(try ClusterEnvironment.watchers(header).count == 1)
        // Without shutting down, rbd refuses: the open image watches its header.
        let refused = try ClusterEnvironment.run(["rbd", "-c", try #require(ClusterEnvironment.cephConf), "rm", "--no-progress", "rbd/\(name)"])
        #expect(refused.status == 16, "rbd rm with our watch: exit \(refused.status): \(refused.stderr)")
        await client.shutdown()
        #expect(try ClusterEnvironment.watchers(header).isEmpty)
        let exported = try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)", "-"])
        #expect(exported.prefix(4) == Data("kept".utf8))
        _ = try ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"])
        #expect(!String(decoding: try ClusterEnvironment.ceph("rbd", ["ls"]), as: UTF8.self).split(separator: "\n").contains(Substring(name)))
    }

    /// After `shutdown()` a request fails at once with an error that says so, through
    /// the async API and the callback API alike, instead of opening a new session.
    @Test func requestsAfterShutdownFailAtOnce() async throws {
        let name = "shutdown-after-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "4M", "--image-feature", "layering"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }
        let client = try await RADOSClientTests.client()
        let io = try await client.ioContext(pool: "rbd")
        let image = try await Image.open(io, name: name)
        await client.shutdown()
        let failure = await ClusterEnvironment.refusal("a read after shutdown") { _ = try await image.read(offset: 0, length: 4096) }
        #expect(failure?.code == .connectionFailed && failure?.message.contains("shut down") == true, "\(String(describing: failure))")
        let (value, message) = await withCheckedContinuation { (continuation: CheckedContinuation<(Int, String), Never>) in
            image.aioWrite(offset: 0, data: ByteBuffer(string: "late"), completion: IOCompletion { done in
                continuation.resume(returning: (done.returnValue ?? 0, done.error?.message ?? ""))
            })
        }
        #expect(value == -Int(RADOSError.Code.connectionFailed.errno) && message.contains("shut down"), "aio write after shutdown: \(value) \(message)")
    }
}
