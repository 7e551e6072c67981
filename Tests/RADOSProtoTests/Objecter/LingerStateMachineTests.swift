import NIOCore
import Testing
@testable import RADOSProto

/// Watches and notifies through the pure linger state machine: re-registration after
/// map changes and lost sessions, pings, lost watches, notify completions.
@Suite struct LingerStateMachineTests {
    static func registered(primary: Int32 = 1) -> (LingerStateMachine, UInt64) {
        var machine = LingerStateMachine()
        let cookie = machine.addWatch(pool: 2, namespace: "ns", object: "obj", timeout: 30)
        machine.watchRegistered(cookie: cookie, primary: primary)
        return (machine, cookie)
    }

    @Test func aMovedObjectIsRegisteredAgainWithTheNextGeneration() {
        var (machine, cookie) = Self.registered()
        #expect(machine.mapChanged { _ in 1 }.isEmpty)
        #expect(machine.mapChanged { _ in 2 } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 1)])
        // While the reconnect is in flight, no second one and no pings.
        #expect(machine.mapChanged { _ in 0 }.isEmpty && machine.pings().isEmpty)
        // It finishes; the map moved the object again meanwhile: once more.
        #expect(machine.reconnectFinished(cookie: cookie, generation: 1, result: 0, primary: 0)
            == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 2)])
        #expect(machine.reconnectFinished(cookie: cookie, generation: 2, result: 0, primary: 0).isEmpty)
        #expect(machine.watches[cookie]?.osd == 0 && machine.reconnectCount == 2)
        #expect(machine.pings() == [.sendWatchOp(cookie: cookie, operation: .ping, generation: 2)])
    }

    @Test func aLostSessionReRegistersOnlyItsWatches() {
        var (machine, cookie) = Self.registered(primary: 1)
        let other = machine.addWatch(pool: 2, namespace: "", object: "other", timeout: 0)
        machine.watchRegistered(cookie: other, primary: 3)
        let unregistered = machine.addWatch(pool: 2, namespace: "", object: "new", timeout: 0)
        #expect(machine.sessionReset(osd: 1) { _ in 1 } == [.sendWatchOp(cookie: cookie, operation: .reconnect, generation: 1)])
        #expect(machine.watches[other]?.generation == 0 && machine.watches[unregistered]?.osd == nil)
    }

    @Test func failuresLoseTheWatch() {
        var (machine, cookie) = Self.registered()
        _ = machine.mapChanged { _ in 2 }
        // The OSD no longer knows the watch (ENOTCONN).
        #expect(machine.reconnectFinished(cookie: cookie, generation: 1, result: -107, primary: 2)
            == [.lost(cookie: cookie, object: "obj", errno: 107)])
        #expect(machine.watches.isEmpty && machine.pings().isEmpty)

        var (pinged, second) = Self.registered()
        // A stale ping answer (older generation) and a good one change nothing.
        #expect(pinged.pingFinished(cookie: second, generation: 5, result: -107, primary: 1).isEmpty)
        #expect(pinged.pingFinished(cookie: second, generation: 0, result: 0, primary: 1).isEmpty)
        // ETIMEDOUT: the OSD dropped the watch's session: reconnect.
        #expect(pinged.pingFinished(cookie: second, generation: 0, result: -110, primary: 1)
            == [.sendWatchOp(cookie: second, operation: .reconnect, generation: 1)])
        _ = pinged.reconnectFinished(cookie: second, generation: 1, result: 0, primary: 1)
        #expect(pinged.pingFinished(cookie: second, generation: 1, result: -107, primary: 1)
            == [.lost(cookie: second, object: "obj", errno: 107)])

        var (disconnected, third) = Self.registered()
        let message = MWatchNotify(opcode: .disconnect, cookie: third, notifyID: 0, returnCode: -107)
        #expect(disconnected.received(message) == [.lost(cookie: third, object: "obj", errno: 107)])
        #expect(disconnected.received(message).isEmpty)
    }

    @Test func notifiesAreDeliveredAndCompletionsKeptUntilTaken() {
        var (machine, cookie) = Self.registered()
        let notify = MWatchNotify(opcode: .notify, cookie: cookie, notifyID: 9, payload: ByteBuffer(string: "hi"), notifierGID: 42)
        #expect(machine.received(notify) == [.deliver(cookie: cookie, notification: notify)])
        // A notify for a watch we do not have is dropped.
        #expect(machine.received(MWatchNotify(opcode: .notify, cookie: 999, notifyID: 1)).isEmpty)

        let notifyCookie = machine.addNotify()
        #expect(machine.takeCompletion(cookie: notifyCookie) == nil && machine.isNotifyPending(cookie: notifyCookie))
        // The completion may come before the notify op's reply: kept until taken.
        let done = MWatchNotify(opcode: .notifyComplete, cookie: notifyCookie, notifyID: 10)
        #expect(machine.received(done) == [.notifyCompleted(cookie: notifyCookie, message: done)])
        #expect(machine.takeCompletion(cookie: notifyCookie) == done)
        #expect(!machine.isNotifyPending(cookie: notifyCookie) && machine.received(done).isEmpty)
        #expect(notifyCookie != cookie)
    }
}
