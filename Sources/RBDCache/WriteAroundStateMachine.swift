/// librbd's default cache (`rbd_cache_policy = writearound`), as a pure state machine:
/// writes and discards are acknowledged as soon as they are sent, while at most
/// `maxDirty` bytes of them are in flight; nothing is kept, so reads always go to the
/// OSDs. It exists so that QEMU's `cache=writeback` costs a guest no write latency
/// without any risk of serving stale data.
///
/// Ordering is kept per object (ceph/ceph `src/librbd/cache/WriteAroundObjectDispatch.cc`
/// in Pacific): a write or discard overlapping one in flight waits until that one has
/// completed; a read overlapping one in flight waits too, so it sees the acknowledged
/// data; a flush completes once every write issued before it has completed, and reports
/// the error one of them met (every flush waiting for a failed write reports it; with
/// none waiting, the next flush does: errors are never dropped). With `writethroughUntilFlush` the cache passes everything through untouched
/// until the first user flush.
///
/// Events in (``write(object:offset:length:waiter:)``, ``read(object:offset:length:waiter:)``,
/// ``flush(user:waiter:)``, ``completed(_:error:)``), actions out; `Waiter` is whatever
/// the driver needs to perform and answer a request, handed back in the actions.
package struct WriteAroundStateMachine<Waiter, Failure: Error> {
    package enum Action {
        /// Perform the request without the cache and answer it when it completes.
        case passThrough(Waiter)
        /// Send the request to the OSDs now; report its end with ``completed(_:error:)``.
        case send(token: UInt64, Waiter)
        /// Answer the write's caller: it is acknowledged (still in flight).
        case acknowledge(Waiter)
        /// Send the read now (nothing it overlaps is in flight any more).
        case read(Waiter)
        /// Answer the flush.
        case flushed(Waiter, Failure?)
    }

    private struct Pending {
        var token: UInt64
        var object: UInt64
        var offset: UInt64
        var length: UInt64
        var waiter: Waiter
    }

    /// What writes were configured to allow in flight.
    package let configuredMaxDirty: UInt64
    /// What they allow now (0 until the first user flush with writethrough-until-flush).
    package private(set) var maxDirty: UInt64
    private var userFlushed = false
    private var lastToken: UInt64 = 0
    /// No outstanding token is below it (see ``oldestOutstanding()``).
    private var oldestCandidate: UInt64 = 1
    /// Bytes sent and acknowledged but not completed.
    package private(set) var inFlightBytes: UInt64 = 0
    /// Tokens of requests admitted and not completed (blocked, queued or in flight).
    private var outstanding: Set<UInt64> = []
    /// Every admitted request's extent, by object (blocked ones are not here yet), sorted
    /// by offset: admitted extents never overlap (an overlapping request is blocked), so
    /// one binary search finds an overlap.
    private var extents: [UInt64: [(token: UInt64, offset: UInt64, length: UInt64)]] = [:]
    /// Requests sent, by token, for their extent.
    private var inFlight: [UInt64: (object: UInt64, offset: UInt64, length: UInt64)] = [:]
    /// Writes overlapping one in flight, by object, in arrival order.
    private var blocked: [UInt64: [Pending]] = [:]
    /// Writes admitted but over the in-flight limit, in arrival order.
    private var queued: [Pending] = []
    /// Reads overlapping a write in flight.
    private var blockedReads: [UInt64: [Pending]] = [:]
    /// Flushes waiting for every request with a lower token, and the first error one of
    /// those met.
    private var flushes: [(token: UInt64, waiter: Waiter, error: Failure?)] = []
    private var pendingError: Failure?

    package init(maxDirty: Int, writethroughUntilFlush: Bool) {
        configuredMaxDirty = UInt64(max(0, maxDirty))
        self.maxDirty = writethroughUntilFlush ? 0 : configuredMaxDirty
    }

    /// Whether requests pass through untouched (writethrough in force): the driver may
    /// skip the machine for reads and writes until the next flush.
    package var passesThrough: Bool { maxDirty == 0 && outstanding.isEmpty }

    // MARK: events

    /// A write (or discard, or write-zeroes) of `length` bytes at `offset` of `object`.
    package mutating func write(object: UInt64, offset: UInt64, length: UInt64, waiter: Waiter) -> [Action] {
        var actions: [Action] = []
        write(object: object, offset: offset, length: length, waiter: waiter, into: &actions)
        return actions
    }

    /// ``write(object:offset:length:waiter:)`` appending its actions to `actions`, an
    /// array the driver keeps (a write then costs no array of its own).
    package mutating func write(object: UInt64, offset: UInt64, length: UInt64, waiter: Waiter, into actions: inout [Action]) {
        if maxDirty == 0 { return actions.append(.passThrough(waiter)) }
        lastToken += 1
        let request = Pending(token: lastToken, object: object, offset: offset, length: length, waiter: waiter)
        outstanding.insert(request.token)
        if overlapsAdmitted(object, offset, length)
            || (blocked[object]?.contains { Self.overlap(($0.offset, $0.length), (offset, length)) } ?? false) {
            blocked[object, default: []].append(request)
            return
        }
        addExtent(object, request.token, offset, length)
        if queued.isEmpty, dispatch(request, into: &actions) { return }
        queued.append(request)
    }

    /// Whether a read of this extent would be sent at once (it overlaps no write in
    /// flight): ``read(object:offset:length:waiter:)`` would change nothing and answer
    /// `.read`, so the driver may send it without handing the machine a waiter.
    package func readsNow(object: UInt64, offset: UInt64, length: UInt64) -> Bool {
        !overlapsAdmitted(object, offset, length)
    }

    /// A read: sent at once unless it overlaps a write in flight.
    package mutating func read(object: UInt64, offset: UInt64, length: UInt64, waiter: Waiter) -> [Action] {
        guard overlapsAdmitted(object, offset, length) else { return [.read(waiter)] }
        blockedReads[object, default: []].append(Pending(token: 0, object: object, offset: offset, length: length, waiter: waiter))
        return []
    }

    /// A flush. A user flush (from the application, not an internal drain) ends
    /// writethrough-until-flush.
    package mutating func flush(user: Bool, waiter: Waiter) -> [Action] {
        if user && !userFlushed {
            userFlushed = true
            if maxDirty == 0 { maxDirty = configuredMaxDirty }
        }
        guard !outstanding.isEmpty else {
            defer { pendingError = nil }
            return [.flushed(waiter, pendingError)]
        }
        lastToken += 1
        flushes.append((lastToken, waiter, pendingError))
        pendingError = nil
        return []
    }

    /// A request ``Action/send(token:_:)`` sent has completed (`error` if it failed).
    package mutating func completed(_ token: UInt64, error: Failure?) -> [Action] {
        guard let done = inFlight.removeValue(forKey: token) else { return [] }
        outstanding.remove(token)
        inFlightBytes -= done.length
        if let error {
            // Every flush waiting for this request reports the error; with none waiting,
            // the next flush does.
            var reported = false
            for index in flushes.indices where flushes[index].token > token {
                if flushes[index].error == nil { flushes[index].error = error }
                reported = true
            }
            if !reported, pendingError == nil { pendingError = error }
        }
        var actions: [Action] = []
        removeExtent(done.object, token, done.offset)
        // Reads no longer overlapping anything admitted go now.
        if var reads = blockedReads.removeValue(forKey: done.object) {
            reads.removeAll { read in
                guard !overlapsAdmitted(done.object, read.offset, read.length) else { return false }
                actions.append(.read(read.waiter))
                return true
            }
            blockedReads[done.object] = reads.isEmpty ? nil : reads
        }
        // Writes blocked on this object, in order, while they overlap nothing.
        if var waiting = blocked.removeValue(forKey: done.object) {
            while let next = waiting.first, !overlapsAdmitted(done.object, next.offset, next.length),
                  !(blockedReads[done.object]?.contains { Self.overlap(($0.offset, $0.length), (next.offset, next.length)) } ?? false) {
                waiting.removeFirst()
                addExtent(done.object, next.token, next.offset, next.length)
                queued.append(next)
            }
            blocked[done.object] = waiting.isEmpty ? nil : waiting
        }
        // Queued writes, in order, while the in-flight limit allows.
        while let next = queued.first, dispatch(next, into: &actions) {
            queued.removeFirst()
        }
        // Flushes with nothing older outstanding.
        guard !flushes.isEmpty else { return actions }
        let oldest = oldestOutstanding()
        flushes.removeAll { flush in
            guard flush.token < oldest else { return false }
            actions.append(.flushed(flush.waiter, flush.error))
            return true
        }
        return actions
    }

    // MARK: helpers

    /// The lowest token still outstanding (UInt64.max when none): tokens only grow, so
    /// the search resumes where it last stopped (amortized constant time, where
    /// `Set.min()` would scan thousands of writes in flight on every completion).
    private mutating func oldestOutstanding() -> UInt64 {
        guard !outstanding.isEmpty else { return .max }
        while oldestCandidate <= lastToken, !outstanding.contains(oldestCandidate) { oldestCandidate += 1 }
        return oldestCandidate
    }

    /// Sends `request` when the in-flight limit allows (always when nothing is in flight);
    /// false when it must wait.
    private mutating func dispatch(_ request: Pending, into actions: inout [Action]) -> Bool {
        guard inFlightBytes == 0 || inFlightBytes + request.length <= maxDirty else { return false }
        inFlightBytes += request.length
        inFlight[request.token] = (request.object, request.offset, request.length)
        actions.append(.send(token: request.token, request.waiter))
        actions.append(.acknowledge(request.waiter))
        return true
    }

    private func overlapsAdmitted(_ object: UInt64, _ offset: UInt64, _ length: UInt64) -> Bool {
        guard length > 0, let list = extents[object] else { return false }
        let index = Self.firstEndingAfter(list, offset)
        return index < list.count && list[index].offset < offset &+ length
    }

    /// The index of the first extent ending after `offset` (the list is sorted and disjoint).
    private static func firstEndingAfter(_ list: [(token: UInt64, offset: UInt64, length: UInt64)], _ offset: UInt64) -> Int {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid].offset &+ list[mid].length <= offset { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private mutating func addExtent(_ object: UInt64, _ token: UInt64, _ offset: UInt64, _ length: UInt64) {
        guard length > 0 else { return }
        var list = extents.removeValue(forKey: object) ?? []
        list.insert((token, offset, length), at: Self.firstEndingAfter(list, offset))
        extents[object] = list
    }

    private mutating func removeExtent(_ object: UInt64, _ token: UInt64, _ offset: UInt64) {
        guard var list = extents.removeValue(forKey: object) else { return }
        var index = Self.firstEndingAfter(list, offset)
        while index < list.count, list[index].offset <= offset {
            if list[index].token == token {
                list.remove(at: index)
                break
            }
            index += 1
        }
        extents[object] = list.isEmpty ? nil : list
    }

    static func overlap(_ a: (UInt64, UInt64), _ b: (UInt64, UInt64)) -> Bool {
        a.0 < b.0 &+ b.1 && b.0 < a.0 &+ a.1
    }
}
