import NIOCore
import Testing
@testable import RADOSProto

/// Hunting, backoff, giving up, resubscription, request resend and ticket renewal of
/// the monitor client, driven by hand with a fake clock.
struct MonClientStateMachineTests {
    private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    private let refused = RADOSError(.connectionFailed, "cannot connect", details: "connection refused")

    private func machine(monitors: Int = 3, reconnectTimeout: TimeAmount = .seconds(300)) -> MonClientStateMachine {
        var configuration = MonClientStateMachine.Configuration(monitorCount: monitors)
        configuration.reconnectTimeout = reconnectTimeout
        return MonClientStateMachine(configuration: configuration)
    }

    private let tickets = MonClientStateMachine.TicketValidity(auth: 43_200, services: 3_600)

    @Test func huntsThroughEveryMonitorStartingAfterTheLostOne() {
        var m = machine()
        #expect(m.sessionOpened(monitor: 1, tickets: tickets, now: t0) == [])
        let lost = RADOSError(.connectionFailed, "the peer closed the connection")
        // The lost monitor (1) goes last: 2, 0, then 1.
        #expect(m.sessionClosed(lost, now: t0) == [.sessionLost(lost), .connect(monitor: 2)])
        #expect(m.connectFailed(refused, now: t0) == [.connect(monitor: 0)])
        #expect(m.connectFailed(refused, now: t0) == [.connect(monitor: 1)])
        #expect(!m.isOpen)
        #expect(m.sessionOpened(monitor: 1, tickets: tickets, now: t0 + .seconds(1)) == [])
        #expect(m.isOpen)
        #expect(m.sessionsOpened == 2)
    }

    @Test func monitorsFromTheMonmapJoinTheNextRound() {
        var m = machine(monitors: 1)
        _ = m.sessionOpened(monitor: 0, tickets: tickets, now: t0)
        m.monitorsKnown(3)
        m.monitorsKnown(2)  // never shrinks
        #expect(m.sessionClosed(refused, now: t0) == [.sessionLost(refused), .connect(monitor: 1)])
        #expect(m.connectFailed(refused, now: t0) == [.connect(monitor: 2)])
        #expect(m.connectFailed(refused, now: t0) == [.connect(monitor: 0)])
    }

    @Test func backsOffBetweenRoundsByTheHuntBackoffUpToTheMaximum() {
        var m = machine(monitors: 1)
        _ = m.sessionOpened(monitor: 0, tickets: tickets, now: t0)
        #expect(m.sessionClosed(refused, now: t0) == [.sessionLost(refused), .connect(monitor: 0)])
        // Round 1 failed: pause 3 s (mon_client_hunt_interval × 1).
        var now = t0
        var pauses: [Int64] = []
        for _ in 0..<8 {
            #expect(m.connectFailed(refused, now: now) == [])
            var waited: Int64 = 0
            while m.tick(now: now) == [] {
                now = now + .milliseconds(100)
                waited += 100
            }
            pauses.append(waited)
        }
        // 3 s, then ×1.5 per round, capped at 10 × 3 s.
        #expect(pauses == [3_000, 4_500, 6_800, 10_200, 15_200, 22_800, 30_000, 30_000])
        // An attempt may take as long as the current pause; a success shrinks it again.
        #expect(m.attemptTimeout == .seconds(30))
        _ = m.sessionOpened(monitor: 0, tickets: tickets, now: now)
        #expect(m.attemptTimeout == .seconds(20))
    }

    @Test func givesUpAfterTheReconnectTimeoutWithAClearError() {
        var m = machine(monitors: 2, reconnectTimeout: .seconds(10))
        _ = m.sessionOpened(monitor: 0, tickets: tickets, now: t0)
        _ = m.requestSubmitted(7)
        #expect(m.sessionClosed(refused, now: t0) == [.sessionLost(refused), .connect(monitor: 1)])
        var now = t0
        var gaveUp: RADOSError?
        attempts: for _ in 0..<1_000 {
            // The attempt in flight fails; within a round the next monitor comes at once,
            // after a round the timer decides (another round, or the end).
            var actions = m.connectFailed(refused, now: now)
            while actions.isEmpty {
                now = now + .milliseconds(100)
                actions = m.tick(now: now)
            }
            for case .giveUp(let error) in actions {
                gaveUp = error
                break attempts
            }
        }
        #expect(gaveUp != nil)
        let error = gaveUp
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("10 s (client_mount_timeout)") == true)
        #expect(error?.debugDescription.contains("connection refused") == true)
        #expect(now - t0 >= .seconds(10) && now - t0 < .seconds(20))
        #expect(m.isClosed)
        #expect(m.requestSubmitted(8) == [])
        #expect(m.tick(now: now + .seconds(100)) == [])
    }

    @Test func aClientThatDoesNotReconnectEndsOnTheFirstLoss() {
        var configuration = MonClientStateMachine.Configuration(monitorCount: 0)
        configuration.reconnects = false
        var m = MonClientStateMachine(configuration: configuration)
        _ = m.sessionOpened(monitor: 0, tickets: tickets, now: t0)
        #expect(m.sessionClosed(refused, now: t0) == [.sessionLost(refused), .giveUp(refused)])
    }

    @Test func resubscribesFromTheEpochAfterTheNewestReceived() {
        var m = machine()
        #expect(m.subscribe(["osdmap": .init(start: 0)]) == [])  // not open yet: held
        #expect(m.sessionOpened(monitor: 0, tickets: tickets, now: t0) == [.subscribe(["osdmap": .init(start: 0)])])
        #expect(m.subscribe(["monmap": .init(start: 0)]) == [.subscribe(["monmap": .init(start: 0)])])
        m.mapReceived("osdmap", epoch: 41)
        m.mapReceived("osdmap", epoch: 42)
        m.mapReceived("osdmap", epoch: 12)  // an old one does not go back
        m.mapReceived("monmap", epoch: 1)
        m.mapReceived("mgrmap", epoch: 5)  // not subscribed: ignored
        _ = m.sessionClosed(refused, now: t0)
        let actions = m.sessionOpened(monitor: 1, tickets: tickets, now: t0)
        #expect(actions == [.subscribe(["osdmap": .init(start: 43), "monmap": .init(start: 2)])])
    }

    @Test func oneTimeSubscriptionsEndOnceSatisfied() {
        var m = machine()
        _ = m.sessionOpened(monitor: 0, tickets: tickets, now: t0)
        _ = m.subscribe(["osdmap": .init(start: 10, flags: MMonSubscribe.flagOneTime)])
        m.mapReceived("osdmap", epoch: 9)
        #expect(m.subscriptions["osdmap"] != nil)
        m.mapReceived("osdmap", epoch: 10)
        #expect(m.subscriptions["osdmap"] == nil)
    }

    @Test func pendingRequestsAreSentAgainOnTheNextSessionInOrder() {
        var m = machine()
        #expect(m.requestSubmitted(1) == [])  // before the session: held
        _ = m.sessionOpened(monitor: 0, tickets: tickets, now: t0)
        #expect(m.requestSubmitted(2) == [.sendRequests([2], again: false)])
        #expect(m.requestSubmitted(3) == [.sendRequests([3], again: false)])
        m.requestFinished(2)
        _ = m.sessionClosed(refused, now: t0)
        #expect(m.requestSubmitted(4) == [])
        #expect(m.sessionOpened(monitor: 1, tickets: tickets, now: t0) == [.sendRequests([1, 3, 4], again: true)])
    }

    @Test func renewsTheAuthTicketAfterThreeQuartersOfItsValidity() {
        var m = machine()
        _ = m.sessionOpened(monitor: 0, tickets: .init(auth: 80, services: 40), now: t0)
        // Services first: 3/4 of 40 s = 30 s.
        #expect(m.tick(now: t0 + .seconds(29)) == [])
        #expect(m.tick(now: t0 + .seconds(30)) == [.renewServiceTickets])
        #expect(m.tick(now: t0 + .seconds(31)) == [])  // one renewal at a time
        m.ticketsRenewed(.init(auth: nil, services: 40), now: t0 + .seconds(31))
        #expect(m.nextRenewal == t0 + .seconds(60))  // AUTH: 3/4 of 80 s
        #expect(m.tick(now: t0 + .seconds(60)) == [.renewAuthTicket])
        // The AUTH renewal brings service tickets too: both clocks restart.
        m.ticketsRenewed(.init(auth: 80, services: 40), now: t0 + .seconds(61))
        #expect(m.nextRenewal == t0 + .seconds(91))
        #expect(m.authTicketRenewals == 1 && m.serviceTicketRenewals == 2)
    }

    @Test func aFailedRenewalIsRetriedAndANewSessionResetsTheClock() {
        var m = machine()
        _ = m.sessionOpened(monitor: 0, tickets: .init(auth: 60, services: 60), now: t0)
        #expect(m.tick(now: t0 + .seconds(45)) == [.renewAuthTicket])
        m.renewalFailed(now: t0 + .seconds(45))
        #expect(m.tick(now: t0 + .seconds(46)) == [])
        #expect(m.tick(now: t0 + .seconds(50)) == [.renewAuthTicket])  // renewalRetry: 5 s
        // The session drops while renewing; the new session's authentication brings fresh tickets.
        _ = m.sessionClosed(refused, now: t0 + .seconds(51))
        _ = m.connectFailed(refused, now: t0 + .seconds(51))
        _ = m.sessionOpened(monitor: 2, tickets: .init(auth: 60, services: 60), now: t0 + .seconds(52))
        #expect(m.tick(now: t0 + .seconds(53)) == [])
        #expect(m.nextRenewal == t0 + .seconds(97))
    }

    @Test func closingEndsEverythingOnce() {
        var m = machine()
        _ = m.sessionOpened(monitor: 0, tickets: tickets, now: t0)
        let actions = m.close()
        #expect(actions.count == 1)
        guard case .giveUp(let error)? = actions.first else {
            Issue.record("close() must give up first, got \(actions)")
            return
        }
        #expect(error.code == .connectionFailed)
        #expect(error.message.contains("shut down"))
        #expect(m.close() == [])
        #expect(m.sessionClosed(refused, now: t0) == [])
    }
}
