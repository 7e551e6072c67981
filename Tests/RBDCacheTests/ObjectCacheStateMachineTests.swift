import NIOCore
import Testing
@testable import RBDCache

/// The object cache driven by hand: requests are numbered, OSD requests answered by the test.
@Suite struct ObjectCacheStateMachineTests {
    typealias Machine = ObjectCacheStateMachine<Int, TestFailure>

    static let second: UInt64 = 1_000_000_000

    static func writeback(size: Int = 1 << 20, maxDirty: Int = 1 << 16, targetDirty: Int = 1 << 15, writethroughUntilFlush: Bool = false) -> Machine {
        Machine(sizeBytes: size, maxDirty: maxDirty, targetDirty: targetDirty, maxDirtyAgeNanoseconds: second, writethroughUntilFlush: writethroughUntilFlush)
    }

    struct Log {
        var reads: [(token: UInt64, object: UInt64, offset: UInt64, length: UInt64)] = []
        var writes: [(token: UInt64, object: UInt64, offset: UInt64, data: [UInt8])] = []
        var readDone: [Int: Result<[UInt8], TestFailure>] = [:]
        var writeDone: [Int: TestFailure?] = [:]
        var flushed: [Int: TestFailure?] = [:]
        var wake: UInt64?

        mutating func record(_ actions: [Machine.Action]) {
            for action in actions {
                switch action {
                case .read(let token, let object, let offset, let length): reads.append((token, object, offset, length))
                case .write(let token, let object, let offset, let data): writes.append((token, object, offset, data.bytes))
                case .readDone(let request, let result): readDone[request] = result.map(\.bytes)
                case .writeDone(let request, let error): writeDone[request] = .some(error)
                case .flushed(let request, let error): flushed[request] = .some(error)
                case .wake(let at): wake = at
                }
            }
        }
    }

    static func data(_ value: UInt8, _ count: Int) -> ByteBuffer { ByteBuffer(bytes: [UInt8](repeating: value, count: count)) }

    @Test func writebackAcknowledgesAtOnceAndReadsHit() throws {
        var machine = Self.writeback()
        var log = Log()
        log.record(machine.write(object: 3, offset: 100, data: Self.data(7, 50), waiter: 1, now: 0))
        #expect(log.writeDone[1] == .some(nil))
        #expect(log.writes.isEmpty)
        #expect(machine.dirtyBytes == 50)
        // A read inside the dirty extent is served from it, no OSD request.
        log.record(machine.read(object: 3, offset: 110, length: 20, waiter: 2))
        #expect(try log.readDone[2]?.get() == [UInt8](repeating: 7, count: 20))
        #expect(log.reads.isEmpty)
    }

    @Test func aPartialHitReadsOnlyTheGapsAndCachesThem() throws {
        var machine = Self.writeback()
        var log = Log()
        log.record(machine.write(object: 0, offset: 10, data: Self.data(1, 10), waiter: 1, now: 0))
        log.record(machine.read(object: 0, offset: 0, length: 30, waiter: 2))
        // One request from the first gap to the last; the cached middle is kept.
        let read = try #require(log.reads.first)
        #expect((read.offset, read.length) == (0, 30))
        log.record(machine.readCompleted(read.token, .success(Self.data(9, 30)), now: 0))
        let bytes = try #require(try log.readDone[2]?.get())
        #expect(bytes == [UInt8](repeating: 9, count: 10) + [UInt8](repeating: 1, count: 10) + [UInt8](repeating: 9, count: 10))
        #expect(machine.cleanBytes == 20)
        log.record(machine.read(object: 0, offset: 0, length: 30, waiter: 3))
        #expect(log.reads.count == 1)
        #expect(try log.readDone[3]?.get() == bytes)
    }

    @Test func aReadDoesNotCacheWhatAWriteMadeStale() throws {
        var machine = Self.writeback()
        var log = Log()
        log.record(machine.read(object: 0, offset: 0, length: 10, waiter: 1))
        log.record(machine.write(object: 0, offset: 0, data: Self.data(5, 10), waiter: 2, now: 0))
        log.record(machine.discard(object: 0, range: 0..<10, now: 0))
        let read = try #require(log.reads.first)
        log.record(machine.readCompleted(read.token, .success(Self.data(8, 10)), now: 0))
        // The read answered what it found; the cache kept nothing of it.
        #expect(try log.readDone[1]?.get() == [UInt8](repeating: 8, count: 10))
        #expect(machine.cleanBytes == 0)
        #expect(machine.totalBytes == 0)
    }

    @Test func aFlushCoalescesAdjacentDirtyExtentsIntoOneWrite() throws {
        var machine = Self.writeback()
        var log = Log()
        log.record(machine.write(object: 1, offset: 0, data: Self.data(1, 4), waiter: 1, now: 0))
        log.record(machine.write(object: 1, offset: 4, data: Self.data(2, 4), waiter: 2, now: 0))
        log.record(machine.write(object: 1, offset: 20, data: Self.data(3, 4), waiter: 3, now: 0))
        log.record(machine.flush(user: true, waiter: 4, now: 0))
        #expect(log.writes.count == 2)
        #expect(log.writes[0].offset == 0 && log.writes[0].data == [1, 1, 1, 1, 2, 2, 2, 2])
        #expect(log.writes[1].offset == 20 && log.writes[1].data == [3, 3, 3, 3])
        #expect(log.flushed[4] == nil)
        log.record(machine.writeCompleted(log.writes[0].token, error: nil, now: 0))
        #expect(log.flushed[4] == nil)
        log.record(machine.writeCompleted(log.writes[1].token, error: nil, now: 0))
        #expect(log.flushed[4] == .some(nil))
        #expect(machine.dirtyBytes == 0 && machine.cleanBytes == 12)
    }

    @Test func writethroughAcknowledgesOnlyOnceOnTheOSDs() throws {
        var machine = Self.writeback(maxDirty: 0)
        var log = Log()
        log.record(machine.write(object: 0, offset: 0, data: Self.data(4, 8), waiter: 1, now: 0))
        #expect(log.writeDone[1] == nil)
        let write = try #require(log.writes.first)
        // Reads see it while it is on its way.
        log.record(machine.read(object: 0, offset: 0, length: 8, waiter: 2))
        #expect(try log.readDone[2]?.get() == [UInt8](repeating: 4, count: 8))
        log.record(machine.writeCompleted(write.token, error: nil, now: 0))
        #expect(log.writeDone[1] == .some(nil))
        #expect(machine.cleanBytes == 8)
    }

    @Test func aFailedWritethroughWriteFailsAndIsNotKept() throws {
        var machine = Self.writeback(maxDirty: 0)
        var log = Log()
        log.record(machine.write(object: 0, offset: 0, data: Self.data(4, 8), waiter: 1, now: 0))
        let write = try #require(log.writes.first)
        log.record(machine.writeCompleted(write.token, error: TestFailure(code: 5), now: 0))
        #expect(log.writeDone[1] == .some(TestFailure(code: 5)))
        #expect(machine.totalBytes == 0)
        log.record(machine.flush(user: true, waiter: 2, now: 0))
        #expect(log.flushed[2] == .some(nil))
    }

    @Test func writethroughUntilTheFirstUserFlush() throws {
        var machine = Self.writeback(writethroughUntilFlush: true)
        var log = Log()
        #expect(machine.isWritethrough)
        log.record(machine.write(object: 0, offset: 0, data: Self.data(1, 8), waiter: 1, now: 0))
        #expect(log.writeDone[1] == nil)
        log.record(machine.flush(user: false, waiter: 2, now: 0))
        #expect(machine.isWritethrough)
        log.record(machine.flush(user: true, waiter: 3, now: 0))
        #expect(!machine.isWritethrough)
        log.record(machine.write(object: 0, offset: 0, data: Self.data(2, 8), waiter: 4, now: 0))
        #expect(log.writeDone[4] == .some(nil))
    }

    @Test func aWritebackErrorGoesToTheNextFlushAndTheDataStays() throws {
        var machine = Self.writeback()
        var log = Log()
        log.record(machine.write(object: 2, offset: 0, data: Self.data(6, 16), waiter: 1, now: 0))
        log.record(machine.flush(user: true, waiter: 2, now: 0))
        log.record(machine.writeCompleted(log.writes[0].token, error: TestFailure(code: 28), now: 0))
        #expect(log.flushed[2] == .some(TestFailure(code: 28)))
        // Still dirty, still readable; the next flush writes it again and succeeds.
        #expect(machine.dirtyBytes == 16)
        log.record(machine.read(object: 2, offset: 0, length: 16, waiter: 3))
        #expect(try log.readDone[3]?.get() == [UInt8](repeating: 6, count: 16))
        log.record(machine.flush(user: true, waiter: 4, now: 0))
        #expect(log.writes.count == 2)
        log.record(machine.writeCompleted(log.writes[1].token, error: nil, now: 0))
        #expect(log.flushed[4] == .some(nil))
    }

    @Test func dirtyDataAgesOut() throws {
        var machine = Self.writeback()
        var log = Log()
        log.record(machine.write(object: 0, offset: 0, data: Self.data(1, 8), waiter: 1, now: 5))
        #expect(log.wake == 5 + Self.second)
        log.record(machine.tick(now: 5 + Self.second / 2))
        #expect(log.writes.isEmpty)
        log.record(machine.tick(now: 5 + Self.second))
        #expect(log.writes.count == 1)
    }

    @Test func writersWaitAboveMaxDirtyAndWritebackStartsAboveTarget() throws {
        var machine = Self.writeback(maxDirty: 100, targetDirty: 50)
        var log = Log()
        log.record(machine.write(object: 0, offset: 0, data: Self.data(1, 40), waiter: 1, now: 0))
        #expect(log.writes.isEmpty)
        log.record(machine.write(object: 1, offset: 0, data: Self.data(2, 40), waiter: 2, now: 0))
        // Over the target: the oldest object goes out, down to the target.
        #expect(log.writes.map(\.object) == [0])
        #expect(log.writeDone[2] == .some(nil))
        log.record(machine.write(object: 2, offset: 0, data: Self.data(3, 40), waiter: 3, now: 0))
        // 120 bytes dirty or being written: the writer waits, everything goes out.
        #expect(log.writeDone[3] == nil)
        #expect(Set(log.writes.map(\.object)) == [0, 1, 2])
        log.record(machine.writeCompleted(log.writes[0].token, error: nil, now: 0))
        #expect(log.writeDone[3] == .some(nil))
    }

    @Test func cleanDataIsEvictedLeastRecentlyUsedFirst() throws {
        var machine = Self.writeback(size: 100, maxDirty: 0)
        var log = Log()
        for object in UInt64(0)..<3 {
            log.record(machine.read(object: object, offset: 0, length: 40, waiter: Int(object)))
            log.record(machine.readCompleted(log.reads[Int(object)].token, .success(Self.data(UInt8(object), 40)), now: 0))
        }
        #expect(machine.totalBytes <= 100)
        // Object 0 was the least recently used: it went.
        log.record(machine.read(object: 0, offset: 0, length: 40, waiter: 10))
        #expect(log.reads.count == 4)
        log.record(machine.read(object: 2, offset: 0, length: 40, waiter: 11))
        #expect(log.reads.count == 4)
    }

    @Test func invalidateRefusesDirtyData() {
        var machine = Self.writeback()
        var log = Log()
        log.record(machine.write(object: 0, offset: 0, data: Self.data(1, 8), waiter: 1, now: 0))
        let refused = machine.invalidate()
        #expect(!refused)
        #expect(machine.dirtyBytes == 8)
        log.record(machine.flush(user: true, waiter: 2, now: 0))
        log.record(machine.writeCompleted(log.writes[0].token, error: nil, now: 0))
        let dropped = machine.invalidate()
        #expect(dropped)
        #expect(machine.totalBytes == 0)
    }

    /// Random reads, writes, discards, flushes, time steps and OSD completions (in random
    /// order, some writebacks failing) against a reference image. Invariants: a read
    /// returns exactly what the reference held when it was issued; a flush answered
    /// without error leaves on the OSDs every byte written before it (unless a later
    /// request changed it); dirty bytes stay within the limit plus the writes still
    /// waiting; clean data never pushes the cache over its size; nothing dirty outlives
    /// its age at a tick; at the end, after a successful flush, the OSDs hold the
    /// reference exactly and every request was answered.
    @Test(arguments: 0..<96)
    func randomRunsKeepTheGuarantees(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let objectSize = 64
        let writethrough = seed % 4 == 0
        let failures = !writethrough && seed % 3 == 0
        let maxDirty = writethrough ? 0 : Int.random(in: 16...200, using: &random)
        let age = UInt64.random(in: 1...50, using: &random)
        var machine = Machine(
            sizeBytes: Int.random(in: 32...300, using: &random), maxDirty: maxDirty, targetDirty: Int.random(in: 0...maxDirty, using: &random),
            maxDirtyAgeNanoseconds: age, writethroughUntilFlush: !writethrough && !failures && Bool.random(using: &random))
        var osd = SimulatedOSD(objectSize: objectSize)
        var reference = ReferenceImage(objectSize: objectSize)
        var now: UInt64 = 0
        var number = 0
        var modifiedBy: [UInt64: [Int]] = [:]  // per object, per byte: the last request changing it
        var pending: [(token: UInt64, read: [UInt8]?, fails: Bool)] = []
        var expectedReads: [Int: [UInt8]] = [:]
        var unacknowledged: [Int: UInt64] = [:]  // write → length
        var flushes: [Int: [UInt64: [UInt8]]] = [:]
        var answeredReads: Set<Int> = []
        var answeredFlushes: [Int: TestFailure?] = [:]

        func apply(_ actions: [Machine.Action]) {
            for action in actions {
                switch action {
                case .read(let token, let object, let offset, let length):
                    pending.append((token, osd.bytes(object, offset, length), false))
                case .write(let token, let object, let offset, let data):
                    let fails = failures && UInt64.random(in: 0..<5, using: &random) == 0
                    if !fails { osd.write(object, offset, data.bytes) }
                    pending.append((token, nil, fails))
                case .readDone(let request, let result):
                    if case .success(let bytes) = result {
                        #expect(bytes.bytes == expectedReads[request], "seed \(seed): read \(request) returned other bytes than were written")
                    }
                    answeredReads.insert(request)
                case .writeDone(let request, let error):
                    #expect(error == nil, "seed \(seed): write \(request) failed")
                    unacknowledged[request] = nil
                case .flushed(let request, let error):
                    answeredFlushes[request] = .some(error)
                    guard error == nil, let snapshot = flushes[request] else { continue }
                    for (object, bytes) in snapshot {
                        let osdBytes = osd.bytes(object, 0, UInt64(objectSize))
                        let changers = modifiedBy[object] ?? []
                        for index in 0..<objectSize where changers.indices.contains(index) && changers[index] < request {
                            #expect(osdBytes[index] == bytes[index], "seed \(seed): flush \(request) answered, byte \(index) of object \(object) not on the OSD")
                        }
                    }
                case .wake:
                    break
                }
            }
        }

        func mark(_ object: UInt64, _ range: Range<Int>) {
            var changers = modifiedBy[object] ?? [Int](repeating: -1, count: objectSize)
            for index in range { changers[index] = number }
            modifiedBy[object] = changers
        }

        for _ in 0..<400 {
            number += 1
            let object = UInt64.random(in: 0..<4, using: &random)
            let offset = UInt64.random(in: 0..<UInt64(objectSize - 1), using: &random)
            let length = UInt64.random(in: 1...UInt64(objectSize) - offset, using: &random)
            switch Int.random(in: 0..<16, using: &random) {
            case 0..<5:
                let bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: number % 250 + 1), count: Int(length))
                reference.write(object, offset, bytes)
                mark(object, Int(offset)..<Int(offset + length))
                unacknowledged[number] = length
                apply(machine.write(object: object, offset: offset, data: ByteBuffer(bytes: bytes), waiter: number, now: now))
            case 5..<9:
                expectedReads[number] = reference.bytes(object, offset, length)
                apply(machine.read(object: object, offset: offset, length: length, waiter: number))
            case 9:
                // A discard: the cache drops the range, then the driver sends it.
                let whole = Bool.random(using: &random)
                let range = whole ? 0..<UInt64(objectSize) : offset..<offset + length
                reference.write(object, range.lowerBound, [UInt8](repeating: 0, count: range.count))
                mark(object, Int(range.lowerBound)..<Int(range.upperBound))
                apply(machine.discard(object: object, range: whole ? nil : range, now: now))
                osd.zero(object, range)
            case 10:
                flushes[number] = reference.objects
                apply(machine.flush(user: Bool.random(using: &random), waiter: number, now: now))
            case 11:
                now += UInt64.random(in: 1...age, using: &random)
                apply(machine.tick(now: now))
                let stale = machine.objects.values.compactMap(\.dirtySince).filter { $0 &+ age <= now }
                #expect(stale.isEmpty, "seed \(seed): dirty data older than its age after a tick")
            default:
                guard !pending.isEmpty else { continue }
                let pick = pending.remove(at: Int.random(in: 0..<pending.count, using: &random))
                if let read = pick.read {
                    apply(machine.readCompleted(pick.token, .success(ByteBuffer(bytes: read)), now: now))
                } else {
                    apply(machine.writeCompleted(pick.token, error: pick.fails ? TestFailure(code: 5) : nil, now: now))
                }
            }
            let waiting = unacknowledged.values.reduce(0, +)
            #expect(machine.dirtyBytes + machine.writingBytes <= UInt64(maxDirty) + waiting, "seed \(seed): dirty over the limit")
            #expect(machine.cleanBytes == 0 || machine.totalBytes <= machine.sizeLimit, "seed \(seed): over the size limit with clean data")
        }
        // Drain: complete everything, flush until a flush succeeds.
        var rounds = 0
        while rounds < 50 {
            rounds += 1
            while !pending.isEmpty {
                let pick = pending.removeFirst()
                if let read = pick.read {
                    apply(machine.readCompleted(pick.token, .success(ByteBuffer(bytes: read)), now: now))
                } else {
                    apply(machine.writeCompleted(pick.token, error: pick.fails ? TestFailure(code: 5) : nil, now: now))
                }
            }
            number += 1
            let final = number
            flushes[final] = reference.objects
            apply(machine.flush(user: true, waiter: final, now: now))
            while !pending.isEmpty {
                let pick = pending.removeFirst()
                apply(machine.writeCompleted(pick.token, error: pick.fails ? TestFailure(code: 5) : nil, now: now))
            }
            if case .some(.none) = answeredFlushes[final] { break }
        }
        #expect(rounds < 50, "seed \(seed): no flush ever succeeded")
        #expect(unacknowledged.isEmpty, "seed \(seed): writes never acknowledged: \(unacknowledged.keys.sorted())")
        #expect(Set(expectedReads.keys) == answeredReads, "seed \(seed): reads never answered")
        #expect(Set(flushes.keys) == Set(answeredFlushes.keys), "seed \(seed): flushes never answered")
        for object in UInt64(0)..<4 {
            #expect(osd.bytes(object, 0, UInt64(objectSize)) == reference.bytes(object, 0, UInt64(objectSize)), "seed \(seed): object \(object) on the OSD differs from what was written")
        }
    }
}
