import Foundation
import NIOCore
import NIOPosix

/// The monitor client: one msgr2.1 session to a monitor at a time, authenticated with
/// cephx, that survives drops. It subscribes to maps, runs commands and keeps tickets fresh.
///
/// Source: kernel `net/ceph/mon_client.c`, ceph/ceph `src/mon/MonClient.cc`. When the
/// session fails (socket closed, keepalives unanswered for `mon_client_ping_timeout`) it
/// hunts through the monitors of `mon_host`, backing off between rounds, re-authenticates
/// (reclaiming its global id), subscribes again from the epochs after the ones it has, and
/// sends again the commands still waiting for an answer; ``nextMessage()`` keeps
/// delivering maps across sessions. Tickets are renewed on a timer once 3/4 of their
/// validity has passed, and ``authOutcome`` always holds the newest ones.
/// ``MonClientStateMachine`` makes every decision; ``Core`` performs them. See
/// `Docs/MonitorSession.md`.
///
/// Everything it does runs on one NIO event loop (``eventLoop``, the client's): its
/// sessions' channels live there and ``Core`` is an actor whose executor is that loop,
/// so keepalives, replies, reconnects and renewals never wait on Swift's cooperative
/// pool (`Docs/IOPath.md`).
package final class MonClient: Sendable {
    /// Where and who: the monitor's v2 address and our cephx identity.
    package struct Endpoint: Sendable {
        package var host: String
        package var port: Int
        package var entityName: String
        package var key: CryptoKey
        /// Modes offered, preferred first (`ms_mon_client_mode` default: secure, crc).
        package var modes: [ConnectionMode]

        package init(host: String, port: Int, entityName: String = "admin", key: CryptoKey, modes: [ConnectionMode] = [.secure, .crc]) {
            self.host = host
            self.port = port
            self.entityName = entityName
            self.key = key
            self.modes = modes
        }
    }

    /// Timers and limits, with Ceph's option names and Pacific's defaults.
    package struct Options: Sendable {
        /// `mon_client_ping_interval`: KEEPALIVE2 this often.
        package var pingInterval: TimeAmount = .seconds(10)
        /// `mon_client_ping_timeout`: a session silent this long is dropped and replaced.
        package var pingTimeout: TimeAmount = .seconds(30)
        /// `mon_client_hunt_interval`, `_backoff`, `_max_multiple`: pauses between hunting rounds.
        package var huntInterval: TimeAmount = .seconds(3)
        package var huntBackoff: Double = 1.5
        package var huntMaxMultiple: Double = 10
        /// `client_mount_timeout`: how long to hunt after a loss before failing everything
        /// (0 in the configuration: no limit).
        package var reconnectTimeout: TimeAmount = .seconds(300)
        /// One connection attempt (TCP connect through SERVER_IDENT).
        package var connectTimeout: TimeAmount = .seconds(10)
        /// How often the state machine's timer runs (renewal and backoff resolution).
        package var tickInterval: TimeAmount = .seconds(1)

        package init() {}

        /// The options a configuration sets (unset ones keep Ceph's defaults).
        package init(_ configuration: RADOSConfiguration) throws(RADOSError) {
            func seconds(_ name: String) throws(RADOSError) -> TimeAmount? {
                guard let value = try configuration.double(name), value > 0 else { return nil }
                return .nanoseconds(Int64(value * 1e9))
            }
            if let v = try seconds("mon_client_ping_interval") { pingInterval = v }
            if let v = try seconds("mon_client_ping_timeout") { pingTimeout = v }
            if let v = try seconds("mon_client_hunt_interval") { huntInterval = v }
            if let v = try configuration.double("mon_client_hunt_interval_backoff"), v >= 1 { huntBackoff = v }
            if let v = try configuration.double("mon_client_hunt_interval_max_multiple"), v >= 1 { huntMaxMultiple = v }
            if let v = try configuration.double("client_mount_timeout") {
                // 0 means no limit: hunt until a monitor answers, as librados always does.
                reconnectTimeout = v > 0 ? .nanoseconds(Int64(min(v, 1e9) * 1e9)) : .hours(24 * 365 * 100)
            }
        }
    }

    /// What happened to the session so far (tests and `rbdctl` read it).
    package struct Statistics: Sendable, Equatable {
        /// Sessions opened, the first included: more than one means it reconnected.
        package var sessionsOpened = 0
        package var authTicketRenewals = 0
        package var serviceTicketRenewals = 0
        /// Requests sent again on a new session.
        package var requestsResent = 0
    }

    /// What synchronous readers see; written by ``Core`` only.
    final class Shared: @unchecked Sendable {
        private let lock = NSLock()
        private var _outcome: AuthOutcome
        private var _ident: ServerIdentFrame
        private var _statistics = Statistics()

        init(outcome: AuthOutcome, ident: ServerIdentFrame) {
            _outcome = outcome
            _ident = ident
        }

        var outcome: AuthOutcome { lock.withLock { _outcome } }
        var ident: ServerIdentFrame { lock.withLock { _ident } }
        var statistics: Statistics { lock.withLock { _statistics } }

        func update(outcome: AuthOutcome? = nil, ident: ServerIdentFrame? = nil, statistics: (inout Statistics) -> Void = { _ in }) {
            lock.withLock {
                if let outcome { _outcome = outcome }
                if let ident { _ident = ident }
                statistics(&_statistics)
            }
        }

        /// Replaces tickets service by service.
        func install(_ tickets: [CephXTicket]) {
            lock.withLock {
                for ticket in tickets {
                    _outcome.tickets.removeAll { $0.service == ticket.service }
                    _outcome.tickets.append(ticket)
                }
            }
        }
    }

    private let shared: Shared
    private let core: Core
    private let unrouted: AsyncStream<Message>
    /// The loop the sessions and ``Core`` run on; the Objecter shares it.
    package let eventLoop: any EventLoop

    /// What the current session's authentication produced, with the newest tickets (the
    /// Objecter reads its OSD ticket here when it opens a session).
    package var authOutcome: AuthOutcome { shared.outcome }
    /// The current monitor's SERVER_IDENT.
    package var serverIdent: ServerIdentFrame { shared.ident }
    package var statistics: Statistics { shared.statistics }

    private init(session: MessengerSession, monitor: Int, endpoints: [Endpoint], options: Options, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        let shared = Shared(outcome: session.authOutcome, ident: session.serverIdent)
        self.shared = shared
        let (stream, continuation) = AsyncStream<Message>.makeStream()
        unrouted = stream
        var configuration = MonClientStateMachine.Configuration(monitorCount: endpoints.count)
        configuration.reconnects = !endpoints.isEmpty
        configuration.huntInterval = options.huntInterval
        configuration.huntBackoff = options.huntBackoff
        configuration.huntMaxMultiple = options.huntMaxMultiple
        configuration.reconnectTimeout = options.reconnectTimeout
        core = Core(
            machine: MonClientStateMachine(configuration: configuration), session: session, monitor: monitor,
            endpoints: endpoints, options: options, shared: shared, continuation: continuation, eventLoop: eventLoop)
        let core = self.core
        Task { await core.begin() }
    }

    // MARK: connecting

    /// Connects and authenticates to one monitor; returns once the session is open.
    package static func connect(
        to endpoint: Endpoint,
        options: Options = Options(),
        eventLoop: any EventLoop = ClientEventLoop.next(),
        tap: (@Sendable (MessengerHandler.Direction, ByteBuffer) -> Void)? = nil
    ) async throws -> MonClient {
        let session = try await Core.open(endpoint, options: options, previous: nil, eventLoop: eventLoop, tap: tap)
        return MonClient(session: session, monitor: 0, endpoints: [endpoint], options: options, eventLoop: eventLoop)
    }

    /// Tries each monitor in turn (like `MonClient` hunting) and returns the first session;
    /// later losses hunt through the same list.
    package static func connect(
        toAnyOf endpoints: [Endpoint], options: Options = Options(),
        eventLoop: any EventLoop = ClientEventLoop.next()
    ) async throws -> MonClient {
        var lastError = RADOSError(.invalidConfiguration, "no monitor addresses: set mon_host")
        for (index, endpoint) in endpoints.enumerated() {
            do {
                let session = try await Core.open(endpoint, options: options, previous: nil, eventLoop: eventLoop, tap: nil)
                return MonClient(session: session, monitor: index, endpoints: endpoints, options: options, eventLoop: eventLoop)
            } catch let error as RADOSError {
                // A refused key fails the same way on every monitor.
                if error.code == .authenticationFailed { throw error }
                lastError = error
            }
        }
        throw lastError
    }

    /// Connects with a prepared state machine (tests pin its random values this way). Such
    /// a client does not reconnect: it has no key to authenticate again with.
    package static func connect(
        host: String,
        port: Int,
        machine: ProtocolV2Client,
        group: any EventLoopGroup = ClientEventLoop.group,
        timeout: TimeAmount = .seconds(10),
        tap: (@Sendable (MessengerHandler.Direction, ByteBuffer) -> Void)? = nil
    ) async throws -> MonClient {
        let eventLoop = group.next()
        let session = try await MessengerSession.open(host: host, port: port, machine: machine, group: eventLoop, timeout: timeout, tap: tap)
        return MonClient(session: session, monitor: 0, endpoints: [], options: Options(), eventLoop: eventLoop)
    }

    // MARK: using the session

    /// Sends a message on the current session (in order with earlier ones).
    package func send(_ message: Message) async throws {
        try await core.sendNow(message)
    }

    /// Subscribes to maps (default: `monmap` and `osdmap` from their first epochs). The
    /// subscription outlives the session: a new one asks for the epochs after those received.
    package func subscribe(_ what: [String: MMonSubscribe.Item] = ["monmap": .init(start: 0), "osdmap": .init(start: 0)]) async throws {
        try await core.subscribe(what)
    }

    /// The next message no waiter claimed (maps, …), across reconnects; nil once the
    /// client is closed or gave up. Single consumer.
    package func nextMessage() async throws -> Message? {
        for await message in unrouted { return message }
        return nil
    }

    /// Waits for the next MMonMap (other unclaimed messages are skipped).
    package func nextMonMap() async throws -> MMonMap {
        while let message = try await nextMessage() {
            if message.type == MessageType.monMap { return try MMonMap.decode(message) }
        }
        throw await core.finalError ?? RADOSError(.connectionFailed, "the monitor closed the connection before sending a monmap")
    }

    /// Asks the monitor for fresh tickets for `services` (CEPHX_GET_PRINCIPAL_SESSION_KEY
    /// in an MAuth) and installs them in ``authOutcome``.
    package func requestServiceTickets(_ services: [CephEntityType]) async throws -> [CephXTicket] {
        try await core.requestServiceTickets(services.reduce(UInt32(0)) { $0 | $1.rawValue })
    }

    /// Renews the AUTH ticket (and the service tickets) on this session:
    /// GET_AUTH_SESSION_KEY in an MAuth, proving the key against the session's server
    /// challenge and presenting the current AUTH ticket. Installs and returns the new tickets.
    package func renewTickets(current: [CephXTicket]? = nil, wantKeys: UInt32 = CephEntityType.mon.rawValue | CephEntityType.osd.rawValue | CephEntityType.mgr.rawValue) async throws -> [CephXTicket] {
        try await core.renewTickets(current: current, wantKeys: wantKeys)
    }

    /// Runs a monitor command (JSON strings, as `ceph` sends) and returns its output.
    /// `fsid` comes from the monmap. A command in flight when the session drops is sent
    /// again on the next one (as librados does), until `timeout`.
    package func command(_ command: [String], fsid: CephFSID, input: ByteBuffer = ByteBuffer(), timeout: Duration = .seconds(30)) async throws -> MMonCommandAck {
        let reply = try await core.request(timeout: timeout) { tid in
            MMonCommand(tid: tid, fsid: fsid.uuid.bytes, command: command, input: input).encode()
        }
        let ack = try MMonCommandAck.decode(reply)
        guard ack.result >= 0 else {
            throw RADOSError(.clusterError, "the monitor command failed: \(ack.status)", errno: Int32(clamping: abs(Int(ack.result))))
        }
        return ack
    }

    /// Sends the message `make` builds for a fresh tid and waits for the reply matched to
    /// that tid (pool ops: `MPoolOp` → `MPoolOpReply`). Like commands, it is sent again
    /// on the next session when the current one drops before the reply.
    package func request(timeout: Duration = .seconds(30), _ make: @escaping @Sendable (UInt64) -> Message) async throws -> Message {
        try await core.request(timeout: timeout, make)
    }

    /// The newest and oldest epochs the monitors have of a map ("osdmap", "monmap", …).
    package func version(of map: String, timeout: Duration = .seconds(30)) async throws -> MMonGetVersionReply {
        let reply = try await core.request(timeout: timeout) { handle in MMonGetVersion(handle: handle, what: map).encode() }
        return try MMonGetVersionReply.decode(reply)
    }

    /// Closes the session for good; waiters fail and ``nextMessage()`` returns nil.
    package func close() async {
        await core.close()
    }

    /// Hands unclaimed messages (maps) to `handler` on the client's loop as they arrive,
    /// instead of to ``nextMessage()``, and nil once the client is closed or gave up: the
    /// Objecter follows the OSDMap this way.
    package func routeUnrouted(_ handler: @escaping @Sendable (Message?) -> Void) async {
        await core.routeUnrouted(handler)
    }

    /// The monitors (host:port) a lost session hunts through: `mon_host`'s, then the
    /// monmap's others.
    package var huntList: [String] {
        get async { await core.huntList }
    }

    /// Drops the current session as a failure would (tests use it to force a reconnect).
    package func dropSessionForTesting() async {
        await core.dropSession()
    }
}

