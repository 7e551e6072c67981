import NIOConcurrencyHelpers
import NIOCore
import RADOSProto
import Synchronization

/// The outcome of an asynchronous image I/O for callers outside Swift concurrency (the
/// coming librbd C ABI: `rbd_aio_*`, `rbd_aio_get_return_value`,
/// `rbd_aio_wait_for_complete`), like librbd's `AioCompletion`
/// (ceph/ceph `src/librbd/io/AioCompletion.h`).
///
/// It completes once, with a return value in librbd's convention (bytes transferred,
/// 0 for a flush, or a negative errno) and, for reads, the bytes read. The callback, if
/// any, runs on the thread that completed the I/O, as librbd runs it on its finisher.
public final class IOCompletion: Sendable {
    struct State {
        var returnValue: Int?
        var data: ByteBuffer?
        var error: RADOSError?
        /// Made by the first ``IOCompletion/wait()`` that finds the I/O unfinished: most
        /// completions are only called back, and a condition costs three allocations.
        var waiter: ConditionLock<Bool>?
    }

    /// Kept in the object itself (a `NIOLockedValueBox` would be one more allocation
    /// per I/O).
    private let result = Mutex(State())
    private let callback: (@Sendable (IOCompletion) -> Void)?

    /// A completion that calls `callback` (if given) when the I/O finishes.
    public init(_ callback: (@Sendable (IOCompletion) -> Void)? = nil) {
        self.callback = callback
    }

    /// Whether the I/O has finished.
    public var isComplete: Bool { result.withLock { $0.returnValue != nil } }

    /// Bytes transferred (or 0), or a negative errno; nil until complete.
    public var returnValue: Int? { result.withLock { $0.returnValue } }

    /// The bytes a read returned (nil for other I/O or on failure).
    public var data: ByteBuffer? { result.withLock { $0.data } }

    /// The error the I/O failed with, if it did.
    public var error: RADOSError? { result.withLock { $0.error } }

    /// Blocks the calling thread until the I/O has finished and returns `returnValue`.
    /// Never call it from an event loop or a Swift concurrency thread.
    @discardableResult
    public func wait() -> Int {
        let waiter = result.withLock { state -> ConditionLock<Bool>? in
            guard state.returnValue == nil else { return nil }
            if let waiter = state.waiter { return waiter }
            let waiter = ConditionLock(value: false)
            state.waiter = waiter
            return waiter
        }
        if let waiter {
            waiter.lock(whenValue: true)
            waiter.unlock()
        }
        return returnValue ?? 0
    }

    func complete(_ outcome: Result<(Int, ByteBuffer?), RADOSError>) {
        let waiter = result.withLock { state -> ConditionLock<Bool>? in
            switch outcome {
            case .success(let (value, data)):
                state.returnValue = value
                state.data = data
            case .failure(let error):
                state.returnValue = -Int(error.errno)
                state.error = error
            }
            return state.waiter
        }
        if let waiter {
            waiter.lock()
            waiter.unlock(withValue: true)
        }
        callback?(self)
    }
}

extension Image {
    /// Starts a read; `completion` receives the bytes (clipped like ``read(offset:length:)``).
    ///
    /// Callable from any thread, with no Swift concurrency in between: the request goes
    /// straight onto the client's loop, and the completion runs there (a task only when
    /// another client changed the header and it must be reread first).
    public func aioRead(offset: UInt64, length: UInt64, completion: IOCompletion) {
        if let crypto = encryptionSlot.withLockedValue({ $0 }) {
            return encryptedRead(crypto, offset: offset, length: length) { [self] result in
                completeOnLoop(completion, result.map { ($0.readableBytes, $0) })
            }
        }
        if startSingleObjectRead(offset: offset, length: length, completion: completion) { return }
        let view = ioView()
        guard !view.needsAttention else {
            Self.onTask({ [self] in completeOnLoop(completion, $0.map { ($0.readableBytes, $0) }) }) { try await self.read(offset: offset, length: length) }
            return
        }
        startRead(view, offset: offset, length: length) { [self] result in
            completeOnLoop(completion, result.map { ($0.readableBytes, $0) })
        }
    }

    /// Starts a write. It is admitted before this returns (or queued behind a snapshot
    /// under way, in order), so a ``flush()`` or ``aioFlush(completion:)`` called
    /// afterwards waits for it. Callable from any thread, like
    /// ``aioRead(offset:length:completion:)``.
    public func aioWrite(offset: UInt64, data: ByteBuffer, completion: IOCompletion) {
        if let crypto = encryptionSlot.withLockedValue({ $0 }) {
            return encryptedWrite(crypto, offset: offset, data: data) { [self] result in
                completeOnLoop(completion, result.map { ($0, nil) })
            }
        }
        startAioWrite(offset: offset, data: data, completion: completion)
    }

    /// Starts a discard (see ``discard(offset:length:granularity:)``).
    public func aioDiscard(offset: UInt64, length: UInt64, granularity: UInt64 = Image.defaultDiscardGranularity, completion: IOCompletion) {
        if let crypto = encryptionSlot.withLockedValue({ $0 }) {
            return encryptedZero(crypto, offset: offset, length: length) { [self] result in
                completeOnLoop(completion, result.map { (Int($0), nil) })
            }
        }
        startDiscard(offset: offset, length: length, granularity: granularity) { [self] result in
            completeOnLoop(completion, result.map { (Int($0), nil) })
        }
    }

    /// Starts a write-zeroes (see ``writeZeroes(offset:length:)``).
    public func aioWriteZeroes(offset: UInt64, length: UInt64, completion: IOCompletion) {
        aioDiscard(offset: offset, length: length, granularity: 0, completion: completion)
    }

    /// Completes (with 0, or the first writeback error since the last flush) once every
    /// write issued before the call is on the OSDs (see ``flush()``).
    public func aioFlush(completion: IOCompletion) {
        startFlush(user: true) { [self] result in completeOnLoop(completion, result.map { (0, nil) }) }
    }

    /// Completes on the client's loop, so every completion runs in the same place: an
    /// outcome known at once (a refused request, a flush with nothing in flight) is not
    /// delivered on a caller's thread before its `aio…` call returns (only a caller
    /// already on the loop sees it at once).
    func completeOnLoop(_ completion: IOCompletion, _ outcome: Result<(Int, ByteBuffer?), RADOSError>) {
        let loop = dataIO.eventLoop
        if loop.inEventLoop {
            completion.complete(outcome)
        } else {
            loop.execute { completion.complete(outcome) }
        }
    }
}
