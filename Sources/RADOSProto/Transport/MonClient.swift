import Foundation
import NIOCore
import NIOPosix


/// A minimal monitor client: connects to one monitor over msgr2.1, authenticates with
/// cephx, subscribes to maps and hands out the messages the monitor sends.
///
/// Source: kernel `net/ceph/mon_client.c`, ceph/ceph `src/mon/MonClient.cc`. The
/// connection state lives on its channel's event loop; this type only bridges to async.
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
    private let events: AsyncStream<MessengerEvent>

    private init(channel: any Channel, authOutcome: AuthOutcome, serverIdent: ServerIdentFrame, events: AsyncStream<MessengerEvent>) {
        self.channel = channel
        self.authOutcome = authOutcome
        self.serverIdent = serverIdent
        self.events = events
    }

    /// Connects and authenticates; returns once the session is open.
    package static func connect(
        to endpoint: Endpoint,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(10),
        tap: (@Sendable (MessengerHandler.Direction, ByteBuffer) -> Void)? = nil
    ) async throws -> MonClient {
        guard let address = EntityAddress.ipv4(endpoint.host, port: UInt16(clamping: endpoint.port)) else {
            throw RADOSError(.invalidArgument, "monitor host must be an IPv4 address", details: endpoint.host)
        }
        var configuration = ProtocolV2Client.Configuration(peerAddress: address, peerType: .mon)
        configuration.modes = endpoint.modes
        let machine = ProtocolV2Client(
            configuration: configuration,
            authenticator: .monitor(CephXMonitorAuth(entityName: endpoint.entityName, secret: endpoint.key)))
        return try await connect(host: endpoint.host, port: endpoint.port, machine: machine, group: group, timeout: timeout, tap: tap)
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
        return MonClient(channel: session.channel, authOutcome: session.authOutcome, serverIdent: session.serverIdent, events: session.events)
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

    /// The next message from the monitor, or nil once the connection is closed.
    /// Single consumer.
    package func nextMessage() async throws -> Message? {
        for await event in events {
            switch event {
            case .message(let message): return message
            case .closed(let error): throw error
            case .authenticated, .ready, .keepaliveAck: continue
            }
        }
        return nil
    }

    /// Waits for the next MMonMap.
    package func nextMonMap() async throws -> MMonMap {
        while let message = try await nextMessage() {
            if message.type == MessageType.monMap { return try MMonMap.decode(message) }
        }
        throw RADOSError(.connectionFailed, "the monitor closed the connection before sending a monmap")
    }

    /// Asks the monitor for fresh tickets for `services` (CEPHX_GET_PRINCIPAL_SESSION_KEY
    /// in an MAuth). Messages other than the reply that arrive meanwhile are dropped:
    /// call it before relying on `nextMessage()`.
    package func requestServiceTickets(_ services: [CephEntityType]) async throws -> [CephXTicket] {
        guard let authTicket = authOutcome.tickets.first(where: { $0.service == CephEntityType.auth.rawValue }) else {
            throw RADOSError(.authenticationFailed, "no AUTH ticket to request service tickets with")
        }
        let bits = services.reduce(UInt32(0)) { $0 | $1.rawValue }
        let request = try CephXServiceTicketRequest.encode(authTicket: authTicket, globalID: authOutcome.globalID, services: bits)
        try await send(MAuth(payload: request).encode())
        while let message = try await nextMessage() {
            guard message.type == MessageType.authReply else { continue }
            let reply = try MAuthReply.decode(message)
            guard reply.result == 0 else {
                throw RADOSError(.authenticationFailed, "the monitor refused the ticket request", errno: Int32(clamping: abs(Int(reply.result))))
            }
            return try CephXServiceTicketRequest.decodeReply(reply.payload, authTicket: authTicket, previous: authOutcome.tickets)
        }
        throw RADOSError(.connectionFailed, "the monitor closed the connection before answering")
    }

    /// Runs a monitor command (JSON strings, as `ceph` sends) and returns its output.
    /// `fsid` comes from the monmap. Other messages arriving meanwhile are dropped.
    package func command(_ command: [String], fsid: MMonMap.UUIDBytes, tid: UInt64 = 1, input: ByteBuffer = ByteBuffer()) async throws -> MMonCommandAck {
        try await send(MMonCommand(tid: tid, fsid: fsid.bytes, command: command, input: input).encode())
        while let message = try await nextMessage() {
            guard message.type == MessageType.monCommandAck, message.header.tid == tid else { continue }
            let ack = try MMonCommandAck.decode(message)
            guard ack.result >= 0 else {
                throw RADOSError(.clusterError, "the monitor command failed: \(ack.status)", errno: Int32(clamping: abs(Int(ack.result))))
            }
            return ack
        }
        throw RADOSError(.connectionFailed, "the monitor closed the connection before answering")
    }

    package func close() async {
        try? await channel.close()
    }
}
