import CheckedBlocks
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import RADOSProto
@testable import RBDCore

/// Nothing acknowledged is lost, whatever fails underneath: a checksummed write/verify
/// workload runs on an image of a size-2 pool of bluestore OSDs (memstore loses
/// everything on kill -9) while a thread of its own kills -9 and restarts OSDs, marks
/// them out and in, kills and restarts the monitor, and resets the client's TCP
/// connections (`ss -K`). Afterwards every acknowledged block is read back intact by us
/// and by Ceph's `rbd export`. Ceph's thrash tests are the model.
///
/// The run lasts SWIFTRBD_FAULT_SECONDS (default 60) of workload; longer runs are for
/// soak testing (Docs/RELIABILITY.md has the numbers).
@Suite(.serialized, .requiresTools("ceph-mon", "ceph-osd", "ceph-mgr", "ss"))
struct FaultInjectionTests {
    static let blockSize = CheckedBlocks.blockSize
    static let imageSize: UInt64 = 32 << 20
    static var blocks: Int { Int(imageSize) / blockSize }
    static let writers = 4

    static func block(_ index: Int, generation: UInt64) -> [UInt8] { CheckedBlocks.block(UInt64(index), generation: generation) }
    static func describe(_ bytes: ArraySlice<UInt8>) -> String { CheckedBlocks.read(bytes).description }

    /// The faults, one at a time, each followed by a wait until every PG is active again
    /// (degraded is fine), so two faults never take both copies of a PG at once.
    enum Fault: String, CaseIterable {
        case killOSD = "kill -9 + restart an OSD"
        case outIn = "mark an OSD out, then in"
        case restartMonitor = "kill -9 + restart the monitor"
        case resetConnections = "reset the client's TCP connections"
    }

    @Test(.timeLimit(.minutes(20))) func acknowledgedWritesSurviveDaemonAndNetworkFaults() async throws {
        let seconds = Double(ProcessInfo.processInfo.environment["SWIFTRBD_FAULT_SECONDS"] ?? "") ?? 60
        let cluster = try ThrowawayCluster.start(objectStore: "bluestore")
        defer { cluster.stop() }
        let client = try await RADOSClient.connect(try cluster.configuration(["mon_client_hunt_interval": "1"]))
        let io = try await client.ioContext(pool: "rbd")
        let name = "faults-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await Image.create(io, name: name, size: Self.imageSize)
        let image = try await Image.open(io, name: name)

        // The cluster's daemon ports: the client's connections to them are the ones reset.
        let ports = try cluster.daemonPorts()
        let stop = ManagedFlag()
        let faults = FaultLog()
        let faultThread = Thread {
            var rng = SystemRandomNumberGenerator()
            var index = 0
            while !stop.isSet {
                let fault = Fault.allCases[index % Fault.allCases.count]
                index += 1
                let started = ContinuousClock.now
                do {
                    try cluster.inject(fault, rng: &rng, clientPorts: ports)
                    let recovered = cluster.waitUntilAllPGsActive(seconds: 120)
                    faults.record(fault, after: ContinuousClock.now - started, recovered: recovered)
                } catch {
                    faults.fail("\(fault.rawValue): \(error)")
                }
                usleep(UInt32.random(in: 500_000...2_000_000, using: &rng))
            }
            faults.finish()
        }
        faultThread.start()

        // The workload: each writer owns the blocks ≡ its number (mod writers), so a
        // block has one writer and its last acknowledged generation is known exactly.
        let acknowledged = NIOLockedValueBox([UInt64](repeating: 0, count: Self.blocks))
        let statistics = NIOLockedValueBox((writes: 0, reads: 0, longestStall: Duration.zero, mismatches: [String]()))
        // The workload runs for `seconds`, longer (up to three times) on a machine so
        // loaded that fewer than `minimumWrites` were acknowledged by then.
        let minimumWrites = 1000
        let start = ContinuousClock.now
        @Sendable func goOn() -> Bool {
            let elapsed = ContinuousClock.now - start
            if elapsed < .seconds(seconds) { return true }
            return elapsed < .seconds(3 * seconds) && statistics.withLockedValue { $0.writes } < minimumWrites
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<Self.writers {
                group.addTask {
                    var rng = SystemRandomNumberGenerator()
                    var generation = UInt64(writer) << 48
                    while goOn() {
                        let index = Int.random(in: 0..<(Self.blocks / Self.writers), using: &rng) * Self.writers + writer
                        let started = ContinuousClock.now
                        if Bool.random(using: &rng) || acknowledged.withLockedValue({ $0[index] }) == 0 {
                            generation += 1
                            _ = try await image.write(offset: UInt64(index * Self.blockSize), data: ByteBuffer(bytes: Self.block(index, generation: generation)))
                            acknowledged.withLockedValue { $0[index] = generation }
                            let took = ContinuousClock.now - started
                            statistics.withLockedValue { $0.writes += 1; $0.longestStall = max($0.longestStall, took) }
                        } else {
                            let expected = acknowledged.withLockedValue { $0[index] }
                            let back = try await image.read(offset: UInt64(index * Self.blockSize), length: UInt64(Self.blockSize))
                            let bytes = Array(back.readableBytesView)
                            let took = ContinuousClock.now - started
                            statistics.withLockedValue {
                                $0.reads += 1
                                $0.longestStall = max($0.longestStall, took)
                                if bytes != Self.block(index, generation: expected) {
                                    $0.mismatches.append("block \(index) during the run: expected generation \(expected), read \(Self.describe(bytes[...]))")
                                }
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        stop.set()
        let faultsDone = try await pollUntil(seconds: 300, every: .milliseconds(200)) { faults.isFinished }
        try #require(faultsDone, "the fault thread did not finish its last fault within 300 s")
        try await image.flush()
        try await image.close()

        let expected = acknowledged.withLockedValue { $0 }
        let summary = faults.summary
        #expect(summary.failures.isEmpty, "faults that could not be injected: \(summary.failures)")
        #expect(summary.unrecovered.isEmpty, "PGs not active again 120 s after: \(summary.unrecovered)")
        #expect(summary.count >= 4, "only \(summary.count) faults in \(seconds) s")

        // Every acknowledged block, read by us through a new client…
        let verifier = try await RADOSClient.connect(try cluster.configuration())
        let reopened = try await Image.open(try await verifier.ioContext(pool: "rbd"), name: name, readOnly: true)
        let whole = Array(try await reopened.read(offset: 0, length: Self.imageSize).readableBytesView)
        try await reopened.close()
        await verifier.shutdown()
        // …and by Ceph's rbd export.
        let exported = cluster.directory + "/\(name).raw"
        _ = try cluster.tool("rbd", ["export", "rbd/\(name)", exported])
        let theirs = [UInt8](try Data(contentsOf: URL(fileURLWithPath: exported)))
        try? FileManager.default.removeItem(atPath: exported)
        #expect(theirs.count == Int(Self.imageSize))

        var lost: [String] = statistics.withLockedValue { $0.mismatches }
        var written = 0
        for index in 0..<Self.blocks {
            let range = index * Self.blockSize..<(index + 1) * Self.blockSize
            let want = expected[index] == 0 ? [UInt8](repeating: 0, count: Self.blockSize) : Self.block(index, generation: expected[index])
            if expected[index] != 0 { written += 1 }
            if Array(whole[range]) != want { lost.append("block \(index) (ours): expected generation \(expected[index]), read \(Self.describe(whole[range]))") }
            if theirs.count == Int(Self.imageSize), Array(theirs[range]) != want {
                lost.append("block \(index) (rbd export): expected generation \(expected[index]), read \(Self.describe(theirs[range]))")
            }
        }
        #expect(lost.isEmpty, "\(lost.count) acknowledged blocks not intact, first: \(lost.prefix(5))")
        let totals = statistics.withLockedValue { $0 }
        let ran = ContinuousClock.now - start
        #expect(totals.writes >= minimumWrites, "only \(totals.writes) writes acknowledged in \(ran)")
        print("fault injection: \(ran), \(totals.writes) writes + \(totals.reads) reads acknowledged, \(written) blocks verified by us and by rbd export, \(summary.count) faults survived (\(summary.byKind)), longest stall \(totals.longestStall)")
        await client.shutdown()
    }
}

extension FaultInjectionTests {
    /// Three monitors: the one the client is connected to is killed with SIGKILL; the
    /// client hunts to another of the quorum and carries on (monitor commands, new
    /// OSDMap epochs and I/O), as librados does.
    @Test(.timeLimit(.minutes(5))) func theClientHuntsToAnotherMonitorOfTheQuorum() async throws {
        let cluster = try ThrowawayCluster.start(monitors: 3)
        defer { cluster.stop() }
        let configuration = try cluster.configuration(["mon_client_hunt_interval": "1"])
        let client = try await RADOSClient.connect(configuration)
        let io = try await client.ioContext(pool: "rbd")
        try await io.writeFull("three-monitors", ByteBuffer(string: "before"))
        let ports = try ClusterConnection.monitorEndpoints(configuration).map(\.port)
        try #require(ports.count == 3, "mon_host lists \(ports)")
        // Monitor i of dev-cluster.sh listens on base + 2i.
        let connected = try #require(client.monitor.serverIdent.addresses.compactMap { $0.port.map(Int.init) }.first { ports.contains($0) })
        let victim = ["a", "b", "c"][(connected - (try #require(ports.min()))) / 2]
        let sessionsBefore = client.monitor.statistics.sessionsOpened
        let epochBefore = await client.osdmapEpoch
        try cluster.kill9("mon.\(victim)")

        // A monitor command that changes the OSDMap: answered by a surviving monitor, and
        // the new epoch arrives through the new session.
        let pool = "after-mon-\(victim)-\(UInt32.random(in: 0...UInt32.max))"
        let started = ContinuousClock.now
        _ = try await client.monCommand(#"{"prefix": "osd pool create", "pool": "\#(pool)", "pg_num": 8, "pgp_num": 8}"#)
        let hunted = ContinuousClock.now - started
        let arrived = try await pollUntil(every: .milliseconds(200)) { (try? await client.ioContext(pool: pool)) != nil }
        try #require(arrived, "the new pool did not reach our OSDMap within 60 s")
        #expect(await client.osdmapEpoch > epochBefore)
        #expect(client.monitor.statistics.sessionsOpened > sessionsBefore, "no new monitor session after mon.\(victim) died")
        let now = try #require(client.monitor.serverIdent.addresses.compactMap { $0.port.map(Int.init) }.first { ports.contains($0) })
        #expect(now != connected, "still on the killed monitor's port \(connected)")
        let newIO = try await client.ioContext(pool: pool)
        try await newIO.writeFull("three-monitors", ByteBuffer(string: "after"))
        #expect(try cluster.tool("rados", ["-p", pool, "get", "three-monitors", "-"]) == "after")
        #expect(String(buffer: try await io.read("three-monitors", length: 16)) == "before")
        print("three monitors: mon.\(victim) killed under the client; a command went through another monitor \(hunted) later")
        await client.shutdown()
    }
}

/// What the fault thread did, read by the test.
final class FaultLog: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private var failures: [String] = []
    private var unrecovered: [String] = []
    private var finished = false

    func record(_ fault: FaultInjectionTests.Fault, after: Duration, recovered: Bool) {
        lock.withLock {
            counts[fault.rawValue, default: 0] += 1
            if !recovered { unrecovered.append(fault.rawValue) }
        }
    }
    func fail(_ text: String) { lock.withLock { failures.append(text) } }
    func finish() { lock.withLock { finished = true } }
    var isFinished: Bool { lock.withLock { finished } }
    var summary: (count: Int, byKind: String, failures: [String], unrecovered: [String]) {
        lock.withLock {
            (counts.values.reduce(0, +), counts.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", "), failures, unrecovered)
        }
    }
}

extension ThrowawayCluster {
    func pid(of daemon: String) throws -> pid_t {
        let text = try String(contentsOfFile: directory + "/run/\(daemon).pid", encoding: .utf8)
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ClusterEnvironment.ToolFailure(message: "no pid in \(directory)/run/\(daemon).pid")
        }
        return pid
    }

    /// SIGKILL, then wait until the process is gone (60 s bounds a hang).
    func kill9(_ daemon: String) throws {
        let pid = try pid(of: daemon)
        kill(pid, SIGKILL)
        let deadline = ContinuousClock.now + .seconds(60)
        while Self.isAlive(pid) {
            guard ContinuousClock.now < deadline else { throw ClusterEnvironment.ToolFailure(message: "\(daemon) survived SIGKILL for 60 s") }
            usleep(50_000)
        }
    }

    func startOSD(_ id: Int) throws {
        let tcmalloc = "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4"
        let preload = FileManager.default.fileExists(atPath: tcmalloc) ? "LD_PRELOAD=\(tcmalloc) " : ""
        let (status, output, errors) = try Self.shell("CEPH_ARGS='\(cephArgs)' \(preload)ceph-osd -c '\(conf)' -i \(id)")
        guard status == 0 else { throw ClusterEnvironment.ToolFailure(message: "ceph-osd -i \(id) did not start: \(output)\(errors)") }
    }

    /// The monitor's and the OSDs' listening ports.
    func daemonPorts() throws -> Set<Int> {
        let dump = try tool("ceph", ["osd", "dump", "--format", "json"])
        var ports = Set(try ClusterConnection.monitorEndpoints(try configuration()).map(\.port))
        let regex = try NSRegularExpression(pattern: #""addr":"[0-9.]+:([0-9]+)""#)
        for match in regex.matches(in: dump, range: NSRange(dump.startIndex..., in: dump)) {
            if let range = Range(match.range(at: 1), in: dump), let port = Int(dump[range]), port != 0 { ports.insert(port) }
        }
        return ports
    }

    /// Waits until `ceph pg stat` shows every PG active (degraded or not); false after `seconds`.
    func waitUntilAllPGsActive(seconds: Double) -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let stat = try? tool("ceph", ["pg", "stat", "--connect-timeout", "10"]),
               let match = stat.firstMatch(of: /^(\d+) pgs: (.*?);/), let total = Int(match.1) {
                // e.g. "32 pgs: 20 active+clean, 12 active+undersized+degraded; …"
                let states = match.2.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let active = states.compactMap { state -> Int? in
                    let parts = state.split(separator: " ", maxSplits: 1)
                    guard parts.count == 2, let count = Int(parts[0]), parts[1].hasPrefix("active"), !parts[1].contains("peering") else { return nil }
                    return count
                }.reduce(0, +)
                if active == total { return true }
            }
            usleep(500_000)
        }
        return false
    }

    /// One fault, blocking (the fault thread's).
    func inject(_ fault: FaultInjectionTests.Fault, rng: inout SystemRandomNumberGenerator, clientPorts ports: Set<Int>) throws {
        switch fault {
        case .killOSD:
            let osd = Int.random(in: 0..<3, using: &rng)
            try kill9("osd.\(osd)")
            usleep(UInt32.random(in: 1_000_000...4_000_000, using: &rng))
            try startOSD(osd)
        case .outIn:
            let osd = Int.random(in: 0..<3, using: &rng)
            _ = try tool("ceph", ["osd", "out", "\(osd)"])
            usleep(UInt32.random(in: 2_000_000...5_000_000, using: &rng))
            _ = try tool("ceph", ["osd", "in", "\(osd)"])
        case .restartMonitor:
            try kill9("mon.a")
            usleep(UInt32.random(in: 1_000_000...3_000_000, using: &rng))
            try startMonitor()
        case .resetConnections:
            // Our sockets to the cluster, by local port: only the test client's, not the
            // daemons' own connections to each other.
            let local = Self.localPortsOfThisProcess(toPorts: ports)
            guard !local.isEmpty else { return }
            let filter = local.map { "sport = :\($0)" }.joined(separator: " or ")
            let (status, output, errors) = try Self.shell("ss -K -t '( \(filter) )'")
            guard status == 0 else { throw ClusterEnvironment.ToolFailure(message: "ss -K exited \(status): \(output)\(errors)") }
        }
    }

    /// The local ports of this process's TCP sockets connected to any of `ports`.
    static func localPortsOfThisProcess(toPorts ports: Set<Int>) -> Set<Int> {
        Set(tcpSocketsOfThisProcess().filter { ports.contains($0.remotePort) }.map(\.localPort))
    }
}
