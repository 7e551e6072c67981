import NIOConcurrencyHelpers

/// Which writes are in flight, so that `flush` can wait for exactly the writes issued
/// before it, as librbd's flush does when no cache holds dirty data
/// (ceph/ceph `src/librbd/io/FlushTracker.cc`), and so that a snapshot can hold new
/// writes back while the ones in flight drain, as librbd's `block_writes` does before
/// it takes a snapshot (`src/librbd/io/ImageDispatcher.cc`,
/// `src/librbd/operation/SnapshotCreateRequest.cc`).
///
/// Each write is admitted with a ticket and returns it when it completes; a flush
/// waits until no ticket older than the next one to be issued at flush time is
/// outstanding. Later writes never hold a flush back. While writes are blocked, new
/// ones (and flushes behind them) queue without a ticket and are admitted in arrival
/// order when the block ends, so they see whatever the blocker changed (the new snap
/// context). The state is a value type behind one lock (two uncontended lock rounds per
/// write); the bookkeeping is a few integers and a small set of at most the writes in
/// flight.
final class WriteTracker: Sendable {
    enum Queued {
        case write(@Sendable (UInt64) -> Void)
        case flush(@Sendable () -> Void)
    }

    struct State {
        var nextTicket: UInt64 = 0
        var outstanding: Set<UInt64> = []
        /// Flushes waiting: each for every ticket below its boundary.
        var waiters: [(boundary: UInt64, resume: @Sendable () -> Void)] = []
        /// Blocks in force (snapshot creations under way).
        var blocks = 0
        /// Writes and flushes that arrived while blocked, in arrival order.
        var queued: [Queued] = []
        /// Told when a write queues behind a block (the image's exclusive lock, which
        /// blocks writes while not held, then goes to get it).
        var onQueuedWrite: (@Sendable () -> Void)?

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

        /// Registers a flush of the admitted writes; false when none is in flight.
        mutating func flush(_ resume: @escaping @Sendable () -> Void) -> Bool {
            let boundary = nextTicket
            guard let oldest = outstanding.min(), oldest < boundary else { return false }
            waiters.append((boundary, resume))
            return true
        }
    }

    private let state = NIOLockedValueBox(State())

    /// Admits a write: `start` runs with its ticket at once, or (while writes are
    /// blocked) when the block ends. The write must ``finish(_:)`` the ticket.
    func admit(_ start: @escaping @Sendable (UInt64) -> Void) {
        let (ticket, hook): (UInt64?, (@Sendable () -> Void)?) = state.withLockedValue { state in
            if state.blocks > 0 {
                state.queued.append(.write(start))
                return (nil, state.onQueuedWrite)
            }
            return (state.start(), nil)
        }
        if let ticket { start(ticket) } else { hook?() }
    }

    /// Sets who is told when a write queues behind a block.
    func onQueuedWrite(_ hook: @escaping @Sendable () -> Void) {
        state.withLockedValue { $0.onQueuedWrite = hook }
    }

    /// Whether writes are waiting for a block to end.
    var hasQueuedWrites: Bool {
        state.withLockedValue { state in
            state.queued.contains { if case .write = $0 { return true } else { return false } }
        }
    }

    /// Admits a write at once and returns its ticket, or nil while writes are blocked
    /// (then ``admit(_:)`` queues it).
    func tryAdmit() -> UInt64? {
        state.withLockedValue { state in state.blocks > 0 ? nil : state.start() }
    }

    func finish(_ ticket: UInt64) {
        for resume in state.withLockedValue({ $0.finish(ticket) }) { resume() }
    }

    /// Calls `done` once every write started before this call has completed (at once
    /// when none is in flight), including writes queued behind a block.
    func whenFlushed(_ done: @escaping @Sendable () -> Void) {
        let now: Bool = state.withLockedValue { state in
            if state.blocks > 0, !state.queued.isEmpty {
                state.queued.append(.flush(done))
                return false
            }
            return !state.flush(done)
        }
        if now { done() }
    }

    func flushed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            whenFlushed { continuation.resume() }
        }
    }

    /// Holds new writes back and calls `drained` once every admitted write has completed.
    /// Each block ends with one ``unblock()``.
    func block(_ drained: @escaping @Sendable () -> Void) {
        let now: Bool = state.withLockedValue { state in
            state.blocks += 1
            return !state.flush(drained)
        }
        if now { drained() }
    }

    /// ``block(_:)``, returning once the writes in flight have drained.
    func blockAndDrain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            block { continuation.resume() }
        }
    }

    /// Ends a block; when it was the last, admits what queued meanwhile, in order.
    func unblock() {
        let released: [Queued] = state.withLockedValue { state in
            state.blocks -= 1
            guard state.blocks == 0 else { return [] }
            defer { state.queued = [] }
            return state.queued
        }
        // Admitted again as if they arrived now (a block begun meanwhile queues them again).
        for entry in released {
            switch entry {
            case .write(let start): admit(start)
            case .flush(let done): whenFlushed(done)
            }
        }
    }
}
