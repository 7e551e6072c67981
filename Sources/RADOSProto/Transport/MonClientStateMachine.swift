import NIOCore

/// What keeps a monitor session alive across drops, as a pure state machine: which
/// monitor to try next (hunting), how long to back off, when to give up, what to send
/// again on a new session (subscriptions from the epoch after the one we have, pending
/// commands), and when to renew cephx tickets.
///
/// It exists so the policy can be tested with a hand-driven clock: events go in (`tick`,
/// `sessionOpened`, `connectFailed`, …), actions come out; ``MonClient`` performs them.
/// Source: ceph/ceph `src/mon/MonClient.cc` (`_reopen_session`, `tick`,
/// `_check_auth_tickets`, `MonSub`), `src/auth/cephx/CephxProtocol.cc`
/// (`CephXTicketHandler::need_key`: a ticket is renewed once 3/4 of its validity has passed).
package struct MonClientStateMachine: Sendable {
    package struct Configuration: Sendable, Equatable {
        /// How many monitors there are to hunt among (indices into the endpoint list).
        package var monitorCount: Int
        /// Whether a lost session is re-established (false: the first loss is final).
        package var reconnects: Bool = true
        /// `mon_client_hunt_interval`: the pause after a round in which no monitor answered.
        package var huntInterval: TimeAmount = .seconds(3)
        /// `mon_client_hunt_interval_backoff`: the pause grows by this factor per round…
        package var huntBackoff: Double = 1.5
        /// …up to `mon_client_hunt_interval_max_multiple` times the hunt interval.
        package var huntMaxMultiple: Double = 10
        /// How long to hunt after losing the session before failing everything
        /// (`client_mount_timeout`, the time librados allows for the first connection).
        package var reconnectTimeout: TimeAmount = .seconds(300)
        /// How long to wait before asking again when a ticket renewal failed.
        package var renewalRetry: TimeAmount = .seconds(5)

        package init(monitorCount: Int) {
            self.monitorCount = monitorCount
        }
    }

    /// Validities the monitor granted, in seconds (nil: no such ticket).
    package struct TicketValidity: Sendable, Equatable {
        package var auth: UInt32?
        /// The shortest validity among the service tickets (OSD, manager, monitor).
        package var services: UInt32?

        package init(auth: UInt32?, services: UInt32?) {
            self.auth = auth
            self.services = services
        }

        package init(_ tickets: [CephXTicket]) {
            auth = tickets.first { $0.service == CephEntityType.auth.rawValue }?.validitySeconds
            services = tickets.filter { $0.service != CephEntityType.auth.rawValue }.map(\.validitySeconds).min()
        }
    }

    package enum Action: Sendable, Equatable {
        /// Open a session to monitor `index` (authenticate, reclaiming our global id).
        case connect(monitor: Int)
        /// Send MMonSubscribe with these items on the open session.
        case subscribe([String: MMonSubscribe.Item])
        /// Send the requests with these ids, in this order, on the open session; `again`
        /// when they went out on an earlier session that was lost.
        case sendRequests([UInt64], again: Bool)
        /// Renew the AUTH ticket (and with it the service tickets) on the open session.
        case renewAuthTicket
        /// Ask for fresh service tickets with the AUTH ticket.
        case renewServiceTickets
        /// The session is gone: replies that only it could carry (auth) will not come.
        case sessionLost(RADOSError)
        /// Stop for good: fail every waiter with this error and end the message stream.
        case giveUp(RADOSError)
    }

    private struct Hunt: Sendable {
        /// When the session was lost (or the first attempt began): the give-up clock starts here.
        var since: NIODeadline
        /// Monitors still to try in this round, in order.
        var remaining: [Int]
        var lastError: RADOSError
    }

    private enum State: Sendable {
        case idle
        case connecting(monitor: Int, Hunt)
        case backingOff(until: NIODeadline, Hunt)
        case open(monitor: Int)
        case closed(RADOSError)
    }

    private(set) package var configuration: Configuration
    private var state: State = .idle
    /// Grows by `huntBackoff` for every round without an answer, shrinks on success.
    private var backoffMultiple: Double = 1
    /// What we want to receive: map name → first epoch wanted and flags.
    private(set) package var subscriptions: [String: MMonSubscribe.Item] = [:]
    /// Requests (commands, version queries) without an answer yet, in submission order.
    private(set) package var pendingRequests: [UInt64] = []
    private var renewAuthAt: NIODeadline?
    private var renewServicesAt: NIODeadline?
    private var renewalInFlight = false

    /// Sessions opened, counting the first.
    private(set) package var sessionsOpened = 0
    private(set) package var authTicketRenewals = 0
    private(set) package var serviceTicketRenewals = 0

    package init(configuration: Configuration) {
        self.configuration = configuration
    }

    package var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    package var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// The error that ended the client, once it has ended.
    package var closedError: RADOSError? {
        if case .closed(let error) = state { return error }
        return nil
    }

    /// How long one hunting attempt may take before it is abandoned: the hunt interval
    /// times the current multiple (librados re-opens a hunt that has not succeeded after
    /// `mon_client_hunt_interval * reopen_interval_multiplier`), so a monitor that accepts
    /// connections but does not answer yet (still starting) does not hold the hunt.
    package var attemptTimeout: TimeAmount {
        .nanoseconds(Int64(Double(configuration.huntInterval.nanoseconds) * backoffMultiple))
    }

    /// When the next ticket renewal is due (for tests and diagnostics).
    package var nextRenewal: NIODeadline? {
        switch (renewAuthAt, renewServicesAt) {
        case (let a?, let s?): return min(a, s)
        case (let a?, nil): return a
        case (nil, let s?): return s
        case (nil, nil): return nil
        }
    }

    // MARK: events

    /// Start hunting from monitor `first` (used when no session exists yet).
    package mutating func start(first: Int = 0, now: NIODeadline) -> [Action] {
        switch state {
        case .idle:
            let order = huntOrder(after: first - 1)
            return attemptNext(Hunt(since: now, remaining: order, lastError: RADOSError(.connectionFailed, "no monitor tried yet")))
        case .connecting, .backingOff, .open, .closed:
            return []
        }
    }

    /// A session to `monitor` is open and authenticated: send again what the old one
    /// carried and schedule ticket renewal.
    package mutating func sessionOpened(monitor: Int, tickets: TicketValidity, now: NIODeadline) -> [Action] {
        switch state {
        case .idle, .connecting:
            break
        case .backingOff, .open, .closed:
            return []
        }
        state = .open(monitor: monitor)
        sessionsOpened += 1
        backoffMultiple = max(1, backoffMultiple / configuration.huntBackoff)
        renewalInFlight = false
        schedule(tickets, now: now)
        var actions: [Action] = []
        if !subscriptions.isEmpty { actions.append(.subscribe(subscriptions)) }
        if !pendingRequests.isEmpty { actions.append(.sendRequests(pendingRequests, again: true)) }
        return actions
    }

    /// The attempt we started with `.connect` failed.
    package mutating func connectFailed(_ error: RADOSError, now: NIODeadline) -> [Action] {
        guard case .connecting(_, var hunt) = state else { return [] }
        hunt.lastError = error
        if now - hunt.since >= configuration.reconnectTimeout { return giveUp(hunt) }
        if !hunt.remaining.isEmpty { return attemptNext(hunt) }
        // Every monitor failed in this round: pause, then start another round.
        let pause = TimeAmount.nanoseconds(Int64(Double(configuration.huntInterval.nanoseconds) * backoffMultiple))
        backoffMultiple = min(backoffMultiple * configuration.huntBackoff, configuration.huntMaxMultiple)
        state = .backingOff(until: now + pause, hunt)
        return []
    }

    /// The open session failed (socket closed, keepalives unanswered, protocol error).
    package mutating func sessionClosed(_ error: RADOSError, now: NIODeadline) -> [Action] {
        guard case .open(let monitor) = state else { return [] }
        renewalInFlight = false
        guard configuration.reconnects else {
            state = .closed(error)
            return [.sessionLost(error), .giveUp(error)]
        }
        // The monitor we lost goes last in the new round.
        let hunt = Hunt(since: now, remaining: huntOrder(after: monitor), lastError: error)
        return [.sessionLost(error)] + attemptNext(hunt)
    }

    /// The periodic timer.
    package mutating func tick(now: NIODeadline) -> [Action] {
        switch state {
        case .idle, .connecting, .closed:
            return []
        case .backingOff(let until, var hunt):
            guard now >= until else { return [] }
            if now - hunt.since >= configuration.reconnectTimeout { return giveUp(hunt) }
            hunt.remaining = huntOrder(after: -1)
            return attemptNext(hunt)
        case .open:
            guard !renewalInFlight else { return [] }
            if let at = renewAuthAt, now >= at {
                renewalInFlight = true
                return [.renewAuthTicket]
            }
            if let at = renewServicesAt, now >= at {
                renewalInFlight = true
                return [.renewServiceTickets]
            }
            return []
        }
    }

    /// A renewal answered: `tickets` are the validities of what it brought.
    package mutating func ticketsRenewed(_ tickets: TicketValidity, now: NIODeadline) {
        renewalInFlight = false
        if tickets.auth != nil { authTicketRenewals += 1 }
        if tickets.services != nil { serviceTicketRenewals += 1 }
        schedule(tickets, now: now)
    }

    /// A renewal failed (refused, or the session dropped under it): try again later.
    package mutating func renewalFailed(now: NIODeadline) {
        renewalInFlight = false
        let retry = now + configuration.renewalRetry
        if let at = renewAuthAt, at <= now { renewAuthAt = retry }
        if let at = renewServicesAt, at <= now { renewServicesAt = retry }
    }

    /// The monmap named more monitors than we knew: later rounds hunt through them too
    /// (librados hunts through the monmap, not only `mon_host`).
    package mutating func monitorsKnown(_ count: Int) {
        configuration.monitorCount = max(configuration.monitorCount, count)
    }

    /// Someone wants maps: remember it for every session to come; send it now if open.
    package mutating func subscribe(_ items: [String: MMonSubscribe.Item]) -> [Action] {
        if case .closed = state { return [] }
        subscriptions.merge(items) { _, new in new }
        return isOpen && !items.isEmpty ? [.subscribe(items)] : []
    }

    /// A map arrived: a later session asks only for the epochs after it (`MonClient::sub_got`).
    package mutating func mapReceived(_ name: String, epoch: UInt64) {
        guard var item = subscriptions[name], epoch >= item.start else { return }
        if item.flags & MMonSubscribe.flagOneTime != 0 {
            subscriptions[name] = nil
        } else {
            item.start = epoch + 1
            subscriptions[name] = item
        }
    }

    /// A request (command, version query) was submitted under `id`.
    package mutating func requestSubmitted(_ id: UInt64) -> [Action] {
        if case .closed = state { return [] }
        pendingRequests.append(id)
        return isOpen ? [.sendRequests([id], again: false)] : []
    }

    /// The request `id` got its answer, timed out or was abandoned.
    package mutating func requestFinished(_ id: UInt64) {
        pendingRequests.removeAll { $0 == id }
    }

    /// The owner closes the client.
    package mutating func close() -> [Action] {
        if case .closed = state { return [] }
        let error = RADOSError(.connectionFailed, "the monitor client was shut down")
        state = .closed(error)
        return [.giveUp(error)]
    }

    // MARK: internals

    /// Every monitor, starting after `index` and wrapping around (so `index` comes last).
    private func huntOrder(after index: Int) -> [Int] {
        let n = configuration.monitorCount
        guard n > 0 else { return [] }
        return (1...n).map { (index + $0 + n) % n }
    }

    private mutating func attemptNext(_ hunt: Hunt) -> [Action] {
        var hunt = hunt
        guard !hunt.remaining.isEmpty else {
            state = .closed(hunt.lastError)
            return [.giveUp(RADOSError(.invalidConfiguration, "no monitor addresses: set mon_host"))]
        }
        let monitor = hunt.remaining.removeFirst()
        state = .connecting(monitor: monitor, hunt)
        return [.connect(monitor: monitor)]
    }

    private mutating func giveUp(_ hunt: Hunt) -> [Action] {
        let seconds = configuration.reconnectTimeout.nanoseconds / 1_000_000_000
        let error = RADOSError(
            .connectionFailed,
            "lost the monitor session and no monitor answered within \(seconds) s (client_mount_timeout); check that the monitors are up",
            details: "last attempt: \(hunt.lastError.debugDescription)")
        state = .closed(error)
        return [.giveUp(error)]
    }

    private mutating func schedule(_ tickets: TicketValidity, now: NIODeadline) {
        func renewal(_ seconds: UInt32) -> NIODeadline {
            // need_key(): renew once 3/4 of the validity has passed.
            now + .nanoseconds(Int64(seconds) * 750_000_000)
        }
        if let auth = tickets.auth, auth > 0 { renewAuthAt = renewal(auth) }
        if let services = tickets.services, services > 0 { renewServicesAt = renewal(services) }
    }
}
