import CCephABI
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RADOSProto
import RBDCore
import Synchronization

/// What an `rbd_completion_t` points at, like librbd's `AioCompletion`
/// (ceph/ceph `src/librbd/io/AioCompletion.cc`).
///
/// One completion serves one `rbd_aio_*` call. When the I/O ends, on the client's event
/// loop thread: read data is copied into the caller's buffers, the return value is set
/// (bytes for reads, 0 for writes, discards and flushes, or a negative errno) and the
/// completion counts as complete (`rbd_aio_is_complete` is 1 from here on, also inside
/// the callback, as in librbd and librados: fio's rados engine asserts it there), then
/// the callback runs with the completion and its argument, then the waiters of
/// `rbd_aio_wait_for_complete` are woken and, when the image has an event fd
/// (`rbd_set_image_notification`), it is queued for `rbd_poll_io_events` and the fd is
/// signalled.
///
/// The callback may call `rbd_aio_get_return_value` and `rbd_aio_release` and start more
/// I/O; it must not make synchronous calls (see ``Bridge``), which return -EDEADLK there.
/// The handle holds one reference, released by `rbd_aio_release`; an I/O in flight holds
/// another, so releasing early is safe.
///
/// librados' completions (`rados_completion_t`) are the same object: their callbacks
/// have the same C type; a "safe" callback, deprecated, runs right after the complete one.
final class CompletionHandle: @unchecked Sendable {
    let callback: rbd_callback_t?
    let safeCallback: rbd_callback_t?
    let argument: UnsafeMutableRawPointer?
    private struct State {
        var value = 0
        var completed = false
        /// The callback has returned (what `wait` waits for).
        var finished = false
        /// Made by the first `wait` before the end (most callers poll or are called
        /// back, and a condition costs three allocations).
        var waiter: ConditionLock<Bool>?
        /// Set when a read or write starts on this completion (one I/O per completion):
        /// where its bytes go and whom to announce it to, kept here so that the I/O's
        /// completion captures only this object (no closure context per I/O).
        var targets: ReadTargets?
        var events: ImageEvents?
    }

    /// In the object itself: a `NIOLock` would be one more allocation per I/O.
    private let state = Mutex(State())

    init(callback: rbd_callback_t?, safeCallback: rbd_callback_t? = nil, argument: UnsafeMutableRawPointer?) {
        self.callback = callback
        self.safeCallback = safeCallback
        self.argument = argument
    }

    var returnValue: Int { state.withLock { $0.value } }
    /// The result is there (the callback may still be running).
    var isComplete: Bool { state.withLock { $0.completed } }

    /// Blocks until complete and the callback has returned.
    func wait() {
        let condition = state.withLock { state -> ConditionLock<Bool>? in
            guard !state.finished else { return nil }
            if let waiter = state.waiter { return waiter }
            let made = ConditionLock(value: false)
            state.waiter = made
            return made
        }
        guard let condition else { return }
        condition.lock(whenValue: true)
        condition.unlock()
    }

    func finish(_ returnValue: Int, events: ImageEvents? = nil) {
        state.withLock {
            $0.value = returnValue
            $0.completed = true
        }
        withExtendedLifetime(self) {
            callback?(Unmanaged.passUnretained(self).toOpaque(), argument)
            safeCallback?(Unmanaged.passUnretained(self).toOpaque(), argument)
            let condition = state.withLock { state -> ConditionLock<Bool>? in
                state.finished = true
                return state.waiter
            }
            if let condition {
                condition.lock()
                condition.unlock(withValue: true)
            }
            events?.announce(self)
        }
    }

    /// The completion of a read (`targets` given: the bytes are copied there and their
    /// count is the return value) or a write (0) of our I/O layer that reports to this
    /// one. It captures only this object: nothing is allocated for it but itself.
    func ioCompletion(events: ImageEvents, reading targets: ReadTargets?) -> IOCompletion {
        state.withLock {
            $0.targets = targets
            $0.events = events
        }
        return IOCompletion { [self] io in ioFinished(io) }
    }

    private func ioFinished(_ io: IOCompletion) {
        let (targets, events) = state.withLock { ($0.targets, $0.events) }
        let value = io.returnValue.map { $0 < 0 ? $0 : (targets?.scatter(io.data) ?? 0) } ?? -Int(EIO)
        finish(value, events: events)
    }

    /// The completion of our I/O layer that reports to this one: `transform` turns the
    /// finished I/O into the return value (it copies read data out).
    func ioCompletion(events: ImageEvents, _ transform: @escaping @Sendable (IOCompletion) -> Int) -> IOCompletion {
        IOCompletion { io in
            let value = io.returnValue.map { $0 < 0 ? $0 : transform(io) } ?? -Int(EIO)
            self.finish(value, events: events)
        }
    }
}

/// `rbd_set_image_notification` and `rbd_poll_io_events`: completed I/O queued for
/// polling, announced on an eventfd or pipe, like librbd's `ImageCtx::event_socket`
/// and `completed_reqs`. The queue keeps each completion alive until it is polled; the
/// caller releases it after polling (as fio does), not before.
final class ImageEvents: Sendable {
    enum Kind: Int32 {
        case pipe = 1
        case eventfd = 2
    }

    private struct State: Sendable {
        var fd: Int32 = -1
        var kind: Kind = .eventfd
        var queue: [CompletionHandle] = []
    }

    private let state = NIOLockedValueBox(State())

    func setNotification(fd: Int32, kind: Kind) {
        state.withLockedValue {
            $0.fd = fd
            $0.kind = kind
        }
    }

    func announce(_ completion: CompletionHandle) {
        let target = state.withLockedValue { state -> (Int32, Kind)? in
            guard state.fd >= 0 else { return nil }
            state.queue.append(completion)
            return (state.fd, state.kind)
        }
        guard let (fd, kind) = target else { return }
        switch kind {
        case .eventfd:
            var one: UInt64 = 1
            _ = withUnsafeBytes(of: &one) { write(fd, $0.baseAddress, 8) }
        case .pipe:
            var byte: UInt8 = 0x69
            _ = write(fd, &byte, 1)
        }
    }

    /// Moves up to `capacity` completed completions out of the queue, oldest first.
    func poll(into out: UnsafeMutablePointer<rbd_completion_t?>, capacity: Int) -> Int {
        let taken = state.withLockedValue { state -> [CompletionHandle] in
            let count = min(capacity, state.queue.count)
            defer { state.queue.removeFirst(count) }
            return Array(state.queue.prefix(count))
        }
        for (index, completion) in taken.enumerated() {
            out[index] = Unmanaged.passUnretained(completion).toOpaque()
        }
        return taken.count
    }
}

/// The caller's buffers of a read, filled from the bytes read: one buffer
/// (`rbd_aio_read`, kept without an array) or an iovec's pieces.
struct ReadTargets: @unchecked Sendable {
    typealias Piece = (base: UnsafeMutableRawPointer?, length: Int)
    private let single: Piece?
    private let pieces: [Piece]

    init(pieces: [Piece]) {
        single = nil
        self.pieces = pieces
    }

    init(base: UnsafeMutableRawPointer?, length: Int) {
        single = (base, length)
        pieces = []
    }

    /// Copies `data` into the buffers in order; returns the bytes copied.
    func scatter(_ data: ByteBuffer?) -> Int {
        guard let data else { return 0 }
        return data.withUnsafeReadableBytes { source -> Int in
            guard let from = source.baseAddress else { return 0 }
            var copied = 0
            func fill(_ piece: Piece) {
                let count = min(piece.length, source.count - copied)
                if count > 0, let base = piece.base {
                    base.copyMemory(from: from + copied, byteCount: count)
                }
                copied += max(count, 0)
            }
            if let single {
                fill(single)
            } else {
                for piece in pieces where copied < source.count { fill(piece) }
            }
            return copied
        }
    }
}

/// An iovec array as (base, length) pairs and their total, or nil when it is empty,
/// negative or overflows (librbd's `get_iovec_length`: -EINVAL).
private func vectors(_ iov: UnsafePointer<iovec>?, _ count: Int32) -> (pieces: [(base: UnsafeMutableRawPointer?, length: Int)], total: Int)? {
    guard let iov, count > 0 else { return nil }
    var pieces: [(base: UnsafeMutableRawPointer?, length: Int)] = []
    pieces.reserveCapacity(Int(count))
    var total = 0
    for index in 0..<Int(count) {
        let length = iov[index].iov_len
        guard length <= Int.max - total else { return nil }
        total += length
        pieces.append((iov[index].iov_base, length))
    }
    return (pieces, total)
}

/// One buffer holding the caller's pieces back to back: the one copy a write makes (the
/// I/O layer takes a `ByteBuffer`, which cannot wrap the caller's memory without copying).
private func gather(_ pieces: [(base: UnsafeMutableRawPointer?, length: Int)], total: Int) -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(capacity: total)
    for piece in pieces where piece.length > 0 {
        buffer.writeBytes(UnsafeRawBufferPointer(start: piece.base, count: piece.length))
    }
    return buffer
}

// MARK: - completions

/// `rbd_aio_create_completion`: a completion that calls `callback(completion, argument)`.
@_cdecl("rbd_aio_create_completion")
public func rbd_aio_create_completion(_ argument: UnsafeMutableRawPointer?, _ callback: rbd_callback_t?, _ out: UnsafeMutablePointer<rbd_completion_t?>?) -> Int32 {
    guard let out else { return -EINVAL }
    out.pointee = Handle.retain(CompletionHandle(callback: callback, argument: argument))
    return 0
}

/// `rbd_aio_get_return_value`: bytes read, 0 for other I/O, or a negative errno.
@_cdecl("rbd_aio_get_return_value")
public func rbd_aio_get_return_value(_ completion: rbd_completion_t?) -> Int {
    Handle.object(completion, as: CompletionHandle.self)?.returnValue ?? -Int(EINVAL)
}

/// `rbd_aio_get_arg`: the argument given at creation.
@_cdecl("rbd_aio_get_arg")
public func rbd_aio_get_arg(_ completion: rbd_completion_t?) -> UnsafeMutableRawPointer? {
    Handle.object(completion, as: CompletionHandle.self)?.argument
}

/// `rbd_aio_is_complete`: 1 once the I/O has finished (its result is there), else 0.
@_cdecl("rbd_aio_is_complete")
public func rbd_aio_is_complete(_ completion: rbd_completion_t?) -> Int32 {
    (Handle.object(completion, as: CompletionHandle.self)?.isComplete ?? false) ? 1 : 0
}

/// `rbd_aio_wait_for_complete`: blocks until the I/O and its callback have finished.
/// On the event loop (in a callback) it does not wait: 0 when the result is there
/// (waiting for a completion's own callback to end from inside it would never return;
/// librbd deadlocks there), else -EDEADLK.
@_cdecl("rbd_aio_wait_for_complete")
public func rbd_aio_wait_for_complete(_ completion: rbd_completion_t?) -> Int32 {
    guard let handle = Handle.object(completion, as: CompletionHandle.self) else { return -EINVAL }
    guard !Bridge.onEventLoop else {
        if handle.isComplete { return 0 }
        Diagnostics.once("deadlock.rbd_aio_wait_for_complete", "rbd_aio_wait_for_complete was called on SwiftRBD's event loop thread for an unfinished completion: it would deadlock there, so it returns -EDEADLK")
        return -EDEADLK
    }
    handle.wait()
    return 0
}

/// `rbd_aio_release`: drops the caller's reference (the I/O keeps its own until done).
@_cdecl("rbd_aio_release")
public func rbd_aio_release(_ completion: rbd_completion_t?) {
    guard let completion else { return }
    Handle.release(completion, as: CompletionHandle.self)
}

// MARK: - I/O

private func start(_ image: rbd_image_t?, _ completion: rbd_completion_t?, _ body: (ImageHandle, CompletionHandle) -> Int32) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let done = Handle.object(completion, as: CompletionHandle.self) else { return -EINVAL }
    return body(handle, done)
}

private func read(_ handle: ImageHandle, _ done: CompletionHandle, offset: UInt64, targets: ReadTargets, total: Int) {
    handle.image.aioRead(offset: offset, length: UInt64(total), completion: done.ioCompletion(events: handle.events, reading: targets))
}

private func write(_ handle: ImageHandle, _ done: CompletionHandle, offset: UInt64, data: ByteBuffer) {
    handle.image.aioWrite(offset: offset, data: data, completion: done.ioCompletion(events: handle.events, reading: nil))
}

/// `rbd_aio_readv`: reads into the buffers of `iov` from `offset`.
@_cdecl("rbd_aio_readv")
public func rbd_aio_readv(_ image: rbd_image_t?, _ iov: UnsafePointer<iovec>?, _ count: Int32, _ offset: UInt64, _ completion: rbd_completion_t?) -> Int32 {
    start(image, completion) { handle, done in
        guard let (pieces, total) = vectors(iov, count) else { return -EINVAL }
        read(handle, done, offset: offset, targets: ReadTargets(pieces: pieces), total: total)
        return 0
    }
}

/// `rbd_aio_writev`: writes the buffers of `iov` at `offset`.
@_cdecl("rbd_aio_writev")
public func rbd_aio_writev(_ image: rbd_image_t?, _ iov: UnsafePointer<iovec>?, _ count: Int32, _ offset: UInt64, _ completion: rbd_completion_t?) -> Int32 {
    start(image, completion) { handle, done in
        guard let (pieces, total) = vectors(iov, count) else { return -EINVAL }
        write(handle, done, offset: offset, data: gather(pieces, total: total))
        return 0
    }
}

/// `rbd_aio_read`: reads `length` bytes at `offset` into `buffer`.
@_cdecl("rbd_aio_read")
public func rbd_aio_read(_ image: rbd_image_t?, _ offset: UInt64, _ length: Int, _ buffer: UnsafeMutablePointer<CChar>?, _ completion: rbd_completion_t?) -> Int32 {
    start(image, completion) { handle, done in
        guard length >= 0, buffer != nil || length == 0 else { return -EINVAL }
        read(handle, done, offset: offset, targets: ReadTargets(base: UnsafeMutableRawPointer(buffer), length: length), total: length)
        return 0
    }
}

/// `rbd_aio_write`: writes `length` bytes of `buffer` at `offset`.
@_cdecl("rbd_aio_write")
public func rbd_aio_write(_ image: rbd_image_t?, _ offset: UInt64, _ length: Int, _ buffer: UnsafePointer<CChar>?, _ completion: rbd_completion_t?) -> Int32 {
    start(image, completion) { handle, done in
        guard length >= 0, buffer != nil || length == 0 else { return -EINVAL }
        let data = length == 0 ? ByteBuffer() : ByteBuffer(bytes: UnsafeRawBufferPointer(start: buffer, count: length))
        write(handle, done, offset: offset, data: data)
        return 0
    }
}

/// `rbd_aio_discard`: discards `length` bytes at `offset`, keeping only whole blocks of
/// `rbd_discard_granularity_bytes` (unless `rbd_skip_partial_discard` is false).
@_cdecl("rbd_aio_discard")
public func rbd_aio_discard(_ image: rbd_image_t?, _ offset: UInt64, _ length: UInt64, _ completion: rbd_completion_t?) -> Int32 {
    start(image, completion) { handle, done in
        handle.image.aioDiscard(offset: offset, length: length, granularity: handle.discardGranularity, completion: done.ioCompletion(events: handle.events) { _ in 0 })
        return 0
    }
}

/// `rbd_aio_write_zeroes`: makes `length` bytes at `offset` read as zeros: by
/// discarding (objects removed, truncated or zeroed), or with
/// `RBD_WRITE_ZEROES_FLAG_THICK_PROVISION` (1) by writing zeros, so the range stays
/// allocated. `opFlags` (fadvise hints) are ignored.
@_cdecl("rbd_aio_write_zeroes")
public func rbd_aio_write_zeroes(_ image: rbd_image_t?, _ offset: UInt64, _ length: Int, _ completion: rbd_completion_t?, _ zeroFlags: Int32, _ opFlags: Int32) -> Int32 {
    start(image, completion) { handle, done in
        guard length >= 0 else { return -EINVAL }
        guard zeroFlags & ~1 == 0 else { return -EINVAL }
        if zeroFlags & 1 == 0 {
            handle.image.aioWriteZeroes(offset: offset, length: UInt64(length), completion: done.ioCompletion(events: handle.events) { _ in 0 })
        } else {
            writeZeroBuffers(handle, done, offset: offset, length: length)
        }
        return 0
    }
}

/// Thick write-zeroes: writes of at most 4 MiB of zeros (one shared buffer), all at once.
private func writeZeroBuffers(_ handle: ImageHandle, _ done: CompletionHandle, offset: UInt64, length: Int) {
    let chunk = 4 << 20
    guard length > 0 else {
        write(handle, done, offset: offset, data: ByteBuffer())
        return
    }
    var zeros = ByteBufferAllocator().buffer(capacity: min(length, chunk))
    zeros.writeRepeatingByte(0, count: min(length, chunk))
    let pieces = (length + chunk - 1) / chunk
    let join = Join(count: pieces) { done.finish($0, events: handle.events) }
    var position = 0
    while position < length {
        let count = min(chunk, length - position)
        let piece = zeros.getSlice(at: zeros.readerIndex, length: count)!
        handle.image.aioWrite(offset: offset + UInt64(position), data: piece, completion: IOCompletion { io in
            join.arrive(io.returnValue.map { min($0, 0) } ?? -Int(EIO))
        })
        position += count
    }
}

/// Several I/Os reported as one: the first error, else 0, once all have finished.
private final class Join: Sendable {
    private let state: NIOLockedValueBox<(left: Int, result: Int)>
    private let finished: @Sendable (Int) -> Void

    init(count: Int, finished: @escaping @Sendable (Int) -> Void) {
        state = NIOLockedValueBox((count, 0))
        self.finished = finished
    }

    func arrive(_ value: Int) {
        let outcome = state.withLockedValue { state -> Int? in
            if value < 0, state.result == 0 { state.result = value }
            state.left -= 1
            return state.left == 0 ? state.result : nil
        }
        if let outcome { finished(outcome) }
    }
}

/// `rbd_aio_flush`: completes once every write issued before it has completed.
@_cdecl("rbd_aio_flush")
public func rbd_aio_flush(_ image: rbd_image_t?, _ completion: rbd_completion_t?) -> Int32 {
    start(image, completion) { handle, done in
        handle.image.aioFlush(completion: done.ioCompletion(events: handle.events) { _ in 0 })
        return 0
    }
}

// MARK: - event notification (fio's rbd engine)

/// `rbd_set_image_notification`: from now on, every completed I/O of this image is
/// queued for `rbd_poll_io_events` and announced on `fd`, an eventfd (type 2: one
/// increment per completion) or a pipe (type 1: one byte per completion).
@_cdecl("rbd_set_image_notification")
public func rbd_set_image_notification(_ image: rbd_image_t?, _ fd: Int32, _ type: Int32) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), fd >= 0, let kind = ImageEvents.Kind(rawValue: type) else { return -EINVAL }
    handle.events.setNotification(fd: fd, kind: kind)
    return 0
}

/// `rbd_poll_io_events`: up to `count` completed completions, oldest first; returns how
/// many were stored in `completions`.
@_cdecl("rbd_poll_io_events")
public func rbd_poll_io_events(_ image: rbd_image_t?, _ completions: UnsafeMutablePointer<rbd_completion_t?>?, _ count: Int32) -> Int32 {
    guard let handle = Handle.object(image, as: ImageHandle.self), let completions, count >= 0 else { return -EINVAL }
    return Int32(handle.events.poll(into: completions, capacity: Int(count)))
}
