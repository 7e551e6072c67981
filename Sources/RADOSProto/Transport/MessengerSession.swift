import NIOCore
import NIOPosix

/// An open msgr2 session to any daemon: the channel, what authentication produced, and
/// the stream of events after SERVER_IDENT. MonClient and (later) the Objecter's OSD
/// connections are built on it.
package struct MessengerSession: Sendable {
    package let channel: any Channel
    package let authOutcome: AuthOutcome
    package let serverIdent: ServerIdentFrame
    package let events: AsyncStream<MessengerEvent>

    /// Opens a session to an OSD, manager or MDS with a service ticket from the monitor.
    /// `address` is the daemon's v2 address from its map, nonce included (the daemon
    /// checks it). Modes default to Ceph's order for that daemon type.
    package static func open(
        to address: EntityAddress,
        peerType: CephEntityType,
        ticket: CephXTicket,
        globalID: UInt64,
        modes: [ConnectionMode]? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(10)
    ) async throws -> MessengerSession {
        guard let host = address.host, let port = address.port else {
            throw RADOSError(.invalidArgument, "the daemon has no IP address", details: address.description)
        }
        var configuration = ProtocolV2Client.Configuration(peerAddress: address, peerType: peerType)
        if let modes { configuration.modes = modes }
        let machine = ProtocolV2Client(configuration: configuration, authenticator: .service(CephXAuthorizer(ticket: ticket, globalID: globalID)))
        return try await open(host: host, port: Int(port), machine: machine, group: group, timeout: timeout)
    }

    /// Connects, runs the handshake and returns once the session is open.
    package static func open(
        host: String,
        port: Int,
        machine: ProtocolV2Client,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(10),
        keepaliveInterval: TimeAmount? = .seconds(10),
        silenceLimit: TimeAmount? = nil,
        tap: (@Sendable (MessengerHandler.Direction, ByteBuffer) -> Void)? = nil
    ) async throws -> MessengerSession {
        let (stream, continuation) = AsyncStream<MessengerEvent>.makeStream()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(MessengerHandler(machine: machine, keepaliveInterval: keepaliveInterval, silenceLimit: silenceLimit, tap: tap) { event in
                            continuation.yield(event)
                            if case .closed = event { continuation.finish() }
                        })
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw RADOSError(.connectionFailed, "cannot connect", details: "\(host):\(port): \(error)")
        }
        channel.closeFuture.whenComplete { _ in continuation.finish() }

        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        var outcome: AuthOutcome?
        for await event in stream {
            switch event {
            case .authenticated(let result):
                outcome = result
            case .ready(let ident):
                deadline.cancel()
                guard let outcome else { break }
                return MessengerSession(channel: channel, authOutcome: outcome, serverIdent: ident, events: stream)
            case .closed(let error):
                deadline.cancel()
                throw error
            case .message, .keepaliveAck, .peerReset:
                continue
            }
        }
        throw RADOSError(.timedOut, "the peer did not complete the handshake in time", details: "\(host):\(port)")
    }
}
