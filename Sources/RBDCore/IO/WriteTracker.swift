import NIOConcurrencyHelpers

/// Which writes are in flight, so that `flush` can wait for exactly the writes issued
/// before it, as librbd's flush does when no cache holds dirty data
/// (ceph/ceph `src/librbd/io/FlushTracker.cc`).
///
/// Each write takes a ticket when it starts and returns it when it completes; a flush
/// waits until no ticket older than the next one to be issued at flush time is
/// outstanding. Later writes never hold a flush back. The state is a value type behind
/// one lock (two uncontended lock rounds per write); the bookkeeping is a few integers
/// and a small set of at most the writes in flight.
final class WriteTracker: Sendable {
    struct State {
        var nextTicket: UInt64 = 0
        var outstanding: Set<UInt64> = []
        /// Flushes waiting: each for every ticket below its boundary.
        var waiters: [(boundary: UInt64, resume: @Sendable () -> Void)] = []

        mutating func start() -> UInt64 {
            defer { nextTicket += 1 }
            outstanding.insert(nextTicket)
            return nextTicket
        }

        /// Ends a write; returns the flushes it releases.
        mutating func finish(_ ticket: UInt64) -> [@Sendable () -> Void] {
            outstanding.remove(ticket)
            guard !waiters.isEmpty else { return [] }
            let oldest = outstanding.min() ?? nextTicket
            var released: [@Sendable () -> Void] = []
            waiters.removeAll { waiter in
                guard waiter.boundary <= oldest else { return false }
                released.append(waiter.resume)
                return true
            }
            return released
        }

        /// Registers a flush; false when nothing it waits for is in flight.
        mutating func flush(_ resume: @escaping @Sendable () -> Void) -> Bool {
            let boundary = nextTicket
            guard let oldest = outstanding.min(), oldest < boundary else { return false }
            waiters.append((boundary, resume))
            return true
        }
    }

    private let state = NIOLockedValueBox(State())

    func start() -> UInt64 { state.withLockedValue { $0.start() } }

    func finish(_ ticket: UInt64) {
        for resume in state.withLockedValue({ $0.finish(ticket) }) { resume() }
    }

    /// Calls `done` once every write started before this call has completed (at once
    /// when none is in flight).
    func whenFlushed(_ done: @escaping @Sendable () -> Void) {
        if !state.withLockedValue({ $0.flush(done) }) { done() }
    }

    func flushed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            whenFlushed { continuation.resume() }
        }
    }
}
