import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RADOSProto
import RBDCore
import Testing

/// librbd's exclusive lock as our codecs read and write it: while a librbd client writes
/// an exclusive-lock image, our watch on the header receives its `ACQUIRED_LOCK`, whose
/// client id is the holder `rados lock info` shows (`client.<gid>`, cookie `auto
/// <handle>`); our `REQUEST_LOCK` makes librbd answer 0 and release the lock, announcing
/// `RELEASED_LOCK` with the same client id.
@Suite(.requiresCluster, .requiresPythonRBD, .serialized)
struct ImageLockInteropTests {
    /// A librbd client that writes (taking the exclusive lock), then idles until stdin
    /// gives it a line.
    static let lockingWriter = """
    import sys, rados, rbd
    cluster = rados.Rados(conffile=sys.argv[1])
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    image = rbd.Image(io, sys.argv[2])
    image.write(b'\\x5a' * 4096, 0)
    image.flush()
    print('locked', flush=True)
    sys.stdin.readline()
    image.close()
    io.close()
    cluster.shutdown()
    """

    @Test func librbdsLockMessagesAndOursAgreeWithRadosLockInfo() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "lock-interop-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "8M", "--image-feature", "layering,exclusive-lock"])
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        let imageInfo = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", "rbd/\(name)"])) as? [String: Any])
        let header = "rbd_header.\(try #require(imageInfo["id"] as? String))"

        // Our watch on the header records every lock message and acknowledges it.
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let io = try await client.ioContext(pool: "rbd")
        let received = NIOLockedValueBox<[ImageNotify.LockMessage]>([])
        let cookie = try await io.watch(header, onNotify: { notification in
            if let message = try? ImageNotify.decodeLockMessage(notification.payload) {
                received.withLockedValue { $0.append(message) }
            }
            return ImageNotify.reaction(to: notification.payload).reply
        }, onLost: { _ in })
        defer { Task { try? await io.unwatch(header, cookie: cookie) } }

        // librbd answers a lock request as the owner only while the watch it announced
        // the lock under is the one it has: after its watch lapses (a loaded machine) and
        // is registered again, a Pacific owner acknowledges requests without a response
        // (it forgets the owner's id on the watch error and does not announce the lock
        // again). Then the scenario starts over with a new librbd client, three times
        // at most; a requester that is ignored while librbd's watch is the announced one
        // fails the test.
        var writer: PythonClient?
        defer { writer?.finish() }
        var owner = ImageNotify.ClientID(globalID: 0, handle: 0)
        let us = ImageNotify.ClientID(globalID: client.instanceID, handle: cookie)
        var answers: [String] = []
        var granted = false
        for attempt in 1...3 where !granted {
            writer?.finish()
            received.withLockedValue { $0.removeAll() }
            let current = try PythonClient(Self.lockingWriter, arguments: [conf, name])
            writer = current
            try #require(try await current.readLine() == "locked", "the librbd writer did not start (attempt \(attempt))")

            // librbd's ACQUIRED_LOCK names the holder rados shows.
            let announced = try await pollUntil(seconds: 30) { received.withLockedValue { $0.contains { $0.op == .acquiredLock } } }
            try #require(announced, "no ACQUIRED_LOCK reached our watch: \(received.withLockedValue { $0 })")
            owner = try #require(received.withLockedValue { $0.first { $0.op == .acquiredLock }?.client })
            let lockInfo = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rados", ["-p", "rbd", "lock", "info", header, ImageNotify.lockName, "--format", "json"])) as? [String: Any])
            let holder = try #require((lockInfo["lockers"] as? [[String: Any]])?.first, "\(lockInfo)")
            #expect(lockInfo["tag"] as? String == ImageNotify.lockTag && lockInfo["type"] as? String == "exclusive", "\(lockInfo)")
            #expect(holder["name"] as? String == "client.\(owner.globalID)", "\(holder) vs \(owner)")
            #expect(holder["cookie"] as? String == ImageNotify.lockCookie(handle: owner.handle), "\(holder) vs \(owner)")
            #expect((holder["cookie"] as? String).flatMap(ImageNotify.handle(inLockCookie:)) == owner.handle)

            // Our REQUEST_LOCK: librbd answers 0 and hands the lock back. A busy machine
            // can keep the python process from answering for a while: asked again for up
            // to a minute, as a librbd requester keeps asking.
            let deadline = ContinuousClock.now + .seconds(60)
            var rewatched = false
            while !granted, !rewatched, ContinuousClock.now < deadline {
                let result = try await io.notify(header, payload: ImageNotify.requestLock(us, force: false), timeout: 15)
                let ack = result.acks.first { $0.gid == owner.globalID }
                let response: Int32? = ack.flatMap { (try? ImageNotify.decodeResponse($0.reply)) ?? nil }
                let timedOut = result.timedOut.contains { $0.gid == owner.globalID }
                answers.append(ack == nil ? (timedOut ? "timed out" : "not watching") : response.map { "\($0)" } ?? "ack without response")
                granted = response == 0
                if !granted {
                    let watches = try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.watchers(header) }
                    rewatched = ack != nil && response == nil && !watches.contains { $0.gid == owner.globalID && $0.cookie == owner.handle }
                    if rewatched { answers.append("(librbd watches again under a new handle: new client)") }
                    try await Task.sleep(for: .seconds(2))
                }
            }
        }
        #expect(granted, "librbd's answers to our REQUEST_LOCK: \(answers); owner \(owner); watchers now: \((try? String(decoding: ClusterEnvironment.ceph("rados", ["-p", "rbd", "listwatchers", header]), as: UTF8.self)) ?? "?")")
        let released = try await pollUntil(seconds: 30) { received.withLockedValue { $0.contains { $0.op == .releasedLock } } }
        #expect(released, "librbd did not release the lock on our request: \(received.withLockedValue { $0 })")
        // The same client; its handle changes only if librbd had to watch again meanwhile
        // (a loaded machine), and then the lock cookie moved with it.
        let releaser = received.withLockedValue { $0.first { $0.op == .releasedLock }?.client }
        #expect(releaser?.globalID == owner.globalID, "\(String(describing: releaser)) vs \(owner)")
        #expect(received.withLockedValue { $0.contains { $0.op == .requestLock && $0.client == us } }, "our own request, decoded by our own watch")
        let after = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rados", ["-p", "rbd", "lock", "info", header, ImageNotify.lockName, "--format", "json"])) as? [String: Any])
        #expect((after["lockers"] as? [Any])?.isEmpty == true, "\(after)")
    }
}
