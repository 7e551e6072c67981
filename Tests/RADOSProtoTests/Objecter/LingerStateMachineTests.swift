import NIOCore
import Testing
@testable import RADOSProto

/// Watches and notifies through the pure linger state machine: re-registration after
/// map changes and lost sessions, pings, lost watches, notify completions.
@Suite struct LingerStateMachineTests {
    static func at(_ primary: Int32?, _ acting: [Int32], pg: UInt32 = 7) -> OpTarget {
        OpTarget(pool: 2, objectHash: 0x1234_0007, pgSeed: pg, primary: primary, acting: acting)
    }

    static let request = LingerStateMachine.NotifyRequest(pool: 2, namespace: "ns", object: "obj", payload: ByteBuffer(string: "hello"), timeout: 10)

    static func registered(_ placement: OpTarget = at(1, [1, 0])) -> (LingerStateMachine, UInt64) {
        var machine = LingerStateMachine()
        let cookie = machine.addWatch(pool: 2, namespace: "ns", object: "obj", timeout: 30, placement: placement)
        #expect(machine.watchRegistered(cookie: cookie).isEmpty)
        return (machine, cookie)
    }

    @Test func aMovedObjectIsRegisteredAgainWithTheNextGeneration() {
        var (machine, cookie) = Self.registered()
        #expect(machine.mapChanged { _, _, _ in Self.at(1, [1, 0]) }.isEmpty)
        #expect(machine.mapChanged { _, _, _ in Self.at(2, [2, 0]) } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 1)])
        #expect(machine.pings().isEmpty)  // no pings while re-registering
        // The map moves it again before the answer: the OSD that got generation 1 left
        // that interval, so generation 2 goes out now and generation 1's answer is stale.
        #expect(machine.mapChanged { _, _, _ in Self.at(0, [0, 2]) } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 2)])
        #expect(machine.reconnectFinished(cookie: cookie, generation: 1, result: -107).isEmpty)
        #expect(machine.watches[cookie]?.isReconnecting == true)
        #expect(machine.reconnectFinished(cookie: cookie, generation: 2, result: 0).isEmpty)
        #expect(machine.watches[cookie]?.osd == 0 && machine.reconnectCount == 2)
        #expect(machine.pings() == [.sendWatchOp(cookie: cookie, operation: .ping, generation: 2)])
    }

    /// The event sequence of the lost watch in `ObjecterResendTests` (`ceph osd out 1`
    /// with pool size 2): the acting set of the watched object's PG changes from [0, 1]
    /// to [0, 2] while osd.0 stays primary. osd.0 starts a new interval and drops the
    /// watch's connection (`PrimaryLogPG::on_change`), so the watch must be registered
    /// again although its primary did not move; so again when osd.1 comes back in and
    /// when osd.0 is marked down and up (primary moves away and back).
    @Test func aNewIntervalOnTheSamePrimaryRegistersAgain() {
        var (machine, cookie) = Self.registered(Self.at(0, [0, 1]))
        // out 1: same primary, new acting set.
        #expect(machine.mapChanged { _, _, _ in Self.at(0, [0, 2]) } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 1)])
        #expect(machine.reconnectFinished(cookie: cookie, generation: 1, result: 0).isEmpty)
        // in 1: back to [0, 1].
        #expect(machine.mapChanged { _, _, _ in Self.at(0, [0, 1]) } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 2)])
        #expect(machine.reconnectFinished(cookie: cookie, generation: 2, result: 0).isEmpty)
        // down 0, then up again while the first reconnect is in flight.
        #expect(machine.mapChanged { _, _, _ in Self.at(1, [1]) } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 3)])
        #expect(machine.mapChanged { _, _, _ in Self.at(0, [0, 1]) } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 4)])
        #expect(machine.reconnectFinished(cookie: cookie, generation: 3, result: 0).isEmpty)
        #expect(machine.pings().isEmpty)
        #expect(machine.reconnectFinished(cookie: cookie, generation: 4, result: 0).isEmpty)
        #expect(machine.watches[cookie]?.osd == 0 && machine.reconnectCount == 4)
        // So is a new up set under a pg_temp that keeps the acting set.
        var temp = Self.at(0, [0, 1])
        temp.up = [0, 2]
        #expect(machine.mapChanged { _, _, _ in temp } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 5)])
        #expect(machine.reconnectFinished(cookie: cookie, generation: 5, result: 0).isEmpty)
        // A PG split (same OSDs, new PG) is a new interval too.
        #expect(machine.mapChanged { _, _, _ in Self.at(0, [0, 1], pg: 15) } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 6)])
    }

    /// The map moves the object while the first watch op is in flight: the OSD may have
    /// registered it in the interval it left, so it is registered again once accepted.
    @Test func aMapChangeBeforeTheFirstRegistrationRegistersAgain() {
        var machine = LingerStateMachine()
        let cookie = machine.addWatch(pool: 2, namespace: "", object: "obj", timeout: 0, placement: Self.at(0, [0, 1]))
        #expect(machine.mapChanged { _, _, _ in Self.at(0, [0, 2]) }.isEmpty && machine.pings().isEmpty)
        #expect(machine.watchRegistered(cookie: cookie) == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 1)])
        #expect(machine.watchRegistered(cookie: cookie).isEmpty)

        var quiet = LingerStateMachine()
        let other = quiet.addWatch(pool: 2, namespace: "", object: "obj", timeout: 0, placement: Self.at(0, [0, 1]))
        #expect(quiet.mapChanged { _, _, _ in Self.at(0, [0, 1]) }.isEmpty)
        #expect(quiet.watchRegistered(cookie: other).isEmpty)
    }

    @Test func aLostSessionReRegistersOnlyItsWatches() {
        var (machine, cookie) = Self.registered(Self.at(1, [1, 0]))
        let other = machine.addWatch(pool: 2, namespace: "", object: "other", timeout: 0, placement: Self.at(3, [3, 1]))
        _ = machine.watchRegistered(cookie: other)
        let unregistered = machine.addWatch(pool: 2, namespace: "", object: "new", timeout: 0, placement: Self.at(1, [1, 2]))
        #expect(machine.sessionReset(osd: 1) { _, _, _ in Self.at(1, [1, 0]) } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 1)])
        #expect(machine.watches[other]?.generation == 0 && machine.watches[unregistered]?.osd == nil)
        // The unregistered one's op went on the lost session: registered again once accepted.
        #expect(machine.watchRegistered(cookie: unregistered) == [.sendWatchOp(cookie: unregistered, operation: .reconnect, generation: 1)])
    }

    @Test func failuresLoseTheWatch() {
        var (machine, cookie) = Self.registered()
        _ = machine.mapChanged { _, _, _ in Self.at(2, [2, 0]) }
        // The OSD no longer knows the watch (ENOTCONN).
        #expect(machine.reconnectFinished(cookie: cookie, generation: 1, result: -107)
            == [.lost(cookie: cookie, object: "obj", errno: 107)])
        #expect(machine.watches.isEmpty && machine.pings().isEmpty)

        var (pinged, second) = Self.registered()
        // A stale ping answer (older generation) and a good one change nothing.
        #expect(pinged.pingFinished(cookie: second, generation: 5, result: -107).isEmpty)
        #expect(pinged.pingFinished(cookie: second, generation: 0, result: 0).isEmpty)
        // ETIMEDOUT: the OSD holds the watch unconnected: reconnect.
        #expect(pinged.pingFinished(cookie: second, generation: 0, result: -110)
            == [.sendWatchOp(cookie: second, operation: .reconnect, generation: 1)])
        _ = pinged.reconnectFinished(cookie: second, generation: 1, result: 0)
        #expect(pinged.pingFinished(cookie: second, generation: 1, result: -107)
            == [.lost(cookie: second, object: "obj", errno: 107)])

        var (disconnected, third) = Self.registered()
        let message = MWatchNotify(opcode: .disconnect, cookie: third, notifyID: 0, returnCode: -107)
        #expect(disconnected.received(message) == [.lost(cookie: third, object: "obj", errno: 107)])
        #expect(disconnected.received(message).isEmpty)
    }

    @Test func notifiesAreDeliveredOnceAndCompletionsKeptUntilTaken() {
        var (machine, cookie) = Self.registered()
        let notify = MWatchNotify(opcode: .notify, cookie: cookie, notifyID: 9, payload: ByteBuffer(string: "hi"), notifierGID: 42)
        #expect(machine.received(notify) == [.deliver(cookie: cookie, notification: notify)])
        // The OSD sends a pending notify again to a watch that reconnects: delivered once.
        #expect(machine.received(notify).isEmpty)
        // A notify for a watch we do not have is dropped.
        #expect(machine.received(MWatchNotify(opcode: .notify, cookie: 999, notifyID: 1)).isEmpty)

        let notifyCookie = machine.addNotify(Self.request, placement: Self.at(0, [0, 1]))
        #expect(machine.takeCompletion(cookie: notifyCookie) == nil && machine.isNotifyPending(cookie: notifyCookie))
        // The completion may come before the notify op's reply: kept until taken.
        let done = MWatchNotify(opcode: .notifyComplete, cookie: notifyCookie, notifyID: 10)
        #expect(machine.received(done).isEmpty)
        #expect(machine.notifyAccepted(cookie: notifyCookie, notifyID: 10) == [.notifyCompleted(cookie: notifyCookie, message: done)])
        #expect(machine.takeCompletion(cookie: notifyCookie) == done)
        #expect(!machine.isNotifyPending(cookie: notifyCookie) && machine.received(done).isEmpty)
        #expect(notifyCookie != cookie)
    }

    /// A notify op resent after a map change runs again on the OSD under a new id; the
    /// completion of the first run is not the answer to the op's (last) reply.
    @Test func onlyTheCompletionOfTheAcceptedNotifyIDCounts() {
        var machine = LingerStateMachine()
        let cookie = machine.addNotify(Self.request, placement: Self.at(0, [0, 1]))
        let first = MWatchNotify(opcode: .notifyComplete, cookie: cookie, notifyID: 100, returnCode: -110)
        let second = MWatchNotify(opcode: .notifyComplete, cookie: cookie, notifyID: 101)
        // Before the reply: both kept, neither chosen.
        #expect(machine.received(first).isEmpty)
        #expect(machine.notifyAccepted(cookie: cookie, notifyID: 101).isEmpty)
        #expect(machine.takeCompletion(cookie: cookie) == nil)
        #expect(machine.received(first).isEmpty)
        #expect(machine.received(second) == [.notifyCompleted(cookie: cookie, message: second)])
        #expect(machine.takeCompletion(cookie: cookie) == second)

        // Early completions arriving out of order: the reply picks the right one.
        let other = machine.addNotify(Self.request, placement: Self.at(0, [0, 1]))
        let late = MWatchNotify(opcode: .notifyComplete, cookie: other, notifyID: 201)
        _ = machine.received(late)
        _ = machine.received(MWatchNotify(opcode: .notifyComplete, cookie: other, notifyID: 200))
        #expect(machine.notifyAccepted(cookie: other, notifyID: 201) == [.notifyCompleted(cookie: other, message: late)])
        #expect(machine.takeCompletion(cookie: other) == late)

        // A flood of unrelated completions before the reply is bounded.
        let flooded = machine.addNotify(Self.request, placement: Self.at(0, [0, 1]))
        for id in 0..<UInt64(1000) { _ = machine.received(MWatchNotify(opcode: .notifyComplete, cookie: flooded, notifyID: id)) }
        #expect(machine.notifyAccepted(cookie: flooded, notifyID: 999).isEmpty)
        #expect(machine.notifyAccepted(cookie: flooded, notifyID: 3).isEmpty)  // accepted once only
    }

    /// The sequence that left the notifier of `ObjecterResendTests` without acks: the
    /// notify is accepted, then (before the completion) the watched object's PG starts a
    /// new interval. The OSD dropped the watches, and with them the pending notify; it
    /// would only time out. The notify goes out again and only its completion counts.
    @Test func aNewIntervalBeforeTheCompletionSendsTheNotifyAgain() {
        var machine = LingerStateMachine()
        let cookie = machine.addNotify(Self.request, placement: Self.at(0, [0, 1]))
        #expect(machine.notifyAccepted(cookie: cookie, notifyID: 500).isEmpty)
        #expect(machine.mapChanged { _, _, _ in Self.at(0, [0, 1]) }.isEmpty)
        #expect(machine.mapChanged { _, _, _ in Self.at(0, [0, 2]) } == [.resendNotify(cookie: cookie, attempt: 1)])
        #expect(machine.notifyRequest(cookie: cookie)?.payload == ByteBuffer(string: "hello"))
        // The first run times out on the OSD; its completion is not the answer.
        #expect(machine.received(MWatchNotify(opcode: .notifyComplete, cookie: cookie, notifyID: 500, returnCode: -110)).isEmpty)
        // A stale reply to the first send changes nothing; the resend's reply does.
        #expect(machine.notifyAccepted(cookie: cookie, notifyID: 500, attempt: 0).isEmpty)
        let done = MWatchNotify(opcode: .notifyComplete, cookie: cookie, notifyID: 501)
        #expect(machine.received(done).isEmpty)  // before the resend's reply: kept
        #expect(machine.notifyAccepted(cookie: cookie, notifyID: 501, attempt: 1) == [.notifyCompleted(cookie: cookie, message: done)])
        #expect(machine.takeCompletion(cookie: cookie) == done)
        // Once complete, a map change sends nothing.
        #expect(machine.mapChanged { _, _, _ in Self.at(2, [2]) }.isEmpty)

        // The map moves the object while the first send is in flight: sent again once
        // its reply arrives (the OSD may have run it in the interval it left).
        let second = machine.addNotify(Self.request, placement: Self.at(0, [0, 1]))
        #expect(machine.mapChanged { _, _, _ in Self.at(1, [1, 0]) }.isEmpty)
        #expect(machine.notifyAccepted(cookie: second, notifyID: 600) == [.resendNotify(cookie: second, attempt: 1)])
        #expect(machine.notifyAccepted(cookie: second, notifyID: 601, attempt: 1).isEmpty)
        #expect(machine.isNotifyPending(cookie: second))
    }
}
