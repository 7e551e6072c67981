import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// librbd's simple I/O scheduler driven by hand: requests are numbered, sends recorded.
@Suite struct WriteSchedulerStateMachineTests {
    typealias Machine = WriteSchedulerStateMachine<Int>

    struct Send: Equatable {
        var token: UInt64
        var object: UInt64
        var offset: UInt64
        var bytes: [UInt8]
        var requests: [Int]
    }

    static func sends(_ actions: [Machine.Action]) -> [Send] {
        actions.compactMap { action in
            guard case .send(let token, let object, let offset, let data, let requests) = action else { return nil }
            return Send(token: token, object: object, offset: offset, bytes: data.getBytes(at: data.readerIndex, length: data.readableBytes) ?? [], requests: Array(requests))
        }
    }

    static func data(_ value: UInt8, _ count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeRepeatingByte(value, count: count)
        return buffer
    }

    /// A machine that has seen ten writes complete, each after `latency`.
    static func warmed(latency: UInt64 = 100) -> Machine {
        var machine = Machine(maxDelayNanoseconds: 0)
        for index in 0..<Machine.latencyWindow {
            let sent = sends(machine.write(object: 1000, offset: UInt64(index), data: data(0, 1), snapSeq: 0, request: -1, now: 0))
            _ = machine.completed(sent[0].token, object: 1000, now: latency)
        }
        return machine
    }

    @Test func nothingWaitsBeforeTenLatenciesAreKnown() {
        var machine = Machine(maxDelayNanoseconds: 0)
        let first = Self.sends(machine.write(object: 0, offset: 0, data: Self.data(1, 4), snapSeq: 0, request: 1, now: 0))
        let second = Self.sends(machine.write(object: 0, offset: 4, data: Self.data(2, 4), snapSeq: 0, request: 2, now: 0))
        #expect(first.map(\.requests) == [[1]])
        #expect(second.map(\.requests) == [[2]])
        #expect(!machine.delays)
    }

    @Test func sequentialWritesBehindOneInFlightMergeAndGoWhenItCompletes() throws {
        var machine = Self.warmed()
        let first = Self.sends(machine.write(object: 7, offset: 0, data: Self.data(1, 4), snapSeq: 3, request: 1, now: 1000))
        #expect(first.map(\.requests) == [[1]])
        var actions = machine.write(object: 7, offset: 4, data: Self.data(2, 4), snapSeq: 3, request: 2, now: 1001)
        // Waiting from the first: a wake-up at half the sum of the last ten latencies.
        #expect(actions.contains { if case .wake(let at) = $0 { return at == 1001 + 500 } else { return false } })
        actions += machine.write(object: 7, offset: 12, data: Self.data(4, 4), snapSeq: 3, request: 4, now: 1002)
        actions += machine.write(object: 7, offset: 8, data: Self.data(3, 4), snapSeq: 3, request: 3, now: 1003)
        // Another object is not held back.
        #expect(Self.sends(machine.write(object: 8, offset: 0, data: Self.data(9, 4), snapSeq: 3, request: 9, now: 1003)).map(\.requests) == [[9]])
        #expect(Self.sends(actions).isEmpty)
        let released = Self.sends(machine.completed(try #require(first.first).token, object: 7, now: 1100))
        // 4..16 as one write, carrying every request (in offset order).
        #expect(released.count == 1)
        #expect(released.first?.offset == 4)
        #expect(released.first?.bytes == [2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4])
        #expect(released.first?.requests == [2, 3, 4])
    }

    /// A write overlapping the waiting ones, or with a newer snap context, cannot join
    /// them: they are sent first, then it.
    @Test(arguments: [("overlapping", UInt64(10), UInt64(0)), ("new snap context", 12, 1)])
    func aWriteThatCannotJoinSendsTheWaitingOnesFirst(_ why: String, offset: UInt64, snapSeq: UInt64) {
        var machine = Self.warmed()
        _ = machine.write(object: 0, offset: 0, data: Self.data(1, 4), snapSeq: 0, request: 1, now: 0)
        _ = machine.write(object: 0, offset: 8, data: Self.data(2, 4), snapSeq: 0, request: 2, now: 0)
        let sent = Self.sends(machine.write(object: 0, offset: offset, data: Self.data(3, 4), snapSeq: snapSeq, request: 3, now: 0))
        #expect(sent.map(\.requests) == [[2], [3]], "\(why)")
    }

    @Test func readsDiscardsFlushesAndTimeReleaseWaitingWrites() {
        var machine = Self.warmed()
        _ = machine.write(object: 0, offset: 0, data: Self.data(1, 4), snapSeq: 0, request: 1, now: 0)
        _ = machine.write(object: 0, offset: 4, data: Self.data(2, 4), snapSeq: 0, request: 2, now: 0)
        // A read elsewhere in the object does not; one overlapping does.
        #expect(Self.sends(machine.read(object: 0, offset: 100, length: 4)).isEmpty)
        #expect(Self.sends(machine.read(object: 0, offset: 6, length: 4)).map(\.requests) == [[2]])

        _ = machine.write(object: 1, offset: 0, data: Self.data(1, 4), snapSeq: 0, request: 3, now: 0)
        _ = machine.write(object: 1, offset: 4, data: Self.data(2, 4), snapSeq: 0, request: 4, now: 0)
        let (token, before) = machine.other(object: 1)
        #expect(Self.sends(before).map(\.requests) == [[4]])
        // Writes after the discard wait behind it.
        _ = machine.write(object: 1, offset: 8, data: Self.data(3, 4), snapSeq: 0, request: 5, now: 0)
        #expect(Self.sends(machine.completed(token, object: 1, now: 10)).map(\.requests) == [[5]])

        _ = machine.write(object: 2, offset: 0, data: Self.data(1, 4), snapSeq: 0, request: 6, now: 0)
        _ = machine.write(object: 2, offset: 4, data: Self.data(2, 4), snapSeq: 0, request: 7, now: 0)
        #expect(Self.sends(machine.flush()).map(\.requests) == [[7]])

        _ = machine.write(object: 3, offset: 0, data: Self.data(1, 4), snapSeq: 0, request: 8, now: 0)
        _ = machine.write(object: 3, offset: 4, data: Self.data(2, 4), snapSeq: 0, request: 9, now: 0)
        #expect(Self.sends(machine.tick(now: 499)).isEmpty)
        #expect(Self.sends(machine.tick(now: 500)).map(\.requests) == [[9]])
    }

    @Test func aFixedDelayNeedsNoLatencies() {
        var machine = Machine(maxDelayNanoseconds: 5_000_000)
        #expect(machine.delays)
        _ = machine.write(object: 0, offset: 0, data: Self.data(1, 4), snapSeq: 0, request: 1, now: 0)
        let actions = machine.write(object: 0, offset: 4, data: Self.data(2, 4), snapSeq: 0, request: 2, now: 10)
        #expect(actions.contains { if case .wake(let at) = $0 { return at == 5_000_010 } else { return false } })
    }

    /// Random writes, reads, discards, flushes, ticks and completions: whatever is sent,
    /// applied in send order, leaves each object as the writes applied in submission
    /// order would (a write never overtakes an overlapping earlier one), every write is
    /// sent exactly once, and a read finds every earlier overlapping write sent before it.
    @Test(arguments: 0..<48)
    func randomRunsKeepOrder(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var machine = seed % 2 == 0 ? Self.warmed() : Machine(maxDelayNanoseconds: 7)
        var stored: [UInt64: [UInt8]] = [:]
        var reference: [UInt64: [UInt8]] = [:]
        var inFlight: [(token: UInt64, object: UInt64)] = []
        var sentRequests: [Int] = []
        var pendingWrites: [Int: (object: UInt64, range: Range<Int>)] = [:]
        var now: UInt64 = 1000
        func apply(_ actions: [Machine.Action]) {
            for send in Self.sends(actions) where send.requests.first != -1 {
                var bytes = stored[send.object] ?? [UInt8](repeating: 0, count: 64)
                bytes.replaceSubrange(Int(send.offset)..<Int(send.offset) + send.bytes.count, with: send.bytes)
                stored[send.object] = bytes
                inFlight.append((send.token, send.object))
                sentRequests += send.requests
                for request in send.requests { pendingWrites[request] = nil }
            }
        }
        for number in 0..<300 {
            now += UInt64.random(in: 0...3, using: &random)
            let object = UInt64.random(in: 0..<3, using: &random)
            let offset = Int.random(in: 0..<60, using: &random)
            let length = Int.random(in: 1...(64 - offset), using: &random)
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                let value = UInt8(truncatingIfNeeded: number % 250 + 1)
                var bytes = reference[object] ?? [UInt8](repeating: 0, count: 64)
                bytes.replaceSubrange(offset..<offset + length, with: repeatElement(value, count: length))
                reference[object] = bytes
                pendingWrites[number] = (object, offset..<offset + length)
                apply(machine.write(object: object, offset: UInt64(offset), data: Self.data(value, length), snapSeq: 0, request: number, now: now))
            case 5:
                apply(machine.read(object: object, offset: UInt64(offset), length: UInt64(length)))
                let waiting = pendingWrites.values.filter { $0.object == object && $0.range.overlaps(offset..<offset + length) }
                #expect(waiting.isEmpty, "seed \(seed): a read went before an overlapping earlier write")
            case 6:
                apply(machine.flush())
                #expect(pendingWrites.isEmpty, "seed \(seed): a flush left writes waiting")
            case 7:
                apply(machine.tick(now: now))
            default:
                guard !inFlight.isEmpty else { continue }
                let pick = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &random))
                apply(machine.completed(pick.token, object: pick.object, now: now))
            }
        }
        apply(machine.flush())
        #expect(pendingWrites.isEmpty)
        #expect(Set(sentRequests).count == sentRequests.count, "seed \(seed): a write was sent twice")
        for object in reference.keys {
            #expect(stored[object] == reference[object], "seed \(seed): object \(object) differs from the writes in submission order")
        }
    }
}
