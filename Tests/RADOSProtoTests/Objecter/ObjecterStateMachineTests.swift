import NIOCore
import Testing
@testable import RADOSProto

@Suite struct ObjecterStateMachineTests {
    static let features: UInt64 = 0x3F

    static func target(primary: Int32?, acting: [Int32]? = nil, seed: UInt32 = 5) -> OpTarget {
        OpTarget(pool: 2, objectHash: 0xABCD_0005, pgSeed: seed, primary: primary, acting: acting ?? primary.map { [$0, 9] } ?? [])
    }

    static func reply(attempt: Int32, flags: OSDRequestFlags = [.onDisk], result: Int32 = 0) -> MOSDOpReply {
        MOSDOpReply(
            objectName: "obj", pool: 2, pgSeed: 5, flags: flags, result: result, osdmapEpoch: 1, ops: [],
            retryAttempt: attempt, replayVersion: .zero, userVersion: 1, redirectPool: nil
        )
    }

    static func write() -> ObjecterStateMachine.Request {
        .init(objectName: "obj", ops: [.write(offset: 0, data: ByteBuffer(string: "x"))])
    }

    @Test func requestFlagsFollowTheOps() {
        #expect(Self.write().flags == [.write, .onDisk])
        #expect(ObjecterStateMachine.Request(objectName: "o", ops: [.read(offset: 0, length: 1)]).flags == [.read])
        let call = try? OSDOp.call(class: "rbd", method: "get_size", input: ByteBuffer())
        #expect(ObjecterStateMachine.Request(objectName: "o", ops: SmallArray([call].compactMap { $0 })).flags == [.read, .exec])
    }

    @Test func submitSendsToThePrimaryAndAWriteCompletesOnCommit() throws {
        var machine = ObjecterStateMachine(osdmapEpoch: 7, features: Self.features)
        let (tid, action) = machine.submit(Self.write(), target: Self.target(primary: 1), now: 0)
        guard case .send(let osd, let sentTid, let message) = action else { Issue.record("expected a send"); return }
        #expect(osd == 1 && sentTid == tid)
        #expect(message.osdmapEpoch == 7 && message.retryAttempt == 0)
        #expect(message.flags == [.write, .onDisk, .knownRedirect])
        #expect(message.pgSeed == 5 && message.objectHash == 0xABCD_0005)
        // An early ack without ONDISK does not finish a write.
        #expect(machine.replyReceived(tid: tid, from: 1, reply: Self.reply(attempt: 0, flags: [.ack])) == nil)
        guard case .complete(let doneTid, .success(let reply)) = machine.replyReceived(tid: tid, from: 1, reply: Self.reply(attempt: 0)) else {
            Issue.record("expected completion"); return
        }
        #expect(doneTid == tid && reply.userVersion == 1)
        #expect(machine.pendingCount == 0)
        // A duplicate after completion is ignored.
        #expect(machine.replyReceived(tid: tid, from: 1, reply: Self.reply(attempt: 0)) == nil)
    }

    /// An erasure-coded PG lives on its primary under the primary's shard (its position
    /// in the acting set); the op must name it, and a new shard means a resend.
    @Test func erasureCodedTargetsCarryThePrimarysShard() {
        #expect(OpTarget.shard(erasureCoded: true, primary: 4, acting: [7, 2, 4]) == 2)
        #expect(OpTarget.shard(erasureCoded: false, primary: 4, acting: [7, 2, 4]) == -1)
        #expect(OpTarget.shard(erasureCoded: true, primary: nil, acting: [7, 2, 4]) == -1)
        var target = Self.target(primary: 4, acting: [7, 2, 4])
        target.shard = 2
        var machine = ObjecterStateMachine(osdmapEpoch: 3, features: Self.features)
        guard case .send(_, _, let message) = machine.submit(Self.write(), target: target, now: 0).action else {
            Issue.record("expected a send"); return
        }
        #expect(message.shard == 2)
        var front = ByteBuffer()
        message.encodeFront(into: &front)
        // The front opens with the spg_t: the PG and the shard the OSD files it under.
        let spg = try? front.readDencShardedPlacementGroupID()
        #expect(spg?.shard == 2 && spg?.pg.seed == 5)
        var moved = target
        moved.shard = 0
        moved.acting = [4, 2, 7]
        let resent = machine.mapChanged(epoch: 4) { _, _ in moved }
        guard case .send(_, _, let again)? = resent.first else { Issue.record("expected a resend when the shard moved"); return }
        #expect(again.shard == 0)
    }

    @Test func mapChangeResendsMovedRequestsInTidOrderAndIgnoresStaleReplies() {
        var machine = ObjecterStateMachine(osdmapEpoch: 1, features: Self.features)
        let first = machine.submit(Self.write(), target: Self.target(primary: 1), now: 0).tid
        let second = machine.submit(Self.write(), target: Self.target(primary: 1), now: 0).tid
        let actions = machine.mapChanged(epoch: 2) { _, _ in Self.target(primary: 3) }
        let sends = actions.compactMap { action -> (Int32, UInt64, MOSDOp)? in
            if case .send(let osd, let tid, let message) = action { return (osd, tid, message) }
            return nil
        }
        #expect(sends.map(\.1) == [first, second])
        #expect(sends.allSatisfy { $0.0 == 3 && $0.2.retryAttempt == 1 && $0.2.flags.contains(.retry) && $0.2.osdmapEpoch == 2 })
        // The old primary's late reply, and a reply to attempt 0, are ignored.
        #expect(machine.replyReceived(tid: first, from: 1, reply: Self.reply(attempt: 0)) == nil)
        #expect(machine.replyReceived(tid: first, from: 3, reply: Self.reply(attempt: 0)) == nil)
        #expect(machine.replyReceived(tid: first, from: 3, reply: Self.reply(attempt: 1)) != nil)
        #expect(machine.pendingCount == 1)
    }

    @Test func unchangedTargetsAreNotResent() {
        var machine = ObjecterStateMachine(osdmapEpoch: 1, features: Self.features)
        _ = machine.submit(Self.write(), target: Self.target(primary: 1), now: 0)
        #expect(machine.mapChanged(epoch: 2) { _, _ in Self.target(primary: 1) }.isEmpty)
        // A changed acting set with the same primary is a new interval: resend.
        #expect(machine.mapChanged(epoch: 3) { _, _ in Self.target(primary: 1, acting: [1, 4]) }.count == 1)
        // So is a PG split (new seed).
        #expect(machine.mapChanged(epoch: 4) { _, _ in Self.target(primary: 1, acting: [1, 4], seed: 13) }.count == 1)
    }

    @Test func homelessRequestsWaitForAPrimary() {
        var machine = ObjecterStateMachine(osdmapEpoch: 1, features: Self.features)
        let (tid, action) = machine.submit(Self.write(), target: Self.target(primary: nil), now: 0)
        #expect(action == nil)
        #expect(machine.homelessCount == 1)
        let actions = machine.mapChanged(epoch: 2) { _, _ in Self.target(primary: 2) }
        guard case .send(let osd, let sentTid, let message)? = actions.first else { Issue.record("expected a send"); return }
        #expect(osd == 2 && sentTid == tid && message.retryAttempt == 0 && !message.flags.contains(.retry))
    }

    @Test func sessionResetResendsOnlyThatOSDsRequests() {
        var machine = ObjecterStateMachine(osdmapEpoch: 1, features: Self.features)
        let onOne = machine.submit(Self.write(), target: Self.target(primary: 1), now: 0).tid
        _ = machine.submit(Self.write(), target: Self.target(primary: 2), now: 0)
        let actions = machine.sessionReset(osd: 1)
        #expect(actions.count == 1)
        if case .send(let osd, let tid, let message)? = actions.first {
            #expect(osd == 1 && tid == onOne && message.retryAttempt == 1)
        } else {
            Issue.record("expected a resend")
        }
    }

    @Test func errorsAndTimeoutsComplete() {
        var machine = ObjecterStateMachine(osdmapEpoch: 1, features: Self.features, opTimeoutNanoseconds: 1_000)
        // Missing pool fails at once with ENOENT.
        if case .complete(_, .failure(let error))? = machine.submit(Self.write(), target: nil, now: 0).action {
            #expect(error.errno == 2)
        } else {
            Issue.record("expected ENOENT")
        }
        // A write failing on the OSD completes without ONDISK.
        let failing = machine.submit(Self.write(), target: Self.target(primary: 1), now: 0).tid
        if case .complete(_, .success(let reply))? = machine.replyReceived(tid: failing, from: 1, reply: Self.reply(attempt: 0, flags: [], result: -28)) {
            #expect(reply.result == -28)
        } else {
            Issue.record("expected completion with the error")
        }
        // Timeout.
        let slow = machine.submit(Self.write(), target: Self.target(primary: 1), now: 100).tid
        #expect(machine.tick(now: 500).isEmpty)
        let expired = machine.tick(now: 1_100)
        if case .complete(let tid, .failure(let error))? = expired.first {
            #expect(tid == slow && error.code == .timedOut)
        } else {
            Issue.record("expected a timeout")
        }
        // Pool deleted under a pending request.
        _ = machine.submit(Self.write(), target: Self.target(primary: 1), now: 2_000)
        let gone = machine.mapChanged(epoch: 9) { _, _ in nil }
        #expect(gone.count == 1)
        #expect(machine.pendingCount == 0)
    }
}

extension ObjecterStateMachine.Action: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.send(let o1, let t1, _), .send(let o2, let t2, _)): return o1 == o2 && t1 == t2
        case (.complete(let t1, _), .complete(let t2, _)): return t1 == t2
        default: return false
        }
    }
}
