import NIOConcurrencyHelpers
import NIOCore
import RADOSProto

/// How an image schedules its object writes: `rbd_io_scheduler` and
/// `rbd_io_scheduler_simple_max_delay` (Pacific: `simple`, 0 ms).
public enum IOScheduler: Sendable, Hashable {
    /// Every request goes out as it comes (`rbd_io_scheduler = none`).
    case none
    /// librbd's simple scheduler: writes to an object with a write in flight wait and
    /// merge (WriteSchedulerStateMachine.swift); `maxDelay` 0 adapts the wait to the
    /// latency seen.
    case simple(maxDelayMilliseconds: UInt64)
}

extension RADOSConfiguration {
    /// The I/O scheduler the configuration asks for (`rbd_io_scheduler`,
    /// `rbd_io_scheduler_simple_max_delay`).
    ///
    /// - Throws: ``RADOSError`` `.invalidConfiguration` for a scheduler other than `none`
    ///   or `simple`.
    public func ioScheduler() throws(RADOSError) -> IOScheduler {
        switch try string("rbd_io_scheduler") ?? "simple" {
        case "none": return .none
        case "simple": return .simple(maxDelayMilliseconds: UInt64(max(0, try int("rbd_io_scheduler_simple_max_delay") ?? 0)))
        case let other: throw RADOSError(.invalidConfiguration, "rbd_io_scheduler must be none or simple, not '\(other)'")
        }
    }
}

/// The driver of an image's simple I/O scheduler: the state machine on the client's
/// event loop, below the cache and above the object requests, as librbd's scheduler
/// layer sits. Object writes, discards and reads of the image pass through it so that
/// waiting writes leave before anything that must follow them, in order.
final class ImageWriteScheduler: Sendable {
    struct Request: Sendable {
        var view: Image.IOView
        var answer: Answer
    }

    /// Who a write's outcome goes to.
    enum Answer: Sendable {
        /// An aio write on the hot path: when it is sent alone, its own object carries
        /// the send's completion, so the scheduler makes no closure for it.
        case single(Image.SingleObjectWrite)
        case closure(@Sendable (Result<Void, RADOSError>) -> Void)

        func callAsFunction(_ outcome: Result<Void, RADOSError>) {
            switch self {
            case .single(let write): write.written(outcome)
            case .closure(let completion): completion(outcome)
            }
        }
    }

    typealias Machine = WriteSchedulerStateMachine<Request>

    /// The machine and the array its actions are collected in (kept, so that an event
    /// costs no array of its own).
    private struct State {
        var machine: Machine
        var actions: [Machine.Action] = []
    }

    let loop: any EventLoop
    private let state: NIOLoopBoundBox<State>
    private let wake: NIOLoopBoundBox<Scheduled<Void>?>

    static func make(_ scheduler: IOScheduler, loop: any EventLoop) -> ImageWriteScheduler? {
        guard case .simple(let delay) = scheduler else { return nil }
        return ImageWriteScheduler(maxDelayMilliseconds: delay, loop: loop)
    }

    private init(maxDelayMilliseconds: UInt64, loop: any EventLoop) {
        self.loop = loop
        state = NIOLoopBoundBox.makeBoxSendingValue(State(machine: Machine(maxDelayNanoseconds: maxDelayMilliseconds &* 1_000_000)), eventLoop: loop)
        wake = NIOLoopBoundBox.makeEmptyBox(valueType: Scheduled<Void>.self, eventLoop: loop)
    }

    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { body() } else { loop.execute(body) }
    }

    /// A write of one object extent (after the cache, if any). On the loop (a completion
    /// issuing the next write) it is handled at once, with no closure made for it.
    func write(_ image: Image, view: Image.IOView, object: UInt64, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        write(image, view: view, object: object, offset: offset, data: data, answer: .closure(completion))
    }

    /// ``write(_:view:object:offset:data:completion:)`` for an aio write on the hot path,
    /// answered through its own object.
    func write(_ image: Image, view: Image.IOView, offset: UInt64, data: ByteBuffer, single write: Image.SingleObjectWrite) {
        self.write(image, view: view, object: write.objectNumber, offset: offset, data: data, answer: .single(write))
    }

    private func write(_ image: Image, view: Image.IOView, object: UInt64, offset: UInt64, data: ByteBuffer, answer: Answer) {
        guard loop.inEventLoop else {
            loop.execute { [self] in
                writeOnLoop(image, view: view, object: object, offset: offset, data: data, answer: answer)
            }
            return
        }
        writeOnLoop(image, view: view, object: object, offset: offset, data: data, answer: answer)
    }

    private func writeOnLoop(_ image: Image, view: Image.IOView, object: UInt64, offset: UInt64, data: ByteBuffer, answer: Answer) {
        var actions = takeActions()
        state.value.machine.write(
            object: object, offset: offset, data: data, snapSeq: view.snapContext.seq,
            request: Request(view: view, answer: answer), now: ImageCache.now, into: &actions)
        run(&actions, image)
    }

    /// A send of the machine's has completed (from any thread): the writes waiting
    /// behind it, if any, go.
    func sendCompleted(_ token: UInt64, object: UInt64, _ image: Image) {
        if loop.inEventLoop {
            completedOnLoop(token, object: object, image)
        } else {
            loop.execute { [self] in completedOnLoop(token, object: object, image) }
        }
    }

    /// A read of one object extent: waiting writes it overlaps are sent first.
    func read(_ image: Image, object: UInt64, offset: UInt64, length: UInt64, send: @escaping @Sendable () -> Void) {
        onLoop { [self] in
            readOnLoop(image, object: object, offset: offset, length: length)
            send()
        }
    }

    /// ``read(_:object:offset:length:send:)`` on the loop, before the caller sends the read.
    func readOnLoop(_ image: Image, object: UInt64, offset: UInt64, length: UInt64) {
        var actions = state.value.machine.read(object: object, offset: offset, length: length)
        if !actions.isEmpty { run(&actions, image) }
    }

    /// A discard of one object: the writes waiting go first, later ones wait behind it.
    func discard(_ image: Image, object: UInt64, send: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        onLoop { [self] in
            let (token, other) = state.value.machine.other(object: object)
            var actions = other
            run(&actions, image)
            send { [self] in onLoop { [self] in completedOnLoop(token, object: object, image) } }
        }
    }

    /// A flush: every waiting write is sent (their completions answer them).
    func flush(_ image: Image, then: @escaping @Sendable () -> Void) {
        onLoop { [self] in
            var actions = state.value.machine.flush()
            run(&actions, image)
            then()
        }
    }

    /// The kept actions array, taken out while in use: an event handled while it is out
    /// (a completion that runs at once) uses an array of its own.
    private func takeActions() -> [Machine.Action] {
        let actions = state.value.actions
        state.value.actions = []
        return actions
    }

    private func completedOnLoop(_ token: UInt64, object: UInt64, _ image: Image) {
        var actions = takeActions()
        state.value.machine.completed(token, object: object, now: ImageCache.now, into: &actions)
        run(&actions, image)
    }

    /// Performs `actions`, then keeps the emptied array for the next event.
    private func run(_ actions: inout [Machine.Action], _ image: Image) {
        for action in actions {
            switch action {
            case .send(let token, let object, let offset, let data, let requests):
                guard let first = requests.first else { continue }
                if requests.count == 1, case .single(let write) = first.answer {
                    // A hot-path write sent alone: its object carries the send (a closure
                    // capturing one object allocates nothing).
                    write.sendToken.store(token, ordering: .relaxed)
                    image.sendObjectWrite(first.view, object, offset: offset, data: data, outputs: { write.sentAlone($0) })
                    continue
                }
                // A closure per send otherwise: the object write hands the OSD's outputs
                // on as they are (nothing wraps this completion on the way down).
                image.sendObjectWrite(first.view, object, offset: offset, data: data, outputs: { [self] outputs in
                    let outcome = outputs.map { _ in () }
                    for request in requests { request.answer(outcome) }
                    sendCompleted(token, object: object, image)
                })
            case .wake(let at):
                wake.value?.cancel()
                wake.value = loop.scheduleTask(deadline: NIODeadline.uptimeNanoseconds(at)) { [weak self, weak image] in
                    guard let self, let image else { return }
                    var actions = state.value.machine.tick(now: ImageCache.now)
                    run(&actions, image)
                }
            }
        }
        actions.removeAll(keepingCapacity: true)
        state.value.actions = actions
    }
}
