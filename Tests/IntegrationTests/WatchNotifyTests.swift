import Foundation
import NIOCore
import RADOSProto
import Testing

extension LiveMapSuite {
    /// Watch/notify between our client and Ceph's `rados watch` / `rados notify`, both
    /// ways, and between two of our clients (acks with replies, a notify nobody answers).
    /// In the serialized live-map suite because `rados notify` gives up after 10 s, which
    /// an OSD marked down by the resend test could make it reach.
    @Suite(.enabled(if: ClusterEnvironment.hasCluster, Comment(rawValue: ClusterEnvironment.skipMessage)), .serialized)
    struct WatchNotifyTests {
        /// `rados notify` sends its message as an encoded string (u32 length, bytes).
        static func radosPayload(_ text: String) -> [UInt8] {
            withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian, Array.init) + Array(text.utf8)
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
            let theirs = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "listwatchers", name]), as: UTF8.self)
            let ours = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "rados", "-c", conf, "-p", "rbd", "listwatchers", name])
            #expect(ours.status == 0 && String(decoding: ours.stdout, as: UTF8.self) == theirs)
            #expect(theirs == "watcher=\(listed.first?.address ?? "?") client.\(client.instanceID) cookie=\(watch.cookie)\n")
            // rados notify blocks until every watcher acknowledged: run it off this task.
            let notifier = Task.detached { try ClusterEnvironment.run(["rados", "-c", conf, "-p", "rbd", "notify", name, "ping-from-rados"]) }
            var iterator = watch.notifications.makeAsyncIterator()
            let note = try #require(try await iterator.next())
            #expect(Array(note.payload.readableBytesView) == Self.radosPayload("ping-from-rados"))
            #expect(note.cookie == watch.cookie && note.notifierGID != 0)
            try await watch.acknowledge(note, reply: ByteBuffer(string: "pong"))
            let result = try await notifier.value
            let output = String(decoding: result.stdout, as: UTF8.self)
            #expect(result.status == 0)
            #expect(output.hasPrefix("reply client.\(client.instanceID) cookie \(watch.cookie) : 4 bytes\n"))
            #expect(output.contains("|pong|"))
            try await watch.cancel()
            #expect(try ClusterEnvironment.ceph("rados", ["-p", "rbd", "listwatchers", name]).isEmpty)
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
            var watchers = ""
            for _ in 0..<100 where watchers.isEmpty {
                watchers = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "listwatchers", name]), as: UTF8.self)
                if watchers.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(watchers.contains("watcher="))
            let payload = ByteBuffer(string: "hello watchers")
            let result = try await io.notify(name, payload: payload, timeout: 10)
            #expect(result.timedOut.isEmpty)
            #expect(result.acks.count == 1)
            // rados watch acknowledges with what it received.
            #expect(result.acks.first.map { Array($0.reply.readableBytesView) } == Array(payload.readableBytesView))
            try input.fileHandleForWriting.write(contentsOf: Data("\n".utf8))
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(printed.contains("from \(client.instanceID)"))
            #expect(printed.contains("|hello watchers|"))
        }

        @Test func notifyBetweenOurClientsWithAckReplyAndTimeout() async throws {
            let watcherClient = try await RADOSClientTests.client()
            let notifierClient = try await RADOSClientTests.client()
            let name = "watch-ours-\(UInt32.random(in: 0...UInt32.max))"
            let io = try await watcherClient.ioContext(pool: "rbd", namespace: "watch-ns")
            let notifierIO = try await notifierClient.ioContext(pool: "rbd", namespace: "watch-ns")
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
            let responder = Task {
                for try await note in answering.notifications {
                    try await answering.acknowledge(note, reply: ByteBuffer(string: "ack:" + String(buffer: note.payload)))
                }
            }
            defer { responder.cancel() }
            // The silent watch never acknowledges: the notify times out for it only.
            let result = try await notifierIO.notify(name, payload: ByteBuffer(string: "one"), timeout: 2)
            #expect(result.acks.count == 1)
            #expect(result.acks.first.map { String(buffer: $0.reply) } == "ack:one")
            #expect(result.acks.first?.gid == watcherClient.instanceID && result.acks.first?.cookie == answering.cookie)
            #expect(result.timedOut.count == 1 && result.timedOut.first?.cookie == silent.cookie)
            try await silent.cancel()
            let second = try await notifierIO.notify(name, payload: ByteBuffer(string: "two"), timeout: 5)
            #expect(second.timedOut.isEmpty && second.acks.map { String(buffer: $0.reply) } == ["ack:two"])
            try await answering.cancel()
            let none = try await notifierIO.notify(name, payload: ByteBuffer(string: "three"), timeout: 5)
            #expect(none.acks.isEmpty && none.timedOut.isEmpty)
        }
    }
}
