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
    ///
    /// Nothing here waits for a fixed time: each step waits for what it needs to have
    /// happened (our client at the CLI's epoch, appends going on, a counter moving, an
    /// OSD up), with deadlines that only bound a hang.
    @Suite(.requiresCluster, .serialized)
    struct ObjecterResendTests {
        /// A Ceph CLI against the cluster, run off Swift's cooperative threads (our
        /// clients' watches must be able to answer while it runs).
        static func cli(_ tool: String, _ arguments: [String]) async throws -> Data {
            try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.ceph(tool, arguments) }
        }

        static func cliEpoch() async throws -> UInt32 {
            let dump = try JSONSerialization.jsonObject(with: try await cli("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any]
            return UInt32(try #require(dump?["epoch"] as? Int))
        }

        /// Runs a `ceph osd …` command that changes the map; the epoch it produced.
        static func mapChange(_ arguments: [String]) async throws -> UInt32 {
            _ = try await cli("ceph", arguments)
            return try await cliEpoch()
        }

        static func osdUp(_ id: Int) async throws -> Bool {
            let dump = try JSONSerialization.jsonObject(with: try await cli("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any]
            let osds = try #require(dump?["osds"] as? [[String: Any]])
            return osds.first { $0["osd"] as? Int == id }?["up"] as? Int == 1
        }

        /// Whether `ceph pg stat` says every PG is active+clean.
        static func activeClean() async throws -> Bool {
            let text = String(decoding: try await cli("ceph", ["pg", "stat"]), as: UTF8.self)
            guard let match = text.firstMatch(of: /^(\d+) pgs: (\d+) active\+clean;/) else { return false }
            return match.1 == match.2
        }

        /// Waits until `client` has the map of `epoch` (or a newer one).
        static func waitForEpoch(_ client: RADOSClient, _ epoch: UInt32, _ who: String = "the client") async throws {
            let reached = try await pollUntil { await client.osdmapEpoch >= epoch }
            let have = await client.osdmapEpoch
            try #require(reached, "\(who) did not reach osdmap epoch \(epoch) within 60 s (it has \(have))")
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
            let appended = ManagedCounter()
            let workload = (0..<writers).map { writer in
                Task { () throws -> Int in
                    var count = 0
                    while !done.isSet || count < 5 {
                        try await io.append("log-\(writer)", ByteBuffer(string: "\(writer):\(count);"))
                        count += 1
                        appended.increment()
                        try await Task.sleep(for: .milliseconds(20))  // pacing only
                    }
                    return count
                }
            }
            defer {
                _ = try? ClusterEnvironment.ceph("ceph", ["osd", "in", "1"])
                IncrementalMapTests.waitForActiveClean()
            }
            /// The appends go on (two more per writer on average) under the map in force.
            func appendsGoOn(_ when: String) async throws {
                let from = appended.value
                let went = try await pollUntil(seconds: 120) { appended.value >= from + 2 * writers }
                try #require(went, "the appends stalled \(when) (\(appended.value - from) in 120 s)")
            }

            try await appendsGoOn("before any map change")
            try await Self.waitForEpoch(client, try await Self.mapChange(["osd", "out", "1"]))
            try await appendsGoOn("after osd.1 was marked out")
            try await Self.waitForEpoch(client, try await Self.mapChange(["osd", "in", "1"]))
            try await appendsGoOn("after osd.1 was marked in")
            try await Self.waitForEpoch(client, try await Self.mapChange(["osd", "down", "0"]))
            // osd.0 is still running: it sees itself marked down and boots again.
            let up = try await pollUntil(seconds: 120, every: .milliseconds(500)) { try await Self.osdUp(0) }
            try #require(up, "osd.0 did not mark itself up again within 120 s")
            let clean = try await pollUntil(seconds: 180, every: .milliseconds(500)) { try await Self.activeClean() }
            try #require(clean, "the PGs were not active+clean within 180 s of osd.0 coming back")
            try await Self.waitForEpoch(client, try await Self.cliEpoch())
            try await appendsGoOn("once the cluster was active+clean again")
            done.set()

            var counts: [Int] = []
            for task in workload { counts.append(try await task.value) }
            #expect(counts.allSatisfy { $0 >= 5 })
            for writer in 0..<writers {
                let expected = (0..<counts[writer]).map { "\(writer):\($0);" }.joined()
                let stored = String(buffer: try await io.read("log-\(writer)", length: 1 << 20))
                #expect(stored == expected, "log-\(writer): \(counts[writer]) appends")
                // Ceph's own tool reads the same bytes.
                let viaRados = String(decoding: try await Self.cli("rados", ["-p", "rbd", "-N", io.namespace, "get", "log-\(writer)", "-"]), as: UTF8.self)
                #expect(viaRados == expected)
            }
            // The watch's re-registrations are answered (or one was refused and the watch
            // reported lost) before the notify below: it must not race a reconnect.
            let settled = try await pollUntil(seconds: 120) {
                if responderEnd.text != nil { return true }
                return await client.objecter.statistics.watchReconnectsInFlight == 0
            }
            #expect(settled, "a re-registration of the watch was not answered within 120 s")
            // The disruptions did make requests go again, and the watch re-register.
            let statistics = await client.objecter.statistics
            #expect(statistics.resends > 0)
            #expect(statistics.watchReconnects > 0)
            // The watch was carried through the map changes, or, as librados does when the
            // OSD timed it out while it was disconnected (a slow, loaded machine), it was
            // reported lost with ENOTCONN, and the owner watches again (librbd re-watches
            // the same way). What must never happen is a watch that silently stops, or one
            // the client gave up on by itself.
            var current = watch
            var rewatch: Task<Void, any Error>?
            if let ended = responderEnd.text {
                #expect(ended.contains("Transport endpoint is not connected"), "the watch ended otherwise: \(ended)")
                // The OSD refused a re-registration (the client sent them: it did not give up
                // on a failed attempt of its own), and Ceph agrees the old watch is gone.
                #expect(statistics.watchesLost == 1 && statistics.watchesLostUnanswered == 0, "lost without the OSD saying so: \(statistics)")
                let listed = try await WatchNotifyTests.radosWatchers(watched, namespace: io.namespace)
                #expect(!listed.contains { $0.cookie == watch.cookie }, "rados still lists the watch reported lost: \(listed)")
                current = try await io.watch(watched)
                let again = current
                rewatch = Task { for try await note in again.notifications { try await again.acknowledge(note, reply: note.payload) } }
            } else {
                #expect(statistics.watchesLost == 0, "\(statistics)")
            }
            defer { rewatch?.cancel() }
            let notifierIO = try await notifier.ioContext(pool: "rbd", namespace: io.namespace)
            // A generous timeout: on a loaded 2-core machine the watcher's task can be held
            // back for seconds before it acks.
            let result = try await notifierIO.notify(watched, payload: ByteBuffer(string: "still there?"), timeout: 30)
            #expect(result.acks.count == 1 && result.timedOut.isEmpty, "acks \(result.acks.count), timed out \(result.timedOut.count); responder: \(responderEnd.text ?? "still running")")
            #expect(result.acks.first.map { String(buffer: $0.reply) } == "still there?")
            // The ack came from the watch in force (the re-watch, if the first was lost),
            // and Ceph lists exactly that watch.
            #expect(result.acks.first?.gid == client.instanceID && result.acks.first?.cookie == current.cookie)
            let listed = try await WatchNotifyTests.radosWatchers(watched, namespace: io.namespace)
            #expect(listed.map(\.gid) == [client.instanceID] && listed.map(\.cookie) == [current.cookie], "\(listed)")
            try await current.cancel()
            #expect(try await WatchNotifyTests.radosWatchers(watched, namespace: io.namespace).isEmpty)
            for writer in 0..<writers { try await io.remove("log-\(writer)") }
            try await io.remove(watched)
        }

        /// A notify whose watcher is still working on it when the object's PG starts a new
        /// interval (a replica is marked out; the primary stays): the primary drops its
        /// watches and the pending notify with them. The watcher registers again, the
        /// notifier sends the notify again, and the answer is the watcher's ack to the
        /// second run, as with librados, not a timeout.
        ///
        /// The watcher holds its ack to the first run until the notifier has sent the
        /// notify again under the new map (however long the map change takes to arrive),
        /// so the resend path is always the one exercised.
        @Test func aNotifyPendingAcrossANewIntervalIsAcknowledged() async throws {
            let client = try await RADOSClientTests.client()
            let notifier = try await RADOSClientTests.client()
            defer { Task { await client.shutdown(); await notifier.shutdown() } }
            let namespace = "interval-\(UInt32.random(in: 0...UInt32.max))"
            let io = try await client.ioContext(pool: "rbd", namespace: namespace)
            let notifierIO = try await notifier.ioContext(pool: "rbd", namespace: namespace)
            try await io.create("pending", exclusive: true)
            let watch = try await io.watch("pending")
            let received = ManagedCounter()
            let release = ManagedFlag()
            let responder = Task {
                for try await note in watch.notifications {
                    let run = received.increment()
                    Task {
                        // Still working on the first when the interval changes.
                        if run == 1 { _ = try await pollUntil(seconds: 120) { release.isSet } }
                        try await watch.acknowledge(note, reply: ByteBuffer(string: "ack \(run)"))
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
            let resendsBefore = await notifier.objecter.statistics.notifyResends
            let notify = Task { try await notifierIO.notify("pending", payload: ByteBuffer(string: "busy?"), timeout: 30) }
            let delivered = try await pollUntil { received.value >= 1 }
            try #require(delivered, "the watch did not receive the notify within 60 s")
            let epoch = try await Self.mapChange(["osd", "out", "\(replica)"])
            try await Self.waitForEpoch(client, epoch, "the watcher")
            try await Self.waitForEpoch(notifier, epoch, "the notifier")
            let resent = try await pollUntil { await notifier.objecter.statistics.notifyResends > resendsBefore }
            release.set()
            #expect(resent, "the notifier did not send the notify again after the new interval (epoch \(epoch))")
            let result = try await notify.value
            #expect(result.acks.count == 1 && result.timedOut.isEmpty, "acks \(result.acks.count), timed out \(result.timedOut.count)")
            // The answer is the ack to a later run: the first run's (held until after the
            // resend) does not count.
            let reply = result.acks.first.map { String(buffer: $0.reply) }
            #expect(reply != nil && reply != "ack 1", "the result carries \(reply ?? "no ack"); runs delivered: \(received.value)")
            #expect(received.value >= 2, "the resent notify never reached the watch")
            #expect(result.acks.first?.cookie == watch.cookie)
            // The watch re-registered, and Ceph lists it.
            #expect(await client.objecter.statistics.watchReconnects > reconnectsBefore)
            let listed = try await WatchNotifyTests.radosWatchers("pending", namespace: namespace)
            #expect(listed.map(\.gid) == [client.instanceID] && listed.map(\.cookie) == [watch.cookie], "\(listed)")
            try await watch.cancel()
            try await io.remove("pending")
        }

        /// An image's lock owner stays the owner through map changes: our client holds
        /// the exclusive lock of a default-feature image while osd.1 is marked out, then
        /// in, and osd.0 down (it marks itself up again); right after each change (PGs
        /// peering, watches re-registering) `rbd snap create` asks us, the owner, for a
        /// snapshot. librbd breaks the lock of an owner whose watch it cannot find, so
        /// each snapshot must be taken by us, the lock must stay ours with the same cookie,
        /// and our writes must go on; afterwards every snapshot and the head hold what was
        /// written before them, as `rbd export` reads them.
        @Test func anImagesLockOwnerStaysTheOwnerThroughMapChanges() async throws {
            try await ImageExclusiveLockTests.ours("maps") { spec, image, client in
                var model = [UInt8](repeating: 0, count: 16 << 20)
                try await image.write(offset: 0, data: ByteBuffer(repeating: 0x51, count: 4096))
                ImageExclusiveLockTests.fill(&model, 0, 0x51, 4096)
                #expect(image.ownsExclusiveLock)
                let holder = try await ClusterEnvironment.offThreadPool { try ImageExclusiveLockTests.lockers(spec).map { $0["id"] as? String } }
                defer {
                    _ = try? ClusterEnvironment.ceph("ceph", ["osd", "in", "1"])
                    IncrementalMapTests.waitForActiveClean()
                }
                var atSnapshots: [[UInt8]] = []
                for (index, change) in [["osd", "out", "1"], ["osd", "in", "1"], ["osd", "down", "0"]].enumerated() {
                    try await Self.waitForEpoch(client, try await Self.mapChange(change))
                    _ = try await ClusterEnvironment.offThreadPool { try ImageExclusiveLockTests.rbd(["snap", "create", "--no-progress", "\(spec)@m\(index)"]) }
                    atSnapshots.append(model)
                    let lockers = try await ClusterEnvironment.offThreadPool { try ImageExclusiveLockTests.lockers(spec).map { $0["id"] as? String } }
                    #expect(lockers == holder, "after \(change.joined(separator: " ")): the lock is \(lockers), was \(holder)")
                    #expect(image.ownsExclusiveLock, "after \(change.joined(separator: " "))")
                    let offset = (index + 1) << 20
                    try await image.write(offset: UInt64(offset), data: ByteBuffer(repeating: UInt8(0x60 + index), count: 4096))
                    ImageExclusiveLockTests.fill(&model, offset, UInt8(0x60 + index), 4096)
                }
                let up = try await pollUntil(seconds: 120, every: .milliseconds(500)) { try await Self.osdUp(0) }
                try #require(up, "osd.0 did not mark itself up again within 120 s")
                try await image.close()
                for (index, expected) in atSnapshots.enumerated() {
                    let exported = try await ClusterEnvironment.offThreadPool { try ImageExclusiveLockTests.export("\(spec)@m\(index)") }
                    #expect(ImageIOInteropTests.firstDifference(exported, expected) == nil, "snapshot m\(index)")
                }
                let head = try await ClusterEnvironment.offThreadPool { try ImageExclusiveLockTests.export(spec) }
                #expect(ImageIOInteropTests.firstDifference(head, model) == nil)
                let statistics = await client.objecter.statistics
                #expect(statistics.watchesLost == 0, "our header watch was lost across the map changes: \(statistics)")
            }
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
            var unpaused = false
            defer { if !unpaused { _ = try? ClusterEnvironment.ceph("ceph", ["osd", "unpause"]) } }
            let pausedEpoch = try await Self.mapChange(["osd", "pause"])
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
            // The patient write was submitted and is held, not merely not started yet.
            let submitted = try await pollUntil { await patient.objecter.pendingCount >= 1 }
            #expect(submitted, "the write to hold was never submitted")
            #expect(!finished.isSet)
            _ = try await Self.cli("ceph", ["osd", "unpause"])
            unpaused = true
            try await pending.value
            #expect(finished.isSet)
            #expect(String(decoding: try await Self.cli("rados", ["-p", "rbd", "-N", namespace, "get", "held", "-"]), as: UTF8.self) == "after")
            // The timed-out write was never sent.
            let stat = try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.run(["rados", "-c", conf, "-p", "rbd", "-N", namespace, "stat", "never"]) }
            #expect(stat.status != 0)
            try await io.remove("held")
        }
    }
}

/// Waits for something a test can observe instead of for a fixed time: polls
/// `condition` every `interval` until it holds (true) or `seconds` have passed (false).
/// The deadline only bounds a hang: on a loaded 2-core machine an event may take many
/// times longer than usual, and the test must still see it.
func pollUntil(seconds: Double = 60, every interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: interval)
    }
}

/// A text set once from another task (what ended a responder loop).
final class ManagedText: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    var text: String? { lock.withLock { value } }
    func set(_ text: String) { lock.withLock { value = text } }
}

/// A flag set once, read from many tasks.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// A counter bumped from many tasks.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    /// The count after this increment.
    @discardableResult func increment() -> Int { lock.withLock { count += 1; return count } }
}
