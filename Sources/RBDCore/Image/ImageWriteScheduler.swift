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
        var completion: @Sendable (Result<Void, RADOSError>) -> Void
    }

    typealias Machine = WriteSchedulerStateMachine<Request>

    let loop: any EventLoop
    private let machine: NIOLoopBoundBox<Machine>
    private let wake: NIOLoopBoundBox<Scheduled<Void>?>

    static func make(_ scheduler: IOScheduler, loop: any EventLoop) -> ImageWriteScheduler? {
        guard case .simple(let delay) = scheduler else { return nil }
        return ImageWriteScheduler(maxDelayMilliseconds: delay, loop: loop)
    }

    private init(maxDelayMilliseconds: UInt64, loop: any EventLoop) {
        self.loop = loop
        machine = NIOLoopBoundBox.makeBoxSendingValue(Machine(maxDelayNanoseconds: maxDelayMilliseconds &* 1_000_000), eventLoop: loop)
        wake = NIOLoopBoundBox.makeEmptyBox(valueType: Scheduled<Void>.self, eventLoop: loop)
    }

    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { body() } else { loop.execute(body) }
    }

    /// A write of one object extent (after the cache, if any).
    func write(_ image: Image, view: Image.IOView, object: UInt64, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        onLoop { [self] in
            let request = Request(view: view, completion: completion)
            run(machine.value.write(object: object, offset: offset, data: data, snapSeq: view.snapContext.seq, request: request, now: ImageCache.now), image)
        }
    }

    /// A read of one object extent: waiting writes it overlaps are sent first.
    func read(_ image: Image, object: UInt64, offset: UInt64, length: UInt64, send: @escaping @Sendable () -> Void) {
        onLoop { [self] in
            run(machine.value.read(object: object, offset: offset, length: length), image)
            send()
        }
    }

    /// A discard of one object: the writes waiting go first, later ones wait behind it.
    func discard(_ image: Image, object: UInt64, send: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        onLoop { [self] in
            let (token, actions) = machine.value.other(object: object)
            run(actions, image)
            send { [self] in onLoop { [self] in run(machine.value.completed(token, object: object, now: ImageCache.now), image) } }
        }
    }

    /// A flush: every waiting write is sent (their completions answer them).
    func flush(_ image: Image, then: @escaping @Sendable () -> Void) {
        onLoop { [self] in
            run(machine.value.flush(), image)
            then()
        }
    }

    private func run(_ actions: [Machine.Action], _ image: Image) {
        for action in actions {
            switch action {
            case .send(let token, let object, let offset, let data, let requests):
                guard let first = requests.first else { continue }
                image.sendObjectWrite(first.view, object, offset: offset, data: data) { [self] outcome in
                    for request in requests { request.completion(outcome) }
                    onLoop { [self] in run(machine.value.completed(token, object: object, now: ImageCache.now), image) }
                }
            case .wake(let at):
                wake.value?.cancel()
                wake.value = loop.scheduleTask(deadline: NIODeadline.uptimeNanoseconds(at)) { [weak self, weak image] in
                    guard let self, let image else { return }
                    run(machine.value.tick(now: ImageCache.now), image)
                }
            }
        }
    }
}
