import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import RADOSProto

/// A throwaway cluster of this suite's own (scripts/dev-cluster.sh in a temp dir): the
/// tests below restart its monitor and shorten its ticket lifetimes, which must never
/// happen to the shared CEPH_CONF cluster other suites run against in parallel.
struct ThrowawayCluster {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let directory: String
    /// Options every daemon of this cluster reads (CEPH_ARGS at start and restart).
    let cephArgs: String
    var conf: String { directory + "/ceph.conf" }

    /// `objectStore` is the OSDs' backend (`memstore`, or `bluestore` for what memstore
    /// refuses, such as erasure-coded pools with overwrites).
    /// `monitors` is how many monitors (a, b, c…) form the quorum.
    static func start(cephArgs: String = "", objectStore: String = "memstore", monitors: Int = 1) throws -> ThrowawayCluster {
        let directory = NSTemporaryDirectory() + "swiftrbd-mon-\(UInt32.random(in: 0...UInt32.max))"
        let cluster = ThrowawayCluster(directory: directory, cephArgs: cephArgs)
        let script = repository.appendingPathComponent("scripts/dev-cluster.sh").path
        let (status, output, errors) = try shell("NUM_MONS=\(monitors) OBJECTSTORE='\(objectStore)' CEPH_ARGS='\(cephArgs)' bash '\(script)' up '\(directory)'")
        guard status == 0 else {
            cluster.stop()
            throw ClusterEnvironment.ToolFailure(message: "dev-cluster.sh up failed: \(output)\(errors)")
        }
        return cluster
    }

    func stop() {
        let script = Self.repository.appendingPathComponent("scripts/dev-cluster.sh").path
        _ = try? Self.shell("CEPH_ARGS= bash '\(script)' down '\(directory)'")
    }

    /// Runs a shell command with its output in a file, waiting with waitpid: Foundation's
    /// Process, waited for inside an async test on a 2-core machine, can miss the child's
    /// exit (the dispatch threads that reap it are all busy) and the daemons the script
    /// starts would inherit its pipes.
    /// Runs `command` with bash; returns its exit status, its standard output, and its
    /// standard error apart (a Ceph tool's warnings there, such as an admin socket
    /// another process holds, must not end up in the output a test compares).
    static func shell(_ command: String) throws -> (status: Int32, output: String, errors: String) {
        let log = NSTemporaryDirectory() + "swiftrbd-mon-shell-\(UInt32.random(in: 0...UInt32.max)).log"
        let errorLog = log + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: log)
            try? FileManager.default.removeItem(atPath: errorLog)
        }
        let full = "exec </dev/null >'\(log)' 2>'\(errorLog)'; \(command)"
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/bash"), strdup("-c"), strdup(full), nil]
        defer { for arg in argv { free(arg) } }
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, environ)
        guard spawned == 0 else { throw ClusterEnvironment.ToolFailure(message: "cannot run bash: errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS
        return ((status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F), output, errors)
    }

    func configuration(_ options: [String: String] = [:]) throws -> RADOSConfiguration {
        var configuration = try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false)
        for (name, value) in options { try configuration.set(name, to: value) }
        return configuration
    }

    /// A Ceph CLI (`ceph`, `rados`) against this cluster; its output.
    func tool(_ name: String, _ arguments: [String]) throws -> String {
        let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
        let (status, output, errors) = try Self.shell("CEPH_ARGS= \(name) -c '\(conf)' \(quoted)")
        guard status == 0 else {
            throw ClusterEnvironment.ToolFailure(message: "\(name) \(arguments.joined(separator: " ")) exited \(status): \(output)\(errors)")
        }
        return output
    }

    func monitorPID() throws -> pid_t {
        let pidText = try String(contentsOfFile: directory + "/run/mon.a.pid", encoding: .utf8)
        guard let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ClusterEnvironment.ToolFailure(message: "no monitor pid in \(directory)/run/mon.a.pid")
        }
        return pid
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the monitor: its sockets stay open, it stops answering.
    func freezeMonitor(_ frozen: Bool) throws {
        kill(try monitorPID(), frozen ? SIGSTOP : SIGCONT)
    }

    /// Kills the monitor (SIGKILL to the pid in its pid file, like a crash; a SIGTERM'd
    /// monitor here took 10 s to exit) and waits until it is gone (at most 60 s, which
    /// only bounds a hang).
    func stopMonitor() throws {
        let pid = try monitorPID()
        kill(pid, SIGKILL)
        let deadline = ContinuousClock.now + .seconds(60)
        while Self.isAlive(pid) {
            guard ContinuousClock.now < deadline else {
                throw ClusterEnvironment.ToolFailure(message: "the monitor (pid \(pid)) was still running 60 s after SIGKILL")
            }
            usleep(50_000)
        }
    }

    /// Whether `pid` runs (a zombie nobody reaped yet does not).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ", options: .backwards) else { return true }
        return !stat[afterName.upperBound...].hasPrefix("Z")
    }

    /// This process's TCP sockets to any of `ports` (by inode): a new one is a new
    /// connection attempt.
    static func socketsOfThisProcess(toPorts ports: Set<Int>) -> Set<String> {
        Set(tcpSocketsOfThisProcess().filter { ports.contains($0.remotePort) }.map(\.inode))
    }

    /// This process's TCP sockets (from /proc/self/fd and /proc/self/net/tcp{,6}).
    static func tcpSocketsOfThisProcess() -> [(inode: String, localPort: Int, remotePort: Int)] {
        var ours: Set<String> = []
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in fds {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
                  target.hasPrefix("socket:[") else { continue }
            ours.insert(String(target.dropFirst("socket:[".count).dropLast()))
        }
        var sockets: [(inode: String, localPort: Int, remotePort: Int)] = []
        for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
            for line in readProcFile(table).split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, ours.contains(String(fields[9])),
                      let localHex = fields[1].split(separator: ":").last, let local = Int(localHex, radix: 16),
                      let remoteHex = fields[2].split(separator: ":").last, let remote = Int(remoteHex, radix: 16) else { continue }
                sockets.append((String(fields[9]), local, remote))
            }
        }
        return sockets
    }

    /// A /proc file whole (it reports size 0, and a busy machine's TCP table is long:
    /// read until the end, not one buffer's worth).
    static func readProcFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            data.append(contentsOf: buffer[..<count])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Starts the monitor again with the command line dev-cluster.sh uses.
    func startMonitor() throws {
        let tcmalloc = "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4"
        let preload = FileManager.default.fileExists(atPath: tcmalloc) ? "LD_PRELOAD=\(tcmalloc) " : ""
        let (status, output, errors) = try Self.shell("CEPH_ARGS='\(cephArgs)' \(preload)ceph-mon -c '\(conf)' -i a")
        guard status == 0 else { throw ClusterEnvironment.ToolFailure(message: "ceph-mon did not start: \(output)\(errors)") }
    }
}

/// Monitor session survival against a real monitor: ticket renewal on a timer while
/// commands and OSD I/O continue, and a monitor restart under a live client.
@Suite(.serialized, .requiresTools("ceph-mon", "ceph-osd", "ceph-mgr"))
struct MessengerMonSessionTests {
    /// Object names whose primary (in pool `rbd`) is `osd`.
    private func objects(on osd: Int32, count: Int, client: RADOSClient, pool: Int64, prefix: String) async -> [String] {
        var names: [String] = []
        var i = 0
        while names.count < count, i < 10_000 {
            let name = "\(prefix)-\(i)"
            if await client.objecter.placement(pool: pool, object: name)?.primary == osd { names.append(name) }
            i += 1
        }
        return names
    }

    /// Tickets of 30 s (services) and 60 s (AUTH): the client renews both on its timer
    /// (services at 22.5 s, 45 s; AUTH at 45 s) while monitor commands and I/O go on, and
    /// then opens new OSD sessions with the renewed OSD ticket after the first has expired.
    @Test(.timeLimit(.minutes(4))) func clientKeepsWorkingAcrossTicketRenewal() async throws {
        let cluster = try ThrowawayCluster.start(cephArgs: "--auth_service_ticket_ttl 30 --auth_mon_ticket_ttl 60")
        defer { cluster.stop() }
        let client = try await RADOSClient.connect(try cluster.configuration())
        let first = client.monitor.authOutcome.tickets
        let firstOSD = try #require(first.first { $0.service == CephEntityType.osd.rawValue })
        let firstAuth = try #require(first.first { $0.service == CephEntityType.auth.rawValue })
        // The monitor grants what the options say (Pacific: auth_service_ticket_ttl for
        // service tickets, auth_mon_ticket_ttl for the AUTH ticket).
        #expect(firstOSD.validitySeconds == 30)
        #expect(firstAuth.validitySeconds == 60)

        let io = try await client.ioContext(pool: "rbd")
        let pool = io.poolID
        let tag = UInt32.random(in: 0...UInt32.max)
        let early = await objects(on: 0, count: 1, client: client, pool: pool, prefix: "renew-\(tag)-early")
        let late = await objects(on: 1, count: 1, client: client, pool: pool, prefix: "renew-\(tag)-late")
            + objects(on: 2, count: 1, client: client, pool: pool, prefix: "renew-\(tag)-late")
        #expect(early.count == 1 && late.count == 2)

        // Until both tickets were renewed (and so the first OSD ticket has expired): keep
        // the monitor and osd.0 busy through the renewals.
        let start = ContinuousClock.now
        var rounds = 0
        func renewed() -> Bool {
            let s = client.monitor.statistics
            return s.authTicketRenewals >= 1 && s.serviceTicketRenewals >= 2
        }
        while ContinuousClock.now - start < .seconds(120), !renewed() || ContinuousClock.now - start < .seconds(32) {
            let (output, _) = try await client.monCommand(#"{"prefix": "osd stat", "format": "json"}"#)
            #expect(String(buffer: output).contains("num_up_osds"))
            try await io.writeFull(early[0], ByteBuffer(string: "round \(rounds)"))
            #expect(String(buffer: try await io.read(early[0], length: 64)) == "round \(rounds)")
            rounds += 1
            try await Task.sleep(for: .seconds(2))
        }
        let statistics = client.monitor.statistics
        #expect(statistics.authTicketRenewals >= 1, "the AUTH ticket (60 s) was not renewed in 120 s")
        #expect(statistics.serviceTicketRenewals >= 2, "service tickets (30 s) were not renewed twice in 120 s")
        #expect(statistics.sessionsOpened == 1, "renewal must not need a new monitor session")
        let now = client.monitor.authOutcome.tickets
        let renewedOSD = try #require(now.first { $0.service == CephEntityType.osd.rawValue })
        let renewedAuth = try #require(now.first { $0.service == CephEntityType.auth.rawValue })
        #expect(renewedOSD.blob != firstOSD.blob && renewedOSD.sessionKey != firstOSD.sessionKey)
        #expect(renewedAuth.blob != firstAuth.blob)

        // New OSD sessions (osd.1, osd.2 not used so far) authenticate with the renewed ticket.
        for name in late {
            try await io.writeFull(name, ByteBuffer(string: "after renewal"))
        }
        // Ceph's own tool reads what we wrote, before and after the renewals.
        #expect(try cluster.tool("rados", ["-p", "rbd", "get", early[0], "-"]) == "round \(rounds - 1)")
        for name in late {
            #expect(try cluster.tool("rados", ["-p", "rbd", "get", name, "-"]) == "after renewal")
        }
        let (status, _) = try await client.monCommand(#"{"prefix": "mon stat", "format": "json"}"#)
        #expect(String(buffer: status).contains("quorum"))
        print("ticket renewal: \(rounds) rounds in \(ContinuousClock.now - start), \(statistics)")
        await client.shutdown()
    }

    /// The monitor is stopped and started again under a live client: a command issued
    /// while it is down is sent again on the new session, new OSDMap epochs keep arriving
    /// through the same client, and I/O goes on. A client with a short
    /// client_mount_timeout gives up with a clear error when the monitor stays down.
    @Test(.timeLimit(.minutes(4))) func clientSurvivesMonitorRestart() async throws {
        let cluster = try ThrowawayCluster.start()
        defer { cluster.stop() }
        let client = try await RADOSClient.connect(try cluster.configuration(["mon_client_hunt_interval": "1"]))
        let io = try await client.ioContext(pool: "rbd")
        let name = "restart-\(UInt32.random(in: 0...UInt32.max))"
        try await io.writeFull(name, ByteBuffer(string: "before"))
        let epochBefore = await client.osdmapEpoch
        let globalIDBefore = client.monitor.authOutcome.globalID

        let restartClock = ContinuousClock.now
        try cluster.stopMonitor()
        let pool = "restart-pool-\(UInt32.random(in: 0...UInt32.max))"
        // The command is issued while the monitor is down; the monitor comes back once
        // the client has it among its pending requests (the closure runs as the request
        // is registered, in the same step), not after a guessed time.
        let fsid = await client.objecter.osdmap.fsid
        let registered = ManagedFlag()
        let create = Task {
            let reply = try await client.monitor.request(timeout: .seconds(120)) { tid in
                registered.set()
                return MMonCommand(tid: tid, fsid: fsid, command: [#"{"prefix": "osd pool create", "pool": "\#(pool)", "pg_num": 8, "pgp_num": 8}"#]).encode()
            }
            return try MMonCommandAck.decode(reply)
        }
        let issued = try await pollUntil { registered.isSet }
        try #require(issued, "the pool create was not issued within 60 s")
        try cluster.startMonitor()
        let created = try await create.value
        #expect(created.result == 0, "osd pool create: \(created.status)")
        let reconnectTime = ContinuousClock.now - restartClock
        let statistics = client.monitor.statistics
        #expect(statistics.sessionsOpened >= 2)
        #expect(statistics.requestsResent >= 1, "the pool create sent while the monitor was down was not sent again")
        #expect(client.monitor.authOutcome.globalID == globalIDBefore, "the new session did not reclaim our global id")

        // The new pool arrives as a new OSDMap epoch through the same subscription.
        let arrived = try await pollUntil(every: .milliseconds(200)) { (try? await client.ioContext(pool: pool)) != nil }
        try #require(arrived, "the new pool did not reach our OSDMap within 60 s")
        #expect(await client.osdmapEpoch > epochBefore)
        let newIO = try await client.ioContext(pool: pool)
        try await newIO.writeFull(name, ByteBuffer(string: "in the new pool"))
        #expect(String(buffer: try await newIO.read(name, length: 64)) == "in the new pool")
        #expect(String(buffer: try await io.read(name, length: 64)) == "before")
        // Ceph's own tool reads the same objects.
        #expect(try cluster.tool("rados", ["-p", pool, "get", name, "-"]) == "in the new pool")
        #expect(try cluster.tool("rados", ["-p", "rbd", "get", name, "-"]) == "before")
        let (output, _) = try await client.monCommand(#"{"prefix": "osd pool ls", "format": "json"}"#)
        #expect(String(buffer: output).contains(pool))
        print("monitor restart: pending command answered \(reconnectTime) after the stop, \(statistics)")

        // Hunting: a first monitor address that refuses, then the real one; after a drop
        // the client tries the dead one, then comes back to the live one.
        let configuration = try cluster.configuration()
        var endpoints = try ClusterConnection.monitorEndpoints(configuration)
        var dead = endpoints[0]
        dead.port = 1
        endpoints.insert(dead, at: 0)
        var options = try MonClient.Options(configuration)
        options.huntInterval = .milliseconds(500)
        let hunter = try await MonClient.connect(toAnyOf: endpoints, options: options)
        try await hunter.subscribe(["monmap": .init(start: 0)])
        let monmap = try await hunter.nextMonMap()
        // The monmap names the live monitor, already known: the hunt list does not grow.
        #expect(await hunter.huntList == endpoints.map { "\($0.host):\($0.port)" })
        await hunter.dropSessionForTesting()
        let status = try await hunter.command([#"{"prefix": "mon stat"}"#], fsid: monmap.fsid)
        #expect(status.result == 0)
        #expect(hunter.statistics.sessionsOpened == 2)
        await hunter.close()

        // A monitor that stops answering (frozen, its socket still open) is noticed by the
        // missing KEEPALIVE2_ACKs after mon_client_ping_timeout, and the client reconnects.
        // The monitor stays frozen until a new connection to it shows up (the session was
        // given up on), however long a loaded machine takes to get there.
        let monitorPorts = Set(try ClusterConnection.monitorEndpoints(configuration).map(\.port))
        let pinger = try await MonClient.connect(
            toAnyOf: try ClusterConnection.monitorEndpoints(configuration),
            options: try MonClient.Options(try cluster.configuration([
                "mon_client_ping_interval": "1", "mon_client_ping_timeout": "3", "mon_client_hunt_interval": "1",
            ])))
        let socketsBefore = ThrowawayCluster.socketsOfThisProcess(toPorts: monitorPorts)
        try cluster.freezeMonitor(true)
        let reconnecting = (try? await pollUntil(every: .milliseconds(100)) {
            !ThrowawayCluster.socketsOfThisProcess(toPorts: monitorPorts).subtracting(socketsBefore).isEmpty
        }) ?? false
        try cluster.freezeMonitor(false)
        #expect(reconnecting, "no new connection to the frozen monitor within 60 s: the lost session went unnoticed")
        let afterFreeze = try await pinger.command([#"{"prefix": "mon stat"}"#], fsid: monmap.fsid)
        #expect(afterFreeze.result == 0)
        #expect(pinger.statistics.sessionsOpened >= 2, "the frozen monitor's session was not replaced")
        await pinger.close()

        // Giving up: the monitor stays down longer than client_mount_timeout.
        let quitter = try await MonClient.connect(
            toAnyOf: try ClusterConnection.monitorEndpoints(configuration),
            options: try MonClient.Options(try cluster.configuration(["client_mount_timeout": "4", "mon_client_hunt_interval": "1"])))
        try cluster.stopMonitor()
        let giveUpClock = ContinuousClock.now
        do {
            _ = try await quitter.command([#"{"prefix": "mon stat"}"#], fsid: monmap.fsid, timeout: .seconds(60))
            Issue.record("a command succeeded with the monitor down")
        } catch let error as RADOSError {
            #expect(error.code == .connectionFailed)
            #expect(error.message.contains("client_mount_timeout"))
        }
        // The error above says client_mount_timeout ended it; the bound only tells that
        // from the command's own 60 s timeout.
        #expect(ContinuousClock.now - giveUpClock < .seconds(55))
        // The message stream ends (after anything already queued).
        while try await quitter.nextMessage() != nil {}
        await client.shutdown()

        // First contact while the monitor is down (a VM started during a monitor
        // restart): the client hunts like librados, reports each round (rbdctl prints
        // them on stderr), and comes up once the monitor is back; the monitor is started
        // only after a round was reported, so the client really was hunting.
        let rounds = NIOLockedValueBox<[String]>([])
        let late = Task {
            try await RADOSClient.connect(try cluster.configuration(["client_mount_timeout": "120", "mon_client_hunt_interval": "0.5"])) { line in
                rounds.withLockedValue { $0.append(line) }
            }
        }
        let hunting = try await pollUntil(every: .milliseconds(100)) { !rounds.withLockedValue { $0.isEmpty } }
        try #require(hunting, "no hunting round was reported within 60 s")
        try cluster.startMonitor()
        let lateClient = try await late.value
        let lines = rounds.withLockedValue { $0 }
        let monitor = try #require(try ClusterConnection.monitorEndpoints(configuration).first)
        #expect(lines.allSatisfy { $0.contains("\(monitor.host):\(monitor.port)") && $0.contains("connection refused") }, "\(lines)")
        let lateIO = try await lateClient.ioContext(pool: "rbd")
        try await lateIO.writeFull(name, ByteBuffer(string: "after the hunt"))
        #expect(try cluster.tool("rados", ["-p", "rbd", "get", name, "-"]) == "after the hunt")
        print("first contact during a monitor outage: \(lines.count) rounds reported, then connected")
        await lateClient.shutdown()
    }
}
