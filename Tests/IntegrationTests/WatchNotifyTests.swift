import Foundation
import NIOCore
import RADOSProto
import Testing

extension LiveMapSuite {
    /// Watch/notify between our client and Ceph's `rados watch` / `rados notify`, both
    /// ways, and between two of our clients (acks with replies, a notify nobody answers).
    /// `rados listwatchers` judges what the OSD registered at each step. In the
    /// serialized live-map suite because `rados notify` gives up after 10 s, which an OSD
    /// marked down by the resend test could make it reach.
    @Suite(.requiresCluster, .serialized)
    struct WatchNotifyTests {
        /// `rados notify` sends its message as an encoded string (u32 length, bytes).
        static func radosPayload(_ text: String) -> [UInt8] {
            withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian, Array.init) + Array(text.utf8)
        }

        typealias RadosWatcher = ClusterEnvironment.RadosWatcher

        /// `rados listwatchers` for `object`, run off Swift's cooperative threads so our
        /// watches can answer meanwhile.
        static func radosWatchers(_ object: String, namespace: String = "") async throws -> [RadosWatcher] {
            try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.watchers(object, namespace: namespace) }
        }

        @Test func ourWatchReceivesRadosNotifyAndItGetsOurReply() async throws {
            let client = try await RADOSClientTests.client()
            let io = try await client.ioContext(pool: "rbd")
            let name = "watch-\(UInt32.random(in: 0...UInt32.max))"
            defer { Task { try? await io.remove(name); await client.shutdown() } }
            try await io.create(name, exclusive: true)
            let watch = try await io.watch(name)
            let conf = try #require(ClusterEnvironment.cephConf)
            // rados and rbdctl list the same watcher: us.
            let listed = try await io.watchers(name)
            #expect(listed.map(\.gid) == [client.instanceID] && listed.map(\.cookie) == [watch.cookie])
            let theirs = String(decoding: try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.ceph("rados", ["-p", "rbd", "listwatchers", name]) }, as: UTF8.self)
            let ours = try await ClusterEnvironment.offThreadPool {
                try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "rados", "-c", conf, "-p", "rbd", "listwatchers", name])
            }
            #expect(ours.status == 0 && String(decoding: ours.stdout, as: UTF8.self) == theirs)
            #expect(theirs == "watcher=\(listed.first?.address ?? "?") client.\(client.instanceID) cookie=\(watch.cookie)\n")
            // Our watch answers the first notification and hands it back.
            let answered = ManagedFlag()
            let responder = Task { () throws -> WatchNotification? in
                for try await note in watch.notifications {
                    try await watch.acknowledge(note, reply: ByteBuffer(string: "pong"))
                    answered.set()
                    return note
                }
                return nil
            }
            // rados notify blocks until every watcher acknowledged (or its own 10 s
            // timeout): it runs on a Dispatch thread, not on this task's.
            let notifier = Task {
                try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.run(["rados", "-c", conf, "-p", "rbd", "notify", name, "ping-from-rados"]) }
            }
            let result = try await notifier.value
            // rados returned: our ack went out, or it gave up. Either way the responder
            // has had its chance; a notification that never came ends it.
            if !(try await pollUntil(seconds: 60) { answered.isSet }) { responder.cancel() }
            let note = try #require(try await responder.value, "our watch never received rados's notify; rados said: \(result.stderr)")
            #expect(Array(note.payload.readableBytesView) == Self.radosPayload("ping-from-rados"))
            #expect(note.cookie == watch.cookie && note.notifierGID != 0)
            let output = String(decoding: result.stdout, as: UTF8.self)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(output.hasPrefix("reply client.\(client.instanceID) cookie \(watch.cookie) : 4 bytes\n"))
            #expect(output.contains("|pong|"))
            try await watch.cancel()
            #expect(try await Self.radosWatchers(name).isEmpty, "rados still lists the cancelled watch")
        }

        @Test func radosWatchReceivesOurNotifyAndEchoesIt() async throws {
            let client = try await RADOSClientTests.client()
            let io = try await client.ioContext(pool: "rbd")
            let name = "watched-\(UInt32.random(in: 0...UInt32.max))"
            defer { Task { try? await io.remove(name); await client.shutdown() } }
            try await io.create(name, exclusive: true)
            let conf = try #require(ClusterEnvironment.cephConf)
            // `rados watch` runs until its standard input ends.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["rados", "-c", conf, "-p", "rbd", "watch", name]
            let input = Pipe(), output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer { if process.isRunning { process.terminate() } }
            // Wait until its watch is registered.
            var watchers: [RadosWatcher] = []
            let registered = try await pollUntil(every: .milliseconds(200)) {
                watchers = try await Self.radosWatchers(name)
                return !watchers.isEmpty
            }
            try #require(registered && watchers.count == 1, "rados watch did not register within 60 s: \(watchers)")
            let payload = ByteBuffer(string: "hello watchers")
            let result = try await io.notify(name, payload: payload, timeout: 30)
            #expect(result.timedOut.isEmpty)
            // The one ack is from the watch Ceph lists: rados watch's.
            #expect(result.acks.map(\.gid) == watchers.map(\.gid) && result.acks.map(\.cookie) == watchers.map(\.cookie), "acks \(result.acks.map { "client.\($0.gid) cookie=\($0.cookie)" }), listed \(watchers)")
            // rados watch acknowledges with what it received.
            #expect(result.acks.first.map { Array($0.reply.readableBytesView) } == Array(payload.readableBytesView))
            try input.fileHandleForWriting.write(contentsOf: Data("\n".utf8))
            try input.fileHandleForWriting.close()
            // Its output ends when it exits (read off this task's thread).
            let printed = String(decoding: try await ClusterEnvironment.offThreadPool { output.fileHandleForReading.readDataToEndOfFile() }, as: UTF8.self)
            #expect(printed.contains("from \(client.instanceID)"))
            #expect(printed.contains("|hello watchers|"))
            #expect(try await Self.radosWatchers(name).isEmpty, "rados watch left its watch behind")
        }

        @Test func notifyBetweenOurClientsWithAckReplyAndTimeout() async throws {
            let watcherClient = try await RADOSClientTests.client()
            let notifierClient = try await RADOSClientTests.client()
            let name = "watch-ours-\(UInt32.random(in: 0...UInt32.max))"
            let namespace = "watch-ns"
            let io = try await watcherClient.ioContext(pool: "rbd", namespace: namespace)
            let notifierIO = try await notifierClient.ioContext(pool: "rbd", namespace: namespace)
            defer { Task { try? await io.remove(name); await watcherClient.shutdown(); await notifierClient.shutdown() } }
            do {
                _ = try await io.watch(name)
                Issue.record("a watch on a missing object was accepted")
            } catch {
                #expect(error.code == .notFound)
            }
            try await io.create(name, exclusive: true)
            let answering = try await io.watch(name)
            let silent = try await io.watch(name)
            // Ceph lists both watches, under the watcher's id.
            let both = try await Self.radosWatchers(name, namespace: namespace)
            #expect(both.count == 2 && both.allSatisfy { $0.gid == watcherClient.instanceID } && Set(both.map(\.cookie)) == [answering.cookie, silent.cookie], "\(both)")
            let responder = Task {
                for try await note in answering.notifications {
                    try await answering.acknowledge(note, reply: ByteBuffer(string: "ack:" + String(buffer: note.payload)))
                }
            }
            defer { responder.cancel() }
            // The silent watch never acknowledges: the notify times out for it only. The
            // timeout is what the answering watch has to ack in, so it is generous (a
            // loaded machine can hold its task back for seconds), and this notify lasts it.
            let result = try await notifierIO.notify(name, payload: ByteBuffer(string: "one"), timeout: 30)
            #expect(result.acks.count == 1)
            #expect(result.acks.first.map { String(buffer: $0.reply) } == "ack:one")
            #expect(result.acks.first?.gid == watcherClient.instanceID && result.acks.first?.cookie == answering.cookie)
            #expect(result.timedOut.count == 1 && result.timedOut.first?.cookie == silent.cookie)
            try await silent.cancel()
            #expect(try await Self.radosWatchers(name, namespace: namespace).map(\.cookie) == [answering.cookie])
            let second = try await notifierIO.notify(name, payload: ByteBuffer(string: "two"), timeout: 30)
            #expect(second.timedOut.isEmpty && second.acks.map { String(buffer: $0.reply) } == ["ack:two"])
            try await answering.cancel()
            #expect(try await Self.radosWatchers(name, namespace: namespace).isEmpty)
            let none = try await notifierIO.notify(name, payload: ByteBuffer(string: "three"), timeout: 30)
            #expect(none.acks.isEmpty && none.timedOut.isEmpty)
        }
    }
}
