import NIOCore
import Testing
@testable import RADOSProto

/// Backoffs and PG ops through the pure state machine, and the object order backoff
/// ranges use.
@Suite struct ObjecterBackoffTests {
    static let pg = ShardedPlacementGroupID(pg: PlacementGroupID(pool: 2, seed: 5), shard: -1)

    static func target(primary: Int32 = 1, hash: UInt32 = 0xABCD_0005) -> OpTarget {
        OpTarget(pool: 2, objectHash: hash, pgSeed: 5, primary: primary, acting: [primary, 9])
    }

    static func write(_ name: String = "obj") -> ObjecterStateMachine.Request {
        .init(objectName: name, ops: [.write(offset: 0, data: ByteBuffer(string: "x"))])
    }

    static func backoff(_ operation: MOSDBackoff.Operation, id: UInt64 = 7, begin: HObject = .min, end: HObject = .max) -> MOSDBackoff {
        MOSDBackoff(pg: pg, osdmapEpoch: 3, operation: operation, id: id, begin: begin, end: end)
    }

    @Test func aBlockIsAcknowledgedHoldsRequestsAndTheUnblockResendsThem() {
        var machine = ObjecterStateMachine(osdmapEpoch: 3, features: 0x3F)
        let (sentTid, sent) = machine.submit(Self.write(), target: Self.target(), now: 0)
        guard case .send = sent else { Issue.record("expected a send"); return }
        let actions = machine.backoffReceived(from: 1, Self.backoff(.block))
        guard actions.count == 1, case .sendBackoff(let osd, let ack) = actions[0] else { Issue.record("expected an ack"); return }
        #expect(osd == 1 && ack.operation == .ackBlock && ack.id == 7 && ack.pg == Self.pg)
        #expect(machine.backoffCount(osd: 1) == 1)
        // A new request in the range is held, not sent.
        let (heldTid, held) = machine.submit(Self.write("other"), target: Self.target(hash: 0x1234_0005), now: 0)
        #expect(held == nil && machine.heldCount == 1)
        // Another PG on the same OSD is not affected.
        var elsewhere = Self.target()
        elsewhere.pgSeed = 6
        if case .send = machine.submit(Self.write("third"), target: elsewhere, now: 0).action {} else { Issue.record("another PG was held") }
        // An unblock with another id changes nothing.
        #expect(machine.backoffReceived(from: 1, Self.backoff(.unblock, id: 8)).isEmpty)
        // The matching unblock resends both requests in the range, in tid order.
        let resent = machine.backoffReceived(from: 1, Self.backoff(.unblock))
        let tids = resent.compactMap { action -> UInt64? in
            if case .send(1, let tid, _) = action { return tid }
            return nil
        }
        #expect(tids == [sentTid, heldTid])
        #expect(machine.heldCount == 0 && machine.backoffCount(osd: 1) == 0)
    }

    @Test func backoffsCoverOnlyTheirRangeAndEndWithTheSession() {
        var machine = ObjecterStateMachine(osdmapEpoch: 3, features: 0x3F)
        // A range covering hashes whose reversed bits fall between those of begin and end.
        let begin = HObject(name: "", snap: 0, hash: 0x0000_0000, pool: 2)
        let end = HObject(name: "", snap: 0, hash: 0x0000_0001, pool: 2)  // bitwise key 0x8000_0000
        _ = machine.backoffReceived(from: 1, Self.backoff(.block, begin: begin, end: end))
        // Hash 0x...0 reversed is below 0x8000_0000: inside; hash 0x...1 reversed is 0x8000_0000: outside.
        #expect(machine.submit(Self.write("in"), target: Self.target(hash: 0xABCD_0000), now: 0).action == nil)
        if case .send = machine.submit(Self.write("out"), target: Self.target(hash: 0xABCD_0001), now: 0).action {} else {
            Issue.record("an object outside the range was held")
        }
        // The session ends: the backoff goes with it and the held request is sent again.
        let actions = machine.sessionReset(osd: 1)
        #expect(actions.count == 2 && machine.heldCount == 0 && machine.backoffCount(osd: 1) == 0)
        // A reply for a held request (there is none on the wire) is ignored.
    }

    @Test func objectsSortAsOSDsSortThem() {
        let a = HObject(name: "a", hash: 0x8000_0000, pool: 1)
        let b = HObject(name: "b", hash: 0x0000_0001, pool: 1)
        // 0x80000000 reversed is 1, 0x00000001 reversed is 0x80000000: a before b.
        #expect(a.compare(b) < 0 && b.compare(a) > 0)
        #expect(HObject(name: "x", hash: 5, pool: 1).compare(HObject(name: "y", hash: 5, pool: 1)) < 0)
        #expect(HObject(name: "x", hash: 5, namespace: "n", pool: 1).compare(HObject(name: "x", hash: 5, pool: 1)) > 0)
        #expect(HObject.max.compare(a) > 0 && HObject.min.compare(a) < 0)
        #expect(a.compare(a) == 0 && a.isIn(from: a, to: b) && !b.isIn(from: a, to: b))
        #expect(UInt32(1).bitReversed == 0x8000_0000 && UInt32(0x0000_00F0).bitReversed == 0x0F00_0000)
    }

    @Test func aPGOpTargetsItsPGWithALocatorHash() {
        var machine = ObjecterStateMachine(osdmapEpoch: 4, features: 0x3F)
        let request = ObjecterStateMachine.Request.pgOp(
            hash: 5, namespace: PGNamespacedList.allNamespaces,
            ops: [.pgNamespacedList(maxEntries: 10, cursor: .min, startEpoch: 4)])
        #expect(request.flags == [.read, .ignoreOverlay])
        let target = OpTarget(pool: 2, objectHash: 5, pgSeed: 5, primary: 0, acting: [0, 1])
        guard case .send(0, _, let message) = machine.submit(request, target: target, now: 0).action else {
            Issue.record("expected a send"); return
        }
        #expect(message.objectName.isEmpty && message.locatorHash == 5 && message.objectHash == 5)
        #expect(message.flags == [.read, .ignoreOverlay, .knownRedirect])
        var front = ByteBuffer()
        message.encodeFront(into: &front)
        // The locator (version 6, compat 6 because of the hash) follows spg_t, hash,
        // epoch, flags, reqid, trace, client_inc and mtime.
        var reader = front
        _ = try? reader.readDencShardedPlacementGroupID()
        reader.moveReaderIndex(forwardBy: 4 + 4 + 4)
        _ = try? reader.readDencVersioned("osd_reqid_t", understands: 2) { body, _ in body.moveReaderIndex(to: body.writerIndex) }
        reader.moveReaderIndex(forwardBy: 24 + 4 + 8)
        let locator = try? reader.readDencObjectLocator()
        #expect(locator == ObjectLocator(pool: 2, namespace: PGNamespacedList.allNamespaces, hash: 5))
    }
}
