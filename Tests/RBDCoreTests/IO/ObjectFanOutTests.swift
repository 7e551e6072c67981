import NIOConcurrencyHelpers
import RADOSProto
import Testing
@testable import RBDCore

/// The fan-in of an image request over several objects, driven by hand: it completes
/// exactly once, only after the last object answered, with the values in object order
/// (whatever order the answers came in) or the first error.
@Suite struct ObjectFanOutTests {
    final class Outcomes: Sendable {
        let seen = NIOLockedValueBox<[Result<[Int], RADOSError>]>([])
        func record(_ outcome: Result<[Int], RADOSError>) { seen.withLockedValue { $0.append(outcome) } }
        var all: [Result<[Int], RADOSError>] { seen.withLockedValue { $0 } }
    }

    @Test func completesOnceWithTheValuesInObjectOrder() throws {
        let outcomes = Outcomes()
        let fanOut = ObjectFanOut<Int>(count: 3) { outcomes.record($0) }
        fanOut.finish(2, .success(30))
        fanOut.finish(0, .success(10))
        #expect(outcomes.all.isEmpty, "completed before the last object answered")
        fanOut.finish(1, .success(20))
        #expect(outcomes.all.count == 1)
        #expect(try outcomes.all.first?.get() == [10, 20, 30])
    }

    @Test func theFirstErrorWinsAndWaitsForTheRest() {
        let outcomes = Outcomes()
        let fanOut = ObjectFanOut<Int>(count: 3) { outcomes.record($0) }
        fanOut.finish(1, .failure(RADOSError(.timedOut, "object 1 timed out")))
        fanOut.finish(0, .failure(RADOSError(.notFound, "object 0 is gone")))
        #expect(outcomes.all.isEmpty, "an error completed the request while an object was still in flight")
        fanOut.finish(2, .success(3))
        guard case .failure(let error)? = outcomes.all.first, outcomes.all.count == 1 else {
            Issue.record("expected one failure, got \(outcomes.all)")
            return
        }
        #expect(error.code == .timedOut && error.message == "object 1 timed out")
    }

    @Test func noObjectsCompletesAtOnce() throws {
        let outcomes = Outcomes()
        _ = ObjectFanOut<Int>(count: 0) { outcomes.record($0) }
        #expect(outcomes.all.count == 1)
        #expect(try outcomes.all.first?.get() == [])
    }
}
