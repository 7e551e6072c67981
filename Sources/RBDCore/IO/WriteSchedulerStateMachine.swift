import NIOCore
import RADOSProto

/// librbd's "simple" I/O scheduler (`rbd_io_scheduler = simple`, Pacific's default), as a
/// pure state machine: while a write to an object is in flight, later writes to that
/// object wait, adjacent ones merging into one, and go out together when it completes,
/// when a read or another request touches them, at a flush, or when their delay runs out.
/// It exists because sequential small writes (a guest's log, a sequential fio job, a
/// write-around cache acknowledging at once) then cost the OSDs a few large writes
/// instead of many small ones (ceph/ceph `src/librbd/io/SimpleSchedulerObjectDispatch.cc`).
///
/// Rules, as librbd's: nothing waits until ten write latencies have been seen (with
/// `rbd_io_scheduler_simple_max_delay = 0`); a write joins the waiting ones only with the
/// same snap context sequence, non-empty data, and no overlap with them (else they go
/// first and it is sent, becoming the object's write in flight); the delay is half the sum
/// of the last ten latencies (librbd's rolling "average" is that sum), or the configured
/// maximum delay. Sending waiting writes forgets the object's write in flight.
///
/// `Request` is whatever the driver needs to answer a write; a merged send carries all of
/// them, in order, and each is answered with that send's outcome.
struct WriteSchedulerStateMachine<Request> {
    enum Action {
        /// Send `data` at `offset` of `object` as one write for `requests`; report its end
        /// with ``completed(_:object:now:)``.
        case send(token: UInt64, object: UInt64, offset: UInt64, data: ByteBuffer, requests: SmallArray<Request>)
        /// Call ``tick(now:)`` at this time (replaces any earlier wake-up asked for).
        case wake(at: UInt64)
    }

    struct Batch {
        var offset: UInt64
        var length: UInt64
        /// Inline for up to four merged writes: a write that waits allocates nothing here.
        var pieces: SmallArray<ByteBuffer>
        var requests: SmallArray<Request>
        var end: UInt64 { offset + length }
    }

    struct ObjectQueue {
        /// The object's request in flight that waiting writes follow.
        var token: UInt64
        var snapSeq: UInt64 = 0
        /// Waiting writes, sorted by offset, never overlapping or adjacent.
        var batches: [Batch] = []
        var dispatchAt: UInt64?
    }

    /// `rbd_io_scheduler_simple_max_delay` in nanoseconds; 0 adapts to the latency.
    let maxDelay: UInt64
    private(set) var queues: [UInt64: ObjectQueue] = [:]
    private var latencies: [UInt64] = []
    private var nextLatency = 0
    /// When each write in flight was sent: every completed write's latency counts,
    /// whether or not the object still follows it.
    private var sentAt: [UInt64: UInt64] = [:]
    private var now: UInt64 = 0
    private var nextToken: UInt64 = 1
    private var scheduledWake: UInt64?

    static var latencyWindow: Int { 10 }

    init(maxDelayNanoseconds: UInt64) {
        maxDelay = maxDelayNanoseconds
    }

    /// Whether writes may wait: the latency window is full (or a fixed delay is set).
    var delays: Bool { maxDelay > 0 || latencies.count == Self.latencyWindow }

    // MARK: events

    /// A write of `data` at `offset` of `object`, carrying snap context `snapSeq`.
    mutating func write(object: UInt64, offset: UInt64, data: ByteBuffer, snapSeq: UInt64, request: Request, now: UInt64) -> [Action] {
        var actions: [Action] = []
        write(object: object, offset: offset, data: data, snapSeq: snapSeq, request: request, now: now, into: &actions)
        return actions
    }

    /// ``write(object:offset:data:snapSeq:request:now:)`` appending its actions to
    /// `actions`, an array the driver keeps (a write then costs no array of its own).
    mutating func write(object: UInt64, offset: UInt64, data: ByteBuffer, snapSeq: UInt64, request: Request, now: UInt64, into actions: inout [Action]) {
        self.now = now
        let length = UInt64(data.readableBytes)
        // Taken out of the dictionary while changed, so its batches are not copied.
        if delays, length > 0, var queue = queues.removeValue(forKey: object) {
            guard queue.batches.isEmpty || (queue.snapSeq == snapSeq && !queue.batches.contains { $0.offset < offset + length && offset < $0.end }) else {
                queues[object] = queue
                return sendNow(object: object, offset: offset, data: data, request: request, now: now, into: &actions)
            }
            if queue.batches.isEmpty {
                queue.snapSeq = snapSeq
                let at = now &+ (maxDelay > 0 ? maxDelay : latencies.reduce(0, +) / 2)
                queue.dispatchAt = at
                if scheduledWake.map({ at < $0 }) ?? true {
                    scheduledWake = at
                    actions.append(.wake(at: at))
                }
            }
            Self.merge(&queue.batches, Batch(offset: offset, length: length, pieces: SmallArray(single: data), requests: SmallArray(single: request)))
            queues[object] = queue
            return
        }
        sendNow(object: object, offset: offset, data: data, request: request, now: now, into: &actions)
    }

    /// Sends a write that does not wait: after the object's waiting writes, and as the
    /// object's write in flight.
    private mutating func sendNow(object: UInt64, offset: UInt64, data: ByteBuffer, request: Request, now: UInt64, into actions: inout [Action]) {
        dispatch(object, into: &actions)
        let token = takeToken()
        queues[object] = ObjectQueue(token: token)
        sentAt[token] = now
        actions.append(.send(token: token, object: object, offset: offset, data: data, requests: SmallArray(single: request)))
    }

    /// Before a read of `object` is sent: waiting writes it overlaps go first.
    mutating func read(object: UInt64, offset: UInt64, length: UInt64) -> [Action] {
        guard let queue = queues[object], queue.batches.contains(where: { $0.offset < offset + length && offset < $0.end }) else { return [] }
        return dispatch(object)
    }

    /// Before another request to `object` (a discard) is sent: the waiting writes go
    /// first, and later writes wait behind it. Returns its token for ``completed(_:object:now:)``.
    mutating func other(object: UInt64) -> (token: UInt64, actions: [Action]) {
        let actions = dispatch(object)
        let token = takeToken()
        queues[object] = ObjectQueue(token: token)
        return (token, actions)
    }

    /// A flush: every waiting write goes now.
    mutating func flush() -> [Action] {
        queues.keys.sorted().flatMap { dispatch($0) }
    }

    /// A request ``write(object:offset:data:snapSeq:request:now:)`` or ``other(object:)``
    /// sent has completed: if it is still the object's write in flight, the writes
    /// waiting behind it go.
    mutating func completed(_ token: UInt64, object: UInt64, now: UInt64) -> [Action] {
        var actions: [Action] = []
        completed(token, object: object, now: now, into: &actions)
        return actions
    }

    /// ``completed(_:object:now:)`` appending its actions to `actions`.
    mutating func completed(_ token: UInt64, object: UInt64, now: UInt64, into actions: inout [Action]) {
        self.now = now
        if let sent = sentAt.removeValue(forKey: token), maxDelay == 0 {
            let latency = now >= sent ? now - sent : 0
            if latencies.count < Self.latencyWindow {
                latencies.append(latency)
            } else {
                latencies[nextLatency] = latency
                nextLatency = (nextLatency + 1) % Self.latencyWindow
            }
        }
        guard let queue = queues[object], queue.token == token else { return }
        dispatch(object, into: &actions)
    }

    /// The wake-up asked for: writes whose delay ran out go.
    mutating func tick(now: UInt64) -> [Action] {
        self.now = now
        scheduledWake = nil
        let due = queues.filter { ($0.value.dispatchAt ?? .max) <= now }.keys.sorted()
        var actions = due.flatMap { dispatch($0) }
        if let next = queues.values.compactMap(\.dispatchAt).min() {
            scheduledWake = next
            actions.append(.wake(at: next))
        }
        return actions
    }

    // MARK: helpers

    private mutating func takeToken() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    /// Sends the object's waiting writes (one send per batch) and forgets the object.
    private mutating func dispatch(_ object: UInt64) -> [Action] {
        var actions: [Action] = []
        dispatch(object, into: &actions)
        return actions
    }

    private mutating func dispatch(_ object: UInt64, into actions: inout [Action]) {
        guard let queue = queues.removeValue(forKey: object) else { return }
        for batch in queue.batches {
            var data: ByteBuffer
            if batch.pieces.count == 1, let only = batch.pieces.first {
                data = only
            } else {
                data = ByteBuffer()
                data.reserveCapacity(Int(batch.length))
                for piece in batch.pieces { data.writeImmutableBuffer(piece) }
            }
            let token = takeToken()
            sentAt[token] = now
            actions.append(.send(token: token, object: object, offset: batch.offset, data: data, requests: batch.requests))
        }
    }

    /// Adds `new` to sorted, non-overlapping `batches`, joining it with a batch ending
    /// where it starts and one starting where it ends.
    static func merge(_ batches: inout [Batch], _ new: Batch) {
        var merged = new
        if let after = batches.firstIndex(where: { $0.offset == merged.end }) {
            let next = batches.remove(at: after)
            merged.length += next.length
            for piece in next.pieces { merged.pieces.append(piece) }
            for request in next.requests { merged.requests.append(request) }
        }
        if let before = batches.firstIndex(where: { $0.end == merged.offset }) {
            batches[before].length += merged.length
            for piece in merged.pieces { batches[before].pieces.append(piece) }
            for request in merged.requests { batches[before].requests.append(request) }
            return
        }
        let index = batches.firstIndex { $0.offset > merged.offset } ?? batches.count
        batches.insert(merged, at: index)
    }
}

