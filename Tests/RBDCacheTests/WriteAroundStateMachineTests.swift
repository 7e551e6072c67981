import Testing
@testable import RBDCache

/// The write-around machine driven by hand: requests are numbered, actions recorded.
@Suite struct WriteAroundStateMachineTests {
    typealias Machine = WriteAroundStateMachine<Int, TestFailure>

    /// What the actions did, by request number.
    struct Log {
        var passed: [Int] = []
        var sent: [(token: UInt64, request: Int)] = []
        var acknowledged: [Int] = []
        var reads: [Int] = []
        var flushed: [(request: Int, error: TestFailure?)] = []

        mutating func record(_ actions: [Machine.Action]) {
            for action in actions {
                switch action {
                case .passThrough(let request): passed.append(request)
                case .send(let token, let request): sent.append((token, request))
                case .acknowledge(let request): acknowledged.append(request)
                case .read(let request): reads.append(request)
                case .flushed(let request, let error): flushed.append((request, error))
                }
            }
        }

        func token(of request: Int) -> UInt64? { sent.first { $0.request == request }?.token }
    }

    @Test func writethroughUntilTheFirstUserFlush() {
        var machine = Machine(maxDirty: 1 << 20, writethroughUntilFlush: true)
        var log = Log()
        #expect(machine.passesThrough)
        log.record(machine.write(object: 0, offset: 0, length: 4096, waiter: 1))
        #expect(log.passed == [1])
        // An internal flush (a snapshot's drain) does not end writethrough.
        log.record(machine.flush(user: false, waiter: 2))
        #expect(machine.passesThrough)
        log.record(machine.flush(user: true, waiter: 3))
        #expect(!machine.passesThrough)
        log.record(machine.write(object: 0, offset: 0, length: 4096, waiter: 4))
        #expect(log.sent.map(\.request) == [4])
        #expect(log.acknowledged == [4])
    }

    @Test func maxDirtyZeroNeverActs() {
        var machine = Machine(maxDirty: 0, writethroughUntilFlush: false)
        var log = Log()
        log.record(machine.flush(user: true, waiter: 1))
        log.record(machine.write(object: 0, offset: 0, length: 10, waiter: 2))
        #expect(log.passed == [2])
        #expect(log.flushed.map(\.request) == [1])
    }

    @Test func writesOverTheLimitWaitForRoom() throws {
        var machine = Machine(maxDirty: 8192, writethroughUntilFlush: false)
        var log = Log()
        log.record(machine.write(object: 0, offset: 0, length: 4096, waiter: 1))
        log.record(machine.write(object: 1, offset: 0, length: 4096, waiter: 2))
        log.record(machine.write(object: 2, offset: 0, length: 4096, waiter: 3))
        #expect(log.acknowledged == [1, 2])
        #expect(machine.inFlightBytes == 8192)
        log.record(machine.completed(try #require(log.token(of: 1)), error: nil))
        #expect(log.acknowledged == [1, 2, 3])
        #expect(machine.inFlightBytes == 8192)
    }

    @Test func aWriteLargerThanTheLimitGoesWhenNothingIsInFlight() throws {
        var machine = Machine(maxDirty: 4096, writethroughUntilFlush: false)
        var log = Log()
        log.record(machine.write(object: 0, offset: 0, length: 1 << 20, waiter: 1))
        #expect(log.acknowledged == [1])
    }

    @Test func overlappingWritesGoInOrder() throws {
        var machine = Machine(maxDirty: 1 << 20, writethroughUntilFlush: false)
        var log = Log()
        log.record(machine.write(object: 5, offset: 0, length: 100, waiter: 1))
        log.record(machine.write(object: 5, offset: 50, length: 100, waiter: 2))
        log.record(machine.write(object: 5, offset: 200, length: 10, waiter: 3))
        log.record(machine.write(object: 6, offset: 0, length: 100, waiter: 4))
        // 2 overlaps 1 in flight: not sent, not acknowledged.
        #expect(log.sent.map(\.request) == [1, 3, 4])
        #expect(log.acknowledged == [1, 3, 4])
        log.record(machine.completed(try #require(log.token(of: 1)), error: nil))
        #expect(log.sent.map(\.request) == [1, 3, 4, 2])
    }

    @Test func readsWaitForOverlappingWritesInFlight() throws {
        var machine = Machine(maxDirty: 1 << 20, writethroughUntilFlush: false)
        var log = Log()
        log.record(machine.write(object: 1, offset: 100, length: 100, waiter: 1))
        log.record(machine.read(object: 1, offset: 0, length: 100, waiter: 2))
        log.record(machine.read(object: 1, offset: 150, length: 10, waiter: 3))
        log.record(machine.read(object: 2, offset: 150, length: 10, waiter: 4))
        #expect(log.reads == [2, 4])
        log.record(machine.completed(try #require(log.token(of: 1)), error: nil))
        #expect(log.reads == [2, 4, 3])
    }

    @Test func aFlushWaitsAndCarriesTheFirstError() throws {
        var machine = Machine(maxDirty: 1 << 20, writethroughUntilFlush: false)
        var log = Log()
        log.record(machine.write(object: 0, offset: 0, length: 10, waiter: 1))
        log.record(machine.write(object: 1, offset: 0, length: 10, waiter: 2))
        log.record(machine.flush(user: true, waiter: 3))
        log.record(machine.write(object: 2, offset: 0, length: 10, waiter: 4))
        log.record(machine.completed(try #require(log.token(of: 2)), error: TestFailure(code: 5)))
        #expect(log.flushed.isEmpty)
        log.record(machine.completed(try #require(log.token(of: 1)), error: nil))
        // Write 4 came after the flush: it does not hold it back.
        #expect(log.flushed.map(\.request) == [3])
        #expect(log.flushed.first?.error == TestFailure(code: 5))
        // Reported once: the next flush is clean.
        log.record(machine.completed(try #require(log.token(of: 4)), error: nil))
        log.record(machine.flush(user: true, waiter: 5))
        #expect(log.flushed.last?.request == 5)
        #expect(log.flushed.last?.error == nil)
    }

    @Test func anErrorWithNoFlushWaitingGoesToTheNextFlush() throws {
        var machine = Machine(maxDirty: 1 << 20, writethroughUntilFlush: false)
        var log = Log()
        log.record(machine.write(object: 0, offset: 0, length: 10, waiter: 1))
        log.record(machine.completed(try #require(log.token(of: 1)), error: TestFailure(code: 28)))
        log.record(machine.flush(user: true, waiter: 2))
        #expect(log.flushed.first?.error == TestFailure(code: 28))
    }

    /// Random writes, reads and flushes against a simulated OSD that completes requests
    /// in random order. Invariants: a read, when sent, finds every byte that a write
    /// acknowledged before the read was issued put there (unless a write issued later
    /// overwrote it); a flush answers only once every write acknowledged before it has
    /// completed; at most `maxDirty` bytes are in flight beyond one request; every
    /// request is answered once everything completes.
    @Test(arguments: 0..<64)
    func randomRunsKeepTheGuarantees(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let objectSize = 64
        let maxDirty = Int.random(in: 0...160, using: &random)
        var machine = Machine(maxDirty: maxDirty, writethroughUntilFlush: Bool.random(using: &random))
        var osd = SimulatedOSD(objectSize: objectSize)

        enum Request { case write(UInt64, UInt64, [UInt8]), read(UInt64, UInt64, UInt64), flush }
        var requests: [Request] = []
        var acknowledged: Set<Int> = []
        var completedWrites: Set<Int> = []
        var inFlight: [(token: UInt64, request: Int)] = []
        // For each read: per byte, the request number of the newest write acknowledged
        // when the read was issued, and whether a later-issued write may change it.
        var expected: [Int: [(value: UInt8, fixed: Bool)]] = [:]
        var reference = ReferenceImage(objectSize: objectSize)
        var lastWriter: [UInt64: [Int]] = [:]  // per object, per byte: the write request
        var flushesWaiting: [Int: Set<Int>] = [:]  // flush → writes acknowledged before it
        var flushed: Set<Int> = []
        var readsDone: Set<Int> = []

        func apply(_ actions: [Machine.Action]) throws {
            for action in actions {
                switch action {
                case .passThrough(let request), .send(_, let request):
                    guard case .write(let object, let offset, let data) = requests[request] else { continue }
                    osd.write(object, offset, data)
                    if case .send(let token, _) = action { inFlight.append((token, request)) } else { completedWrites.insert(request); acknowledged.insert(request) }
                case .acknowledge(let request):
                    acknowledged.insert(request)
                case .read(let request):
                    guard case .read(let object, let offset, let length) = requests[request] else { continue }
                    let seen = osd.bytes(object, offset, length)
                    let writers = lastWriter[object] ?? []
                    for (index, want) in (expected[request] ?? []).enumerated() where want.fixed {
                        // A write issued after the read is concurrent with it: either is fine.
                        let overwritten = writers.indices.contains(Int(offset) + index) && writers[Int(offset) + index] > request
                        #expect(overwritten || seen[index] == want.value, "seed \(seed): read \(request) byte \(index)")
                    }
                    readsDone.insert(request)
                case .flushed(let request, _):
                    let needed = flushesWaiting[request] ?? []
                    #expect(needed.isSubset(of: completedWrites), "seed \(seed): flush \(request) answered before its writes completed")
                    flushed.insert(request)
                }
            }
        }

        for _ in 0..<300 {
            let choice = Int.random(in: 0..<10, using: &random)
            let number = requests.count
            if choice < 4 {
                let object = UInt64.random(in: 0..<3, using: &random)
                let offset = UInt64.random(in: 0..<UInt64(objectSize - 1), using: &random)
                let length = UInt64.random(in: 1...UInt64(objectSize) - offset, using: &random)
                let value = UInt8(truncatingIfNeeded: number % 250 + 1)
                requests.append(.write(object, offset, [UInt8](repeating: value, count: Int(length))))
                reference.write(object, offset, [UInt8](repeating: value, count: Int(length)))
                var writers = lastWriter[object] ?? [Int](repeating: -1, count: objectSize)
                for index in Int(offset)..<Int(offset + length) { writers[index] = number }
                lastWriter[object] = writers
                try apply(machine.write(object: object, offset: offset, length: length, waiter: number))
            } else if choice < 7 {
                let object = UInt64.random(in: 0..<3, using: &random)
                let offset = UInt64.random(in: 0..<UInt64(objectSize - 1), using: &random)
                let length = UInt64.random(in: 1...UInt64(objectSize) - offset, using: &random)
                requests.append(.read(object, offset, length))
                let writers = lastWriter[object] ?? [Int](repeating: -1, count: objectSize)
                let values = reference.bytes(object, offset, length)
                expected[number] = (0..<Int(length)).map { index in
                    let writer = writers[Int(offset) + index]
                    // Fixed when the newest write there was acknowledged (or there is none).
                    return (values[index], writer < 0 || acknowledged.contains(writer))
                }
                try apply(machine.read(object: object, offset: offset, length: length, waiter: number))
            } else if choice < 8 {
                requests.append(.flush)
                flushesWaiting[number] = acknowledged
                try apply(machine.flush(user: Bool.random(using: &random), waiter: number))
            } else if !inFlight.isEmpty {
                requests.append(.flush)  // a placeholder number, never used
                let pick = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &random))
                completedWrites.insert(pick.request)
                try apply(machine.completed(pick.token, error: nil))
            } else {
                requests.append(.flush)
            }
            #expect(machine.inFlightBytes <= UInt64(maxDirty) || inFlight.count <= 1, "seed \(seed): in flight over the limit")
        }
        while !inFlight.isEmpty {
            let pick = inFlight.removeFirst()
            completedWrites.insert(pick.request)
            try apply(machine.completed(pick.token, error: nil))
        }
        for (number, request) in requests.enumerated() {
            switch request {
            case .write: #expect(acknowledged.contains(number) && completedWrites.contains(number), "seed \(seed): write \(number) never finished")
            case .read: #expect(readsDone.contains(number), "seed \(seed): read \(number) never sent")
            case .flush: if flushesWaiting[number] != nil { #expect(flushed.contains(number), "seed \(seed): flush \(number) never answered") }
            }
        }
        #expect(osd.objects.keys.allSatisfy { osd.bytes($0, 0, UInt64(objectSize)) == reference.bytes($0, 0, UInt64(objectSize)) }, "seed \(seed): the OSD does not hold what was written")
    }
}
