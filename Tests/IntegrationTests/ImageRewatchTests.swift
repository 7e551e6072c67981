import Foundation
import NIOCore
@testable import RADOSProto
import RBDCore
import Testing

/// An open image whose header watch is lost watches again, as librbd's `Watcher::rewatch`
/// does: it first removes the lost registration (the OSD may still hold it when the loss
/// was the client's, and `rbd rm` would see a watcher nobody answers for), then watches
/// with a new cookie and marks the image for a refresh.
@Suite(.requiresCluster, .serialized)
struct ImageRewatchTests {
    static func cookies(_ header: String) throws -> [UInt64] {
        try ClusterEnvironment.watchers(header).map(\.cookie)
    }

    @Test func aLostHeaderWatchIsReplacedNotLeftBehind() async throws {
        let name = "rewatch-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "4M", "--image-feature", "layering"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        let header = "rbd_header.\(image.id)"
        let first = try #require(try Self.cookies(header).first)
        #expect(!image.isRefreshRequired)

        await client.objecter.loseWatchForTesting(cookie: first)
        // Wait for the replacement to appear; by then the lost registration must be gone
        // (it is removed before the new one is made; left alone, the OSD would keep it
        // until its 30 s watch timeout).
        var now: [UInt64] = []
        for _ in 0..<600 {
            now = try Self.cookies(header)
            if now.contains(where: { $0 != first }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(now.count == 1 && now.first != first, "rados listwatchers after the loss: \(now) (the lost watch was \(first))")
        // Marked once the new registration is in (notifications may have been missed).
        #expect(await image.waitForRefreshMark(), "the image was not marked for a refresh after watching again")
        // The new watch answers: rbd's header update marks the refreshed image again.
        try await image.refreshIfRequired()
        _ = try ClusterEnvironment.ceph("rbd", ["resize", "--size", "8M", "rbd/\(name)"])
        #expect(await image.waitForRefreshMark())
        try await image.close()
        #expect(try Self.cookies(header).isEmpty)
    }
}
