import Foundation
import NIOCore
import NIOPosix

/// A minimal monitor client: connects to a monitor over msgr2.1, authenticates with
/// cephx, subscribes to maps, runs commands and renews tickets.
///
/// Source: kernel `net/ceph/mon_client.c`, ceph/ceph `src/mon/MonClient.cc`. The
/// connection state lives on its channel's event loop; a router task sorts what the
/// monitor sends: command acks and auth replies go to their waiters, everything else
/// (maps, …) to ``nextMessage()``.
package final class MonClient: Sendable {
    /// Where and who: the monitor's v2 address and our cephx identity. The lead replaces
    /// this with the configuration layer.
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

    package let channel: any Channel
    package let authOutcome: AuthOutcome
    package let serverIdent: ServerIdentFrame
    private let router: Router
    private let unrouted: AsyncStream<Message>
    /// Our entity secret, kept to renew the AUTH ticket on this session.
    private let secret: CryptoKey?

    private init(session: MessengerSession, secret: CryptoKey?) {
        self.secret = secret
        channel = session.channel
        authOutcome = session.authOutcome
        serverIdent = session.serverIdent
        let (stream, continuation) = AsyncStream<Message>.makeStream()
        unrouted = stream
        let router = Router()
        self.router = router
        let events = session.events
        Task {
            for await event in events {
                switch event {
                case .message(let message):
                    if await !router.route(message) { continuation.yield(message) }
                case .closed(let error):
                    await router.fail(error)
                case .authenticated, .ready, .keepaliveAck:
                    continue
                }
            }
            await router.fail(RADOSError(.connectionFailed, "the monitor connection is closed"))
            continuation.finish()
        }
    }

    /// Waiters for replies. A reply is expected (registered) before its request is sent,
    /// so one that arrives before anybody awaits it is kept, not lost.
    private actor Router {
        private enum Slot {
            case expected
            case waiting(CheckedContinuation<Message, any Error>)
            case arrived(Message)
        }

        /// Command acks by tid; auth replies (tid 0 on the wire) by request order. Ids
        /// come from one counter, so one table holds both.
        private var slots: [UInt64: Slot] = [:]
        private var authOrder: [UInt64] = []
        private var nextID: UInt64 = 1
        private var closedError: RADOSError?

        func expectCommand() throws -> UInt64 {
            if let closedError { throw closedError }
            defer { nextID += 1 }
            slots[nextID] = .expected
            return nextID
        }

        func expectAuthReply() throws -> UInt64 {
            if let closedError { throw closedError }
            defer { nextID += 1 }
            slots[nextID] = .expected
            authOrder.append(nextID)
            return nextID
        }

        func wait(_ id: UInt64) async throws -> Message {
            switch slots[id] {
            case .arrived(let message):
                slots[id] = nil
                return message
            case .expected:
                return try await withCheckedThrowingContinuation { slots[id] = .waiting($0) }
            case .waiting, nil:
                throw closedError ?? RADOSError(.timedOut, "the monitor did not answer in time")
            }
        }

        private func deliver(_ message: Message, id: UInt64) -> Bool {
            switch slots[id] {
            case .expected:
                slots[id] = .arrived(message)
                return true
            case .waiting(let continuation):
                slots[id] = nil
                continuation.resume(returning: message)
                return true
            case .arrived, nil:
                return false
            }
        }

        func timeout(command id: UInt64) {
            if case .waiting(let continuation) = slots.removeValue(forKey: id) {
                continuation.resume(throwing: RADOSError(.timedOut, "the monitor did not answer in time"))
            }
        }

        /// Hands `message` to whoever expects it; false when nobody does.
        func route(_ message: Message) -> Bool {
            switch message.type {
            case MessageType.monCommandAck:
                // Only tids we handed out for commands (auth ids are never sent as tids).
                guard !authOrder.contains(message.header.tid) else { return false }
                return deliver(message, id: message.header.tid)
            case MessageType.monGetVersionReply:
                // Matched by the handle at the start of the front.
                guard let handle = message.front.getInteger(at: message.front.readerIndex, endianness: .little, as: UInt64.self),
                      !authOrder.contains(handle)
                else { return false }
                return deliver(message, id: handle)
            case MessageType.poolOpReply:
                return !authOrder.contains(message.header.tid) && deliver(message, id: message.header.tid)
            case MessageType.authReply:
                guard !authOrder.isEmpty else { return false }
                return deliver(message, id: authOrder.removeFirst())
            default:
                return false
            }
        }

        func fail(_ error: RADOSError) {
            if closedError == nil { closedError = error }
            for slot in slots.values {
                if case .waiting(let continuation) = slot { continuation.resume(throwing: error) }
            }
            slots.removeAll()
            authOrder.removeAll()
        }
    }

    /// Connects and authenticates; returns once the session is open.
    package static func connect(
        to endpoint: Endpoint,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(10),
        tap: (@Sendable (MessengerHandler.Direction, ByteBuffer) -> Void)? = nil
    ) async throws -> MonClient {
        guard let address = EntityAddress.ip(endpoint.host, port: UInt16(clamping: endpoint.port)) else {
            throw RADOSError(.invalidArgument, "monitor host must be a numeric IPv4 or IPv6 address", details: endpoint.host)
        }
        var configuration = ProtocolV2Client.Configuration(peerAddress: address, peerType: .mon)
        configuration.modes = endpoint.modes
        let machine = ProtocolV2Client(
            configuration: configuration,
            authenticator: .monitor(CephXMonitorAuth(entityName: endpoint.entityName, secret: endpoint.key)))
        let session = try await MessengerSession.open(host: endpoint.host, port: endpoint.port, machine: machine, group: group, timeout: timeout, tap: tap)
        return MonClient(session: session, secret: endpoint.key)
    }

    /// Tries each monitor in turn (like `MonClient` hunting) and returns the first session.
    package static func connect(
        toAnyOf endpoints: [Endpoint],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(10)
    ) async throws -> MonClient {
        var lastError = RADOSError(.invalidArgument, "no monitor addresses given")
        for endpoint in endpoints {
            do {
                return try await connect(to: endpoint, group: group, timeout: timeout)
            } catch let error as RADOSError {
                // A refused key fails the same way on every monitor.
                if error.code == .authenticationFailed { throw error }
                lastError = error
            }
        }
        throw lastError
    }

    /// Connects with a prepared state machine (tests pin its random values this way).
    package static func connect(
        host: String,
        port: Int,
        machine: ProtocolV2Client,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(10),
        tap: (@Sendable (MessengerHandler.Direction, ByteBuffer) -> Void)? = nil
    ) async throws -> MonClient {
        let session = try await MessengerSession.open(host: host, port: port, machine: machine, group: group, timeout: timeout, tap: tap)
        return MonClient(session: session, secret: nil)
    }

    /// Sends a message (in order with earlier ones).
    package func send(_ message: Message) async throws {
        do {
            try await channel.writeAndFlush(message)
        } catch {
            throw RADOSError(.connectionFailed, "the monitor connection is closed", details: "\(error)")
        }
    }

    /// Subscribes to `monmap` and `osdmap` from their first epochs.
    package func subscribe(_ what: [String: MMonSubscribe.Item] = ["monmap": .init(start: 0), "osdmap": .init(start: 0)]) async throws {
        try await send(MMonSubscribe(what: what, hostname: ProcessInfo.processInfo.hostName).encode())
    }

    /// The next message no waiter claimed (maps, …), or nil once the connection is
    /// closed. Single consumer.
    package func nextMessage() async throws -> Message? {
        for await message in unrouted { return message }
        return nil
    }

    /// Waits for the next MMonMap (other unclaimed messages are skipped).
    package func nextMonMap() async throws -> MMonMap {
        while let message = try await nextMessage() {
            if message.type == MessageType.monMap { return try MMonMap.decode(message) }
        }
        throw RADOSError(.connectionFailed, "the monitor closed the connection before sending a monmap")
    }

    /// Asks the monitor for fresh tickets for `services` (CEPHX_GET_PRINCIPAL_SESSION_KEY
    /// in an MAuth).
    package func requestServiceTickets(_ services: [CephEntityType]) async throws -> [CephXTicket] {
        guard let authTicket = authOutcome.tickets.first(where: { $0.service == CephEntityType.auth.rawValue }) else {
            throw RADOSError(.authenticationFailed, "no AUTH ticket to request service tickets with")
        }
        let bits = services.reduce(UInt32(0)) { $0 | $1.rawValue }
        let request = try CephXServiceTicketRequest.encode(authTicket: authTicket, globalID: authOutcome.globalID, services: bits)
        let id = try await router.expectAuthReply()
        try await send(MAuth(payload: request).encode())
        let answer = try MAuthReply.decode(try await router.wait(id))
        guard answer.result == 0 else {
            throw RADOSError(.authenticationFailed, "the monitor refused the ticket request", errno: Int32(clamping: abs(Int(answer.result))))
        }
        return try CephXServiceTicketRequest.decodeReply(answer.payload, authTicket: authTicket, previous: authOutcome.tickets)
    }

    /// Renews the AUTH ticket (and the service tickets) on this session:
    /// GET_AUTH_SESSION_KEY in an MAuth, proving the key against the session's server
    /// challenge and presenting the current AUTH ticket. Returns the new tickets.
    package func renewTickets(current: [CephXTicket]? = nil, wantKeys: UInt32 = CephEntityType.mon.rawValue | CephEntityType.osd.rawValue | CephEntityType.mgr.rawValue) async throws -> [CephXTicket] {
        let tickets = current ?? authOutcome.tickets
        guard let secret, let authTicket = tickets.first(where: { $0.service == CephEntityType.auth.rawValue }) else {
            throw RADOSError(.authenticationFailed, "renewing needs our key and an AUTH ticket")
        }
        let request = try CephXMonitorAuth.authenticateRequest(
            secret: secret, serverChallenge: authOutcome.serverChallenge, previousAuthTicket: authTicket, wantKeys: wantKeys)
        let id = try await router.expectAuthReply()
        try await send(MAuth(payload: request).encode())
        let answer = try MAuthReply.decode(try await router.wait(id))
        guard answer.result == 0 else {
            throw RADOSError(.authenticationFailed, "the monitor refused to renew our tickets", errno: Int32(clamping: abs(Int(answer.result))))
        }
        return try CephXMonitorAuth.decodeAuthenticateReply(answer.payload, secret: secret, previousTickets: tickets).tickets
    }

    /// Runs a monitor command (JSON strings, as `ceph` sends) and returns its output.
    /// `fsid` comes from the monmap.
    package func command(_ command: [String], fsid: CephFSID, input: ByteBuffer = ByteBuffer(), timeout: Duration = .seconds(30)) async throws -> MMonCommandAck {
        let router = self.router
        let tid = try await router.expectCommand()
        let timer = Task {
            try await Task.sleep(for: timeout)
            await router.timeout(command: tid)
        }
        defer { timer.cancel() }
        try await send(MMonCommand(tid: tid, fsid: fsid.uuid.bytes, command: command, input: input).encode())
        let ack = try MMonCommandAck.decode(try await router.wait(tid))
        guard ack.result >= 0 else {
            throw RADOSError(.clusterError, "the monitor command failed: \(ack.status)", errno: Int32(clamping: abs(Int(ack.result))))
        }
        return ack
    }

    /// Sends the message `make` builds for a fresh tid and waits for the reply the
    /// router matches to that tid (pool ops).
    package func request(timeout: Duration = .seconds(30), _ make: (UInt64) -> Message) async throws -> Message {
        let router = self.router
        let tid = try await router.expectCommand()
        let timer = Task {
            try await Task.sleep(for: timeout)
            await router.timeout(command: tid)
        }
        defer { timer.cancel() }
        try await send(make(tid))
        return try await router.wait(tid)
    }

    /// The newest and oldest epochs the monitors have of a map ("osdmap", "monmap", …).
    package func version(of map: String, timeout: Duration = .seconds(30)) async throws -> MMonGetVersionReply {
        let router = self.router
        let handle = try await router.expectCommand()
        let timer = Task {
            try await Task.sleep(for: timeout)
            await router.timeout(command: handle)
        }
        defer { timer.cancel() }
        try await send(MMonGetVersion(handle: handle, what: map).encode())
        return try MMonGetVersionReply.decode(try await router.wait(handle))
    }

    package func close() async {
        try? await channel.close()
    }
}
