import NIOConcurrencyHelpers
import RADOSProto

/// One image request spread over several objects: collects each object's answer and
/// completes once, when the last has answered, with every value in object order or the
/// first error (librbd's `AioCompletion` counting its object requests down,
/// ceph/ceph `src/librbd/io/AioCompletion.cc`).
///
/// The answers arrive on the client's event loop, one at a time; the lock is there for
/// correctness, never contended. It makes no task: the image I/O path fans out and in
/// on the loop.
final class ObjectFanOut<Value: Sendable>: Sendable {
    private struct State {
        var values: [Value?]
        var remaining: Int
        var failure: RADOSError?
    }

    private let state: NIOLockedValueBox<State>
    private let done: @Sendable (Result<[Value], RADOSError>) -> Void

    /// A fan-out over `count` objects; `done` runs once (at once when `count` is 0).
    init(count: Int, done: @escaping @Sendable (Result<[Value], RADOSError>) -> Void) {
        self.state = NIOLockedValueBox(State(values: Array(repeating: nil, count: count), remaining: count))
        self.done = done
        if count == 0 { done(.success([])) }
    }

    /// Object `index` answered.
    func finish(_ index: Int, _ result: Result<Value, RADOSError>) {
        let outcome: Result<[Value], RADOSError>? = state.withLockedValue { state in
            switch result {
            case .success(let value): state.values[index] = value
            case .failure(let error): if state.failure == nil { state.failure = error }
            }
            state.remaining -= 1
            guard state.remaining == 0 else { return nil }
            if let failure = state.failure { return .failure(failure) }
            return .success(state.values.compactMap { $0 })
        }
        if let outcome { done(outcome) }
    }
}
