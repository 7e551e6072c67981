import Foundation
import NIOCore
import NIOPosix

extension MonClient {
    /// Runs the ``MonClientStateMachine``'s actions: opens sessions, routes replies to
    /// their waiters, keeps requests to send again, renews tickets.
    actor Core {
        /// The client's loop: this actor's executor, and where its sessions' channels live.
        nonisolated let eventLoop: any EventLoop
        nonisolated var unownedExecutor: UnownedSerialExecutor { eventLoop.executor.asUnownedSerialExecutor() }

        private enum Slot {
            case expected
            case waiting(CheckedContinuation<Message, any Error>)
            case arrived(Message)
        }

        private var machine: MonClientStateMachine
        /// `mon_host`'s monitors, then any others the monmap named.
        private var endpoints: [Endpoint]
        private let options: Options
        private let shared: Shared
        private let continuation: AsyncStream<Message>.Continuation
        private var session: MessengerSession?
        /// Bumped for every session and attempt, so late events of an old one are ignored.
        private var generation: UInt64 = 0
        private var ticker: RepeatedTask?
        /// Where unclaimed messages go once an owner (the Objecter) takes them on the
        /// loop; until then they wait in the stream ``nextMessage()`` reads.
        private var unroutedHandler: (@Sendable (Message?) -> Void)?
        /// Whether new sessions try to reclaim our global id; dropped after a refusal (an
        /// AUTH ticket that expired while no monitor was reachable), restored on success.
        private var reclaimGlobalID = true

        /// Reply waiters: command acks and version replies by tid/handle, auth replies
        /// (tid 0 on the wire) by request order. Ids come from one counter.
        private var slots: [UInt64: Slot] = [:]
        private var authOrder: [UInt64] = []
        private var nextID: UInt64 = 1
        /// Requests to send again on a new session, by id.
        private var requests: [UInt64: Message] = [:]

        /// The first session is in place from the start, so requests made right after
        /// `connect` go out at once; ``begin()`` starts reading it and the timer.
        init(
            machine: MonClientStateMachine, session: MessengerSession, monitor: Int, endpoints: [Endpoint], options: Options,
            shared: Shared, continuation: AsyncStream<Message>.Continuation, eventLoop: any EventLoop
        ) {
            self.eventLoop = eventLoop
            var machine = machine
            _ = machine.sessionOpened(monitor: monitor, tickets: .init(session.authOutcome.tickets), now: .now())
            self.machine = machine
            self.session = session
            self.generation = 1
            shared.update { $0.sessionsOpened = 1 }
            self.endpoints = endpoints
            self.options = options
            self.shared = shared
            self.continuation = continuation
        }

        var finalError: RADOSError? { machine.closedError }

        static func open(
            _ endpoint: Endpoint, options: Options, previous: AuthOutcome?, eventLoop: any EventLoop,
            tap: (@Sendable (MessengerHandler.Direction, ByteBuffer) -> Void)?
        ) async throws -> MessengerSession {
            guard let tap else {
                return try await openRouted(endpoint, options: options, previous: previous, eventLoop: eventLoop).get()
            }
            return try await MessengerSession.open(
                host: endpoint.host, port: endpoint.port, machine: machine(endpoint, previous: previous), group: eventLoop,
                timeout: options.connectTimeout, keepaliveInterval: options.pingInterval, silenceLimit: options.pingTimeout, tap: tap)
        }

        /// A routed session to `endpoint` (its events handled on the loop), opened without
        /// any task: the future completes on the loop.
        static func openRouted(_ endpoint: Endpoint, options: Options, previous: AuthOutcome?, eventLoop: any EventLoop) -> EventLoopFuture<MessengerSession> {
            do {
                return MessengerSession.open(
                    host: endpoint.host, port: endpoint.port, machine: try machine(endpoint, previous: previous), eventLoop: eventLoop,
                    timeout: options.connectTimeout, keepaliveInterval: options.pingInterval, silenceLimit: options.pingTimeout)
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
        }

        /// The protocol machine for a monitor session. A new session after a loss
        /// reclaims our global id with the AUTH ticket we hold (`previous`).
        private static func machine(_ endpoint: Endpoint, previous: AuthOutcome?) throws(RADOSError) -> ProtocolV2Client {
            guard let address = EntityAddress.ip(endpoint.host, port: UInt16(clamping: endpoint.port)) else {
                throw RADOSError(.invalidArgument, "monitor host must be a numeric IPv4 or IPv6 address", details: endpoint.host)
            }
            var configuration = ProtocolV2Client.Configuration(peerAddress: address, peerType: .mon)
            configuration.modes = endpoint.modes
            let auth = CephXMonitorAuth(
                entityName: endpoint.entityName, secret: endpoint.key, globalID: previous?.globalID ?? 0,
                previousAuthTicket: previous?.tickets.first { $0.service == CephEntityType.auth.rawValue })
            return ProtocolV2Client(configuration: configuration, authenticator: .monitor(auth))
        }

        // MARK: session lifecycle

        func begin() {
            if let session { pump(session, generation: generation) }
            let interval = options.tickInterval
            // A loop timer, not a task: it fires even while Swift's cooperative pool is
            // busy (a task wakes through that pool). Close (giveUp) cancels it.
            let period = TimeAmount.nanoseconds(max(interval.nanoseconds, 1_000_000))
            ticker = eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { [weak self] _ in
                self?.assumeIsolated { $0.tick() }
            }
        }

        private func adopt(_ session: MessengerSession) {
            generation += 1
            self.session = session
            shared.update(outcome: session.authOutcome, ident: session.serverIdent) { $0.sessionsOpened += 1 }
            pump(session, generation: generation)
        }

        /// Takes a session's events: on the loop as they arrive (a routed session), or
        /// from its stream (one a test opened with a tap).
        private func pump(_ session: MessengerSession, generation current: UInt64) {
            if let route = session.route {
                route.attach { [weak self] event in
                    self?.assumeIsolated { $0.sessionEvent(event, generation: current) }
                }
                return
            }
            Task { [self] in
                var reason = RADOSError(.connectionFailed, "the monitor closed the connection")
                for await event in session.events {
                    if case .closed(let error) = event { reason = error } else { sessionEvent(event, generation: current) }
                }
                sessionEvent(.closed(reason), generation: current)
            }
        }

        private func sessionEvent(_ event: MessengerEvent, generation current: UInt64) {
            switch event {
            case .message(let message):
                received(message, generation: current)
            case .closed(let error):
                sessionEnded(error, generation: current)
            case .authenticated, .ready, .keepaliveAck, .peerReset:
                break
            }
        }

        private func sessionEnded(_ error: RADOSError, generation ended: UInt64) {
            guard ended == generation, session != nil else { return }
            session = nil
            run(machine.sessionClosed(error, now: .now()))
        }

        func dropSession() {
            session?.channel.close(promise: nil)
        }

        private func attemptFinished(_ result: Result<MessengerSession, any Error>, monitor: Int, generation attempt: UInt64) {
            guard attempt == generation, !machine.isClosed else {
                if case .success(let late) = result { late.channel.close(promise: nil) }
                return
            }
            switch result {
            case .success(let session):
                reclaimGlobalID = true
                adopt(session)
                run(machine.sessionOpened(monitor: monitor, tickets: .init(session.authOutcome.tickets), now: .now()))
            case .failure(let error):
                let rados = error as? RADOSError ?? RADOSError(.connectionFailed, "cannot connect to the monitor", details: "\(error)")
                if rados.code == .authenticationFailed { reclaimGlobalID = false }
                run(machine.connectFailed(rados, now: .now()))
            }
        }

        private func tick() {
            eventLoop.assertInEventLoop()
            run(machine.tick(now: .now()))
        }

        func close() {
            run(machine.close())
        }

        // MARK: actions

        private func run(_ actions: [MonClientStateMachine.Action]) {
            for action in actions {
                switch action {
                case .connect(let monitor):
                    generation += 1
                    let attempt = generation
                    let endpoint = endpoints[monitor]
                    let previous = reclaimGlobalID ? shared.outcome : nil
                    var options = self.options
                    options.connectTimeout = min(options.connectTimeout, machine.attemptTimeout)
                    // Completes on the loop, so a new session needs no task either.
                    Core.openRouted(endpoint, options: options, previous: previous, eventLoop: eventLoop).whenComplete { [weak self] result in
                        let outcome = result.mapError { $0 as any Error }
                        self?.assumeIsolated { $0.attemptFinished(outcome, monitor: monitor, generation: attempt) }
                    }
                case .subscribe(let items):
                    session?.channel.writeAndFlush(MMonSubscribe(what: items, hostname: ProcessInfo.processInfo.hostName).encode(), promise: nil)
                case .sendRequests(let ids, let again):
                    guard let channel = session?.channel else { break }
                    for id in ids {
                        guard let message = requests[id] else { continue }
                        channel.write(message, promise: nil)
                    }
                    channel.flush()
                    if again { shared.update { $0.requestsResent += ids.count } }
                case .renewAuthTicket:
                    Task { [self] in await renewOnTimer(auth: true) }
                case .renewServiceTickets:
                    Task { [self] in await renewOnTimer(auth: false) }
                case .sessionLost(let error):
                    // Auth replies belong to the session that asked.
                    for id in authOrder {
                        if case .waiting(let waiter) = slots.removeValue(forKey: id) { waiter.resume(throwing: error) }
                    }
                    authOrder.removeAll()
                case .giveUp(let error):
                    ticker?.cancel()
                    ticker = nil
                    generation += 1
                    session?.channel.close(promise: nil)
                    session = nil
                    for slot in slots.values {
                        if case .waiting(let waiter) = slot { waiter.resume(throwing: error) }
                    }
                    slots.removeAll()
                    authOrder.removeAll()
                    requests.removeAll()
                    continuation.finish()
                    unroutedHandler?(nil)
                    unroutedHandler = nil
                }
            }
        }

        // MARK: messages

        private func received(_ message: Message, generation from: UInt64) {
            eventLoop.assertInEventLoop()
            guard from == generation else { return }
            switch message.type {
            case MessageType.monCommandAck:
                if !authOrder.contains(message.header.tid), deliver(message, id: message.header.tid) { return }
            case MessageType.poolOpReply:
                if !authOrder.contains(message.header.tid), deliver(message, id: message.header.tid) { return }
            case MessageType.monGetVersionReply:
                // Matched by the handle at the start of the front.
                if let handle = message.front.getInteger(at: message.front.readerIndex, endianness: .little, as: UInt64.self),
                   !authOrder.contains(handle), deliver(message, id: handle) { return }
            case MessageType.authReply:
                if !authOrder.isEmpty, deliver(message, id: authOrder.removeFirst()) { return }
            case MessageType.osdMap:
                if let maps = try? MOSDMap.decode(message),
                   let newest = (Array(maps.fullMaps.keys) + Array(maps.incrementalMaps.keys)).max() {
                    machine.mapReceived("osdmap", epoch: UInt64(newest))
                }
            case MessageType.monMap:
                if let map = try? MMonMap.decode(message) {
                    machine.mapReceived("monmap", epoch: UInt64(map.epoch))
                    learn(map.monitors)
                }
            default:
                break
            }
            if let unroutedHandler {
                unroutedHandler(message)
            } else {
                continuation.yield(message)
            }
        }

        /// From now on, unclaimed messages go to `handler`, called on the loop as they
        /// arrive, instead of to ``nextMessage()``'s stream; nil once the client gave up.
        func routeUnrouted(_ handler: @escaping @Sendable (Message?) -> Void) {
            unroutedHandler = handler
        }

        /// Adds the msgr2 addresses of monitors we did not know to the hunting list.
        private func learn(_ monitors: [MMonMap.Monitor]) {
            guard let template = endpoints.first, machine.configuration.reconnects else { return }
            for monitor in monitors {
                guard let address = monitor.addresses.first(where: { $0.type == EntityAddress.AddressType.msgr2.rawValue }),
                      let host = address.host, let port = address.port,
                      !endpoints.contains(where: { $0.host == host && $0.port == Int(port) })
                else { continue }
                endpoints.append(Endpoint(host: host, port: Int(port), entityName: template.entityName, key: template.key, modes: template.modes))
            }
            machine.monitorsKnown(endpoints.count)
        }

        /// The monitors a lost session hunts through (tests read it).
        var huntList: [String] { endpoints.map { "\($0.host):\($0.port)" } }

        private func deliver(_ message: Message, id: UInt64) -> Bool {
            switch slots[id] {
            case .expected:
                slots[id] = .arrived(message)
            case .waiting(let waiter):
                slots[id] = nil
                waiter.resume(returning: message)
            case .arrived, nil:
                return false
            }
            requests[id] = nil
            machine.requestFinished(id)
            return true
        }

        private func wait(_ id: UInt64) async throws -> Message {
            switch slots[id] {
            case .arrived(let message):
                slots[id] = nil
                return message
            case .expected:
                return try await withCheckedThrowingContinuation { slots[id] = .waiting($0) }
            case .waiting, nil:
                throw machine.closedError ?? RADOSError(.timedOut, "the monitor did not answer in time")
            }
        }

        private func timeout(_ id: UInt64) {
            requests[id] = nil
            machine.requestFinished(id)
            if case .waiting(let waiter) = slots.removeValue(forKey: id) {
                waiter.resume(throwing: RADOSError(.timedOut, "the monitor did not answer in time"))
            }
        }

        private func newID() throws -> UInt64 {
            if let error = machine.closedError { throw error }
            defer { nextID += 1 }
            return nextID
        }

        // MARK: requests

        /// Registers a request, sends it now or on the next session, and waits for its reply.
        func request(timeout: Duration, _ make: (UInt64) -> Message) async throws -> Message {
            let id = try newID()
            slots[id] = .expected
            requests[id] = make(id)
            let (seconds, attoseconds) = timeout.components
            let timer = eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) { [weak self] in
                self?.assumeIsolated { $0.timeout(id) }
            }
            defer { timer.cancel() }
            run(machine.requestSubmitted(id))
            return try await wait(id)
        }

        func sendNow(_ message: Message) async throws {
            if let error = machine.closedError { throw error }
            guard let channel = session?.channel else {
                throw RADOSError(.connectionFailed, "no monitor session right now (reconnecting)")
            }
            do {
                try await channel.writeAndFlush(message)
            } catch {
                throw RADOSError(.connectionFailed, "the monitor connection is closed", details: "\(error)")
            }
        }

        func subscribe(_ items: [String: MMonSubscribe.Item]) throws {
            if let error = machine.closedError { throw error }
            run(machine.subscribe(items))
        }

        /// Sends an MAuth on the current session and waits for its MAuthReply.
        private func authExchange(_ payload: ByteBuffer) async throws -> MAuthReply {
            let id = try newID()
            slots[id] = .expected
            authOrder.append(id)
            guard let channel = session?.channel else {
                slots[id] = nil
                authOrder.removeAll { $0 == id }
                throw RADOSError(.connectionFailed, "no monitor session right now (reconnecting)")
            }
            channel.writeAndFlush(MAuth(payload: payload).encode(), promise: nil)
            return try MAuthReply.decode(try await wait(id))
        }

        func requestServiceTickets(_ services: UInt32) async throws -> [CephXTicket] {
            let outcome = shared.outcome
            guard let authTicket = outcome.tickets.first(where: { $0.service == CephEntityType.auth.rawValue }) else {
                throw RADOSError(.authenticationFailed, "no AUTH ticket to request service tickets with")
            }
            let request = try CephXServiceTicketRequest.encode(authTicket: authTicket, globalID: outcome.globalID, services: services)
            let answer = try await authExchange(request)
            guard answer.result == 0 else {
                throw RADOSError(.authenticationFailed, "the monitor refused the ticket request", errno: Int32(clamping: abs(Int(answer.result))))
            }
            let tickets = try CephXServiceTicketRequest.decodeReply(answer.payload, authTicket: authTicket, previous: outcome.tickets)
            shared.install(tickets)
            return tickets
        }

        func renewTickets(current: [CephXTicket]?, wantKeys: UInt32) async throws -> [CephXTicket] {
            let outcome = shared.outcome
            let tickets = current ?? outcome.tickets
            guard let endpoint = endpoints.first, let authTicket = tickets.first(where: { $0.service == CephEntityType.auth.rawValue }) else {
                throw RADOSError(.authenticationFailed, "renewing needs our key and an AUTH ticket")
            }
            let secret = endpoint.key
            let request = try CephXMonitorAuth.authenticateRequest(
                secret: secret, serverChallenge: outcome.serverChallenge, previousAuthTicket: authTicket, wantKeys: wantKeys)
            let answer = try await authExchange(request)
            guard answer.result == 0 else {
                throw RADOSError(.authenticationFailed, "the monitor refused to renew our tickets", errno: Int32(clamping: abs(Int(answer.result))))
            }
            let renewed = try CephXMonitorAuth.decodeAuthenticateReply(answer.payload, secret: secret, previousTickets: tickets).tickets
            shared.install(renewed)
            return renewed
        }

        /// The timer's renewal: the AUTH ticket (bringing service tickets), or service tickets only.
        private func renewOnTimer(auth: Bool) async {
            let renewedGeneration = generation
            do {
                let tickets: [CephXTicket]
                if auth {
                    tickets = try await renewTickets(current: nil, wantKeys: CephEntityType.mon.rawValue | CephEntityType.osd.rawValue | CephEntityType.mgr.rawValue)
                } else {
                    tickets = try await requestServiceTickets(CephEntityType.mon.rawValue | CephEntityType.osd.rawValue | CephEntityType.mgr.rawValue)
                }
                guard renewedGeneration == generation else { return }
                let validity = MonClientStateMachine.TicketValidity(tickets)
                machine.ticketsRenewed(validity, now: .now())
                shared.update {
                    if validity.auth != nil { $0.authTicketRenewals += 1 }
                    if validity.services != nil { $0.serviceTicketRenewals += 1 }
                }
            } catch {
                machine.renewalFailed(now: .now())
            }
        }
    }
}
