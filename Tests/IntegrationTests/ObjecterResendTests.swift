import Foundation
import NIOCore
@testable import RADOSProto
import Testing

extension LiveMapSuite {
    /// Requests survive map changes: with appends running, an OSD is marked out, in,
    /// and down (it marks itself up again); afterwards every object holds each append
    /// exactly once, in order (a resend that the OSD had already applied is recognised by
    /// its request id, one that never arrived is sent again), and a watch registered
    /// before still receives notifies. The cluster is left active+clean.
    @Suite(.enabled(if: ClusterEnvironment.hasCluster, Comment(rawValue: ClusterEnvironment.skipMessage)), .serialized)
    struct ObjecterResendTests {
        static func osdUp(_ id: Int) -> Bool {
            guard let data = try? ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"]),
                  let dump = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let osds = dump["osds"] as? [[String: Any]] else { return false }
            return osds.first { $0["osd"] as? Int == id }?["up"] as? Int == 1
        }

        @Test func everyOpCompletesOnceThroughOutInAndDown() async throws {
            let client = try await RADOSClientTests.client()
            let notifier = try await RADOSClientTests.client()
            defer { Task { await client.shutdown(); await notifier.shutdown() } }
            let io = try await client.ioContext(pool: "rbd", namespace: "resend-\(UInt32.random(in: 0...UInt32.max))")
            let watched = "watched"
            try await io.create(watched, exclusive: true)
            let watch = try await io.watch(watched)
            let responderEnd = ManagedText()
            let responder = Task {
                do {
                    for try await note in watch.notifications { try await watch.acknowledge(note, reply: note.payload) }
                    responderEnd.set("the notifications ended")
                } catch {
                    responderEnd.set("the watch failed: \(error)")
                }
            }
            defer { responder.cancel() }

            let writers = 8
            let done = ManagedFlag()
            let workload = (0..<writers).map { writer in
                Task { () throws -> Int in
                    var count = 0
                    while !done.isSet || count < 5 {
                        try await io.append("log-\(writer)", ByteBuffer(string: "\(writer):\(count);"))
                        count += 1
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    return count
                }
            }
            defer {
                _ = try? ClusterEnvironment.ceph("ceph", ["osd", "in", "1"])
                IncrementalMapTests.waitForActiveClean()
            }
            try await Task.sleep(for: .seconds(1))
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "out", "1"])
            try await Task.sleep(for: .seconds(2))
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "in", "1"])
            try await Task.sleep(for: .seconds(2))
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "down", "0"])
            for _ in 0..<120 {
                try await Task.sleep(for: .milliseconds(500))
                if Self.osdUp(0) { break }
            }
            #expect(Self.osdUp(0))
            IncrementalMapTests.waitForActiveClean()
            try await Task.sleep(for: .seconds(1))
            done.set()

            var counts: [Int] = []
            for task in workload { counts.append(try await task.value) }
            #expect(counts.allSatisfy { $0 >= 5 })
            for writer in 0..<writers {
                let expected = (0..<counts[writer]).map { "\(writer):\($0);" }.joined()
                let stored = String(buffer: try await io.read("log-\(writer)", length: 1 << 20))
                #expect(stored == expected, "log-\(writer): \(counts[writer]) appends")
                // Ceph's own tool reads the same bytes.
                let viaRados = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "-N", io.namespace, "get", "log-\(writer)", "-"]), as: UTF8.self)
                #expect(viaRados == expected)
            }
            // The disruptions did make requests go again, and the watch re-register.
            let statistics = await client.objecter.statistics
            #expect(statistics.resends > 0)
            #expect(statistics.watchReconnects > 0)
            // The watch was carried through the map changes, or, as librados does when the
            // OSD timed it out while it was disconnected (a slow, loaded machine), it was
            // reported lost with ENOTCONN, and the owner watches again (librbd re-watches
            // the same way). What must never happen is a watch that silently stops.
            var current = watch
            var rewatch: Task<Void, any Error>?
            if let ended = responderEnd.text {
                #expect(ended.contains("Transport endpoint is not connected"), "the watch ended otherwise: \(ended)")
                current = try await io.watch(watched)
                let again = current
                rewatch = Task { for try await note in again.notifications { try await again.acknowledge(note, reply: note.payload) } }
            }
            defer { rewatch?.cancel() }
            let notifierIO = try await notifier.ioContext(pool: "rbd", namespace: io.namespace)
            // A generous timeout: on a loaded 2-core machine the watcher's task can be held
            // back for seconds before it acks.
            let result = try await notifierIO.notify(watched, payload: ByteBuffer(string: "still there?"), timeout: 30)
            #expect(result.acks.count == 1 && result.timedOut.isEmpty, "acks \(result.acks.count), timed out \(result.timedOut.count); responder: \(responderEnd.text ?? "still running")")
            #expect(result.acks.first.map { String(buffer: $0.reply) } == "still there?")
            try await current.cancel()
            for writer in 0..<writers { try await io.remove("log-\(writer)") }
            try await io.remove(watched)
        }

        /// A notify whose watcher is still working on it when the object's PG starts a new
        /// interval (a replica is marked out; the primary stays): the primary drops its
        /// watches and the pending notify with them. The watcher registers again, the
        /// notifier sends the notify again, and the answer is the watcher's ack to the
        /// second run, as with librados, not a timeout.
        @Test func aNotifyPendingAcrossANewIntervalIsAcknowledged() async throws {
            let client = try await RADOSClientTests.client()
            let notifier = try await RADOSClientTests.client()
            defer { Task { await client.shutdown(); await notifier.shutdown() } }
            let namespace = "interval-\(UInt32.random(in: 0...UInt32.max))"
            let io = try await client.ioContext(pool: "rbd", namespace: namespace)
            let notifierIO = try await notifier.ioContext(pool: "rbd", namespace: namespace)
            try await io.create("pending", exclusive: true)
            let watch = try await io.watch("pending")
            let received = ManagedFlag()
            let responder = Task {
                for try await note in watch.notifications {
                    let first = !received.isSet
                    received.set()
                    Task {
                        // Still working on the first when the interval changes.
                        if first { try await Task.sleep(for: .seconds(3)) }
                        try await watch.acknowledge(note, reply: ByteBuffer(string: "done"))
                    }
                }
            }
            defer { responder.cancel() }
            let mapping = try #require(await client.objecter.objectMapping(pool: io.poolID, namespace: namespace, object: "pending"))
            let replica = try #require(mapping.mapping.acting.first { $0 != mapping.mapping.actingPrimary && $0 >= 0 })
            defer {
                _ = try? ClusterEnvironment.ceph("ceph", ["osd", "in", "\(replica)"])
                IncrementalMapTests.waitForActiveClean()
            }
            let reconnectsBefore = await client.objecter.statistics.watchReconnects
            let notify = Task { try await notifierIO.notify("pending", payload: ByteBuffer(string: "busy?"), timeout: 10) }
            for _ in 0..<100 where !received.isSet { try await Task.sleep(for: .milliseconds(50)) }
            #expect(received.isSet)
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "out", "\(replica)"])
            let result = try await notify.value
            #expect(result.acks.count == 1 && result.timedOut.isEmpty, "acks \(result.acks.count), timed out \(result.timedOut.count)")
            #expect(result.acks.first.map { String(buffer: $0.reply) } == "done")
            #expect(await client.objecter.statistics.watchReconnects > reconnectsBefore)
            try await watch.cancel()
            try await io.remove("pending")
        }

        static func waitForEpoch(_ client: RADOSClient, _ epoch: UInt32) async throws {
            for _ in 0..<200 {
                if await client.osdmapEpoch >= epoch { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the client never reached epoch \(epoch)")
        }

        /// `ceph osd pause` holds requests in the client until `unpause`; with
        /// `rados_osd_op_timeout` a held request fails with ETIMEDOUT and is never sent.
        @Test func pausedRequestsWaitAndTheOpTimeoutEndsThem() async throws {
            let conf = try #require(ClusterEnvironment.cephConf)
            let patient = try await RADOSClientTests.client()
            let impatient = try await RADOSClient.connect(try RADOSConfiguration.load(
                configFile: conf, arguments: ["--rados_osd_op_timeout", "2"], environment: [:], searchDefaultPaths: false))
            defer { Task { await patient.shutdown(); await impatient.shutdown() } }
            let namespace = "pause-\(UInt32.random(in: 0...UInt32.max))"
            let io = try await patient.ioContext(pool: "rbd", namespace: namespace)
            let hurried = try await impatient.ioContext(pool: "rbd", namespace: namespace)
            try await io.writeFull("held", ByteBuffer(string: "before"))
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "pause"])
            var unpaused = false
            defer { if !unpaused { _ = try? ClusterEnvironment.ceph("ceph", ["osd", "unpause"]) } }
            let pausedEpoch = try IncrementalMapTests.cliEpoch()
            try await Self.waitForEpoch(patient, pausedEpoch)
            try await Self.waitForEpoch(impatient, pausedEpoch)

            let finished = ManagedFlag()
            let pending = Task {
                try await io.writeFull("held", ByteBuffer(string: "after"))
                finished.set()
            }
            do {
                try await hurried.writeFull("never", ByteBuffer(string: "x"))
                Issue.record("a write went through a paused cluster")
            } catch {
                #expect(error.code == .timedOut && error.errno == 110)
            }
            #expect(!finished.isSet)
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "unpause"])
            unpaused = true
            try await pending.value
            #expect(finished.isSet)
            #expect(String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "-N", namespace, "get", "held", "-"]), as: UTF8.self) == "after")
            // The timed-out write was never sent.
            #expect(try ClusterEnvironment.run(["rados", "-c", conf, "-p", "rbd", "-N", namespace, "stat", "never"]).status != 0)
            try await io.remove("held")
        }
    }
}

/// A flag set once, read from many tasks.
/// A text set once from another task (what ended a responder loop).
final class ManagedText: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    var text: String? { lock.withLock { value } }
    func set(_ text: String) { lock.withLock { value = text } }
}

final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
