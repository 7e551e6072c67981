import NIOConcurrencyHelpers
import Testing
@testable import RBDCore

/// The write gate a snapshot closes, driven by hand: writes admitted before the block
/// drain before the blocker goes on; writes and flushes that arrive during it wait
/// without a ticket and are admitted in order when it ends; a flush never overtakes a
/// write issued before it.
@Suite struct WriteTrackerTests {
    /// What happened, in order.
    final class Journal: Sendable {
        let events = NIOLockedValueBox<[String]>([])
        let tickets = NIOLockedValueBox<[String: UInt64]>([:])
        func log(_ event: String) { events.withLockedValue { $0.append(event) } }
        var all: [String] { events.withLockedValue { $0 } }
        func write(_ name: String, _ tracker: WriteTracker) {
            tracker.admit { [self] ticket in
                tickets.withLockedValue { $0[name] = ticket }
                log("\(name) admitted")
            }
        }
        func finish(_ name: String, _ tracker: WriteTracker) {
            guard let ticket = tickets.withLockedValue({ $0[name] }) else {
                Issue.record("\(name) was never admitted")
                return
            }
            tracker.finish(ticket)
        }
    }

    @Test func aBlockDrainsAdmittedWritesAndQueuesNewOnes() {
        let tracker = WriteTracker()
        let journal = Journal()
        journal.write("w1", tracker)
        journal.write("w2", tracker)
        tracker.block { journal.log("drained") }
        journal.write("w3", tracker)
        tracker.whenFlushed { journal.log("flush after w3") }
        journal.write("w4", tracker)
        #expect(journal.all == ["w1 admitted", "w2 admitted"], "nothing may pass the block or drain early")
        journal.finish("w2", tracker)
        #expect(!journal.all.contains("drained"))
        journal.finish("w1", tracker)
        #expect(journal.all.last == "drained")
        tracker.unblock()
        #expect(journal.all.suffix(2) == ["w3 admitted", "w4 admitted"], "\(journal.all)")
        #expect(!journal.all.contains("flush after w3"), "the flush completed before w3")
        journal.finish("w3", tracker)
        #expect(journal.all.last == "flush after w3", "w4 came after the flush and must not hold it")
        journal.finish("w4", tracker)
        let done = NIOLockedValueBox(false)
        tracker.whenFlushed { done.withLockedValue { $0 = true } }
        #expect(done.withLockedValue { $0 }, "nothing in flight: a flush completes at once")
    }

    @Test func aBlockWithNothingInFlightDrainsAtOnceAndNestedBlocksHoldUntilTheLast() {
        let tracker = WriteTracker()
        let journal = Journal()
        tracker.block { journal.log("first drained") }
        tracker.block { journal.log("second drained") }
        #expect(journal.all == ["first drained", "second drained"])
        journal.write("w1", tracker)
        tracker.unblock()
        #expect(!journal.all.contains("w1 admitted"), "admitted while a block was still in force")
        tracker.unblock()
        #expect(journal.all.last == "w1 admitted")
    }

    @Test func flushWaitsForEarlierWritesOnly() {
        var state = WriteTracker.State()
        let first = state.start()
        let second = state.start()
        let flushed = NIOLockedValueBox(false)
        #expect(state.flush { flushed.withLockedValue { $0 = true } })
        let third = state.start()
        #expect(state.finish(second).isEmpty)
        #expect(state.finish(third).isEmpty, "a later write does not release the flush")
        let released = state.finish(first)
        #expect(released.count == 1)
        for resume in released { resume() }
        #expect(flushed.withLockedValue { $0 })
        #expect(!state.flush {}, "nothing in flight: the flush completes at once")
    }
}
