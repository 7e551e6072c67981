import NIOCore
import NIOPosix

/// An open msgr2 session to any daemon: the channel, what authentication produced, and
/// the events after SERVER_IDENT. The monitor client and the Objecter open theirs with
/// ``open(host:port:machine:eventLoop:timeout:keepaliveInterval:silenceLimit:)``, whose
/// events go to a ``MessengerEventRoute`` on the channel's loop (no stream, no task, so
/// no wait on Swift's cooperative pool); tools and tests may read ``events`` instead.
package struct MessengerSession: Sendable {
    package let channel: any Channel
    package let authOutcome: AuthOutcome
    package let serverIdent: ServerIdentFrame
    /// The events of a session opened with the async `open` (empty and finished for a
    /// routed one).
    package let events: AsyncStream<MessengerEvent>
    /// Where a routed session's events go (nil for one opened with the async `open`).
    package let route: MessengerEventRoute?
    /// The session's handler, for ``send(header:front:data:)`` on the loop.
    let handler: NIOLoopBound<MessengerHandler>

    /// Writes a message on the session without flushing, from the channel's loop only,
    /// its front encoded straight into its frame: the caller flushes ``channel`` once
    /// after everything it sends in this turn of the loop, so frames for several requests
    /// leave in one `writev`.
    package func send<Front: EncodableFront>(header: MessageHeader2, front: Front, data: ByteBuffer) {
        handler.value.send(header: header, front: front, data: data)
    }

    /// Socket reads grow from 2 KiB up to 1 MiB while they keep filling their buffer
    /// (NIO stops at 64 KiB by default): a 4 MiB read reply takes 4 reads instead of 64
    /// or more; small replies keep small buffers.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 1 << 20)

    /// Opens a session to an OSD, manager or MDS with a service ticket from the monitor.
    /// `address` is the daemon's v2 address from its map, nonce included (the daemon
    /// checks it). Modes default to Ceph's order for that daemon type.
    package static func open(
        to address: EntityAddress,
        peerType: CephEntityType,
        ticket: CephXTicket,
        globalID: UInt64,
        modes: [ConnectionMode]? = nil,
        group: any EventLoopGroup = ClientEventLoop.group,
        timeout: TimeAmount = .seconds(10)
    ) async throws -> MessengerSession {
        let (host, port, machine) = try serviceMachine(to: address, peerType: peerType, ticket: ticket, globalID: globalID, modes: modes)
        return try await open(host: host, port: port, machine: machine, group: group, timeout: timeout)
    }

    /// Where and how to reach a daemon with a service ticket (modes default to Ceph's
    /// order for its type).
    private static func serviceMachine(
        to address: EntityAddress, peerType: CephEntityType, ticket: CephXTicket, globalID: UInt64, modes: [ConnectionMode]?
    ) throws(RADOSError) -> (host: String, port: Int, machine: ProtocolV2Client) {
        guard let host = address.host, let port = address.port else {
            throw RADOSError(.invalidArgument, "the daemon has no IP address", details: address.description)
        }
        var configuration = ProtocolV2Client.Configuration(peerAddress: address, peerType: peerType)
        if let modes { configuration.modes = modes }
        let machine = ProtocolV2Client(configuration: configuration, authenticator: .service(CephXAuthorizer(ticket: ticket, globalID: globalID)))
        return (host, Int(port), machine)
    }

    /// Connects, runs the handshake and returns once the session is open.
    package static func open(
        host: String,
        port: Int,
        machine: ProtocolV2Client,
        group: any EventLoopGroup = ClientEventLoop.group,
        timeout: TimeAmount = .seconds(10),
        keepaliveInterval: TimeAmount? = .seconds(10),
        silenceLimit: TimeAmount? = nil,
        tap: (@Sendable (MessengerHandler.Direction, ByteBuffer) -> Void)? = nil
    ) async throws -> MessengerSession {
        let (stream, continuation) = AsyncStream<MessengerEvent>.makeStream()
        let channel: any Channel
        let installed = InstalledHandler()
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.recvAllocator, value: MessengerSession.receiveBuffers)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = MessengerHandler(machine: machine, keepaliveInterval: keepaliveInterval, silenceLimit: silenceLimit, tap: tap) { event in
                            continuation.yield(event)
                            if case .closed = event { continuation.finish() }
                        }
                        installed.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw ConnectFailure.error(host: host, port: port, error)
        }
        guard let handler = installed.handler else {
            channel.close(promise: nil)
            throw RADOSError(.connectionFailed, "the connection opened without its messenger handler", details: "\(host):\(port)")
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
                return MessengerSession(channel: channel, authOutcome: outcome, serverIdent: ident, events: stream, route: nil, handler: handler)
            case .closed(let error):
                deadline.cancel()
                throw error
            case .message, .keepaliveAck, .peerReset:
                continue
            }
        }
        throw RADOSError(.timedOut, "the peer did not complete the handshake in time", details: "\(host):\(port)")
    }

    /// Opens a session to an OSD, manager or MDS (as the async form above does) whose
    /// events are routed on the channel's loop.
    package static func open(
        to address: EntityAddress,
        peerType: CephEntityType,
        ticket: CephXTicket,
        globalID: UInt64,
        modes: [ConnectionMode]? = nil,
        eventLoop: any EventLoop,
        timeout: TimeAmount = .seconds(10)
    ) -> EventLoopFuture<MessengerSession> {
        do {
            let (host, port, machine) = try serviceMachine(to: address, peerType: peerType, ticket: ticket, globalID: globalID, modes: modes)
            return open(host: host, port: port, machine: machine, eventLoop: eventLoop, timeout: timeout)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    /// Connects and runs the handshake on `eventLoop`; the future completes there once
    /// the session is open (or fails with the reason). Every event after SERVER_IDENT
    /// goes to the session's ``route``, in order, on the loop: its owner attaches there.
    package static func open(
        host: String,
        port: Int,
        machine: ProtocolV2Client,
        eventLoop: any EventLoop,
        timeout: TimeAmount = .seconds(10),
        keepaliveInterval: TimeAmount? = .seconds(10),
        silenceLimit: TimeAmount? = nil
    ) -> EventLoopFuture<MessengerSession> {
        let promise = eventLoop.makePromise(of: MessengerSession.self)
        let handshake = Handshake(promise: promise)
        let finished = AsyncStream<MessengerEvent> { $0.finish() }
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: MessengerSession.receiveBuffers)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = MessengerHandler(machine: machine, keepaliveInterval: keepaliveInterval, silenceLimit: silenceLimit) { event in
                        // The handler runs on the channel's loop: so does everything below.
                        handshake.received(event, channel: channel, finished: finished)
                    }
                    handshake.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port)
        connected.whenFailure { error in
            handshake.fail(ConnectFailure.error(host: host, port: port, error))
        }
        connected.whenSuccess { channel in
            let deadline = eventLoop.scheduleTask(in: timeout) {
                handshake.fail(RADOSError(.timedOut, "the peer did not complete the handshake in time", details: "\(host):\(port)"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
            channel.closeFuture.whenComplete { _ in
                handshake.channelClosed()
            }
        }
        return promise.futureResult
    }

    /// The handshake of a routed session, then its route: confined to the channel's loop.
    private final class Handshake: @unchecked Sendable {
        private let promise: EventLoopPromise<MessengerSession>
        private var outcome: AuthOutcome?
        private var route: MessengerEventRoute?
        private var failed = false
        /// Set by the channel initializer, on the loop, before any event.
        var handler: NIOLoopBound<MessengerHandler>?

        init(promise: EventLoopPromise<MessengerSession>) {
            self.promise = promise
        }

        func received(_ event: MessengerEvent, channel: any Channel, finished: AsyncStream<MessengerEvent>) {
            if let route {
                route.deliver(event)
                return
            }
            guard !failed else { return }
            switch event {
            case .authenticated(let result):
                outcome = result
            case .ready(let ident):
                guard let outcome, let handler else {
                    fail(RADOSError(.connectionFailed, "the peer was ready before authentication completed"))
                    channel.close(promise: nil)
                    return
                }
                let route = MessengerEventRoute(eventLoop: channel.eventLoop)
                self.route = route
                promise.succeed(MessengerSession(channel: channel, authOutcome: outcome, serverIdent: ident, events: finished, route: route, handler: handler))
            case .closed(let error):
                fail(error)
            case .message, .keepaliveAck, .peerReset:
                break
            }
        }

        func fail(_ error: RADOSError) {
            guard route == nil, !failed else { return }
            failed = true
            promise.fail(error)
        }

        /// The channel is gone: a route still waiting hears `.closed` (the handler says it
        /// first when it noticed; the route passes one `.closed` on at most).
        func channelClosed() {
            if let route {
                route.deliver(.closed(RADOSError(.connectionFailed, "the connection closed")))
            } else {
                fail(RADOSError(.connectionFailed, "the connection closed during the handshake"))
            }
        }
    }
}

/// The handler a channel initializer made, handed out of it (written once, on the
/// channel's loop, before the connect future completes).
private final class InstalledHandler: @unchecked Sendable {
    var handler: NIOLoopBound<MessengerHandler>?
}

/// Where a routed session's events go: its owner's handler, called synchronously on the
/// channel's loop. Events that arrive before the owner attaches are kept and handed over,
/// in order, when it does; after `.closed` nothing more is passed on. Confined to the
/// loop: ``deliver(_:)`` and ``attach(_:)`` must be called there.
package final class MessengerEventRoute: @unchecked Sendable {
    private let eventLoop: any EventLoop
    private var handler: ((MessengerEvent) -> Void)?
    private var pending: [MessengerEvent] = []
    private var isClosed = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Hands every event (first those kept so far) to `handler`, on the loop.
    package func attach(_ handler: @escaping (MessengerEvent) -> Void) {
        eventLoop.preconditionInEventLoop()
        self.handler = handler
        let kept = pending
        pending = []
        for event in kept { handler(event) }
    }

    func deliver(_ event: MessengerEvent) {
        eventLoop.assertInEventLoop()
        guard !isClosed else { return }
        if case .closed = event { isClosed = true }
        if let handler {
            handler(event)
            if isClosed { self.handler = nil }  // nothing follows: let the owner go
        } else {
            pending.append(event)
        }
    }
}
