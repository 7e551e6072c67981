import NIOConcurrencyHelpers
import NIOCore
import RADOSProto
import RBDCache

/// An open image's cache: the RBDCache state machine its ``CachePolicy`` picks
/// (write-around, or the object cache for writeback and writethrough), driven on the
/// client's event loop, performing its actions with the image's uncached object I/O.
///
/// It sits where librbd's cache sits, between the image's striping and its object
/// requests (`src/librbd/cache/WriteAroundObjectDispatch.cc`,
/// `src/librbd/cache/ObjectCacherObjectDispatch.cc`): every object read, write and
/// discard of the image passes through it. Every event reaches the machine on the loop,
/// and the object requests it decides on leave from there in the order it decided
/// them, which is what keeps one object's requests in order on the OSD. A caller on
/// another thread pays one hop onto the loop; the hop replaces the one the Objecter
/// would make anyway. Write-around before the first flush (writethrough until flush)
/// has nothing to do, and requests skip it without a hop.
final class ImageCache: Sendable {
    /// A write-around request: how to send it, and how to answer its caller.
    struct AroundRequest: Sendable {
        var perform: @Sendable (@escaping @Sendable (Result<Void, RADOSError>) -> Void) -> Void
        var answer: @Sendable (Result<Void, RADOSError>) -> Void
    }

    /// Whom an object-cache action answers.
    enum Waiter: Sendable {
        case read(@Sendable (Result<Image.ObjectReadResult, RADOSError>) -> Void)
        case done(@Sendable (Result<Void, RADOSError>) -> Void)
    }

    typealias Around = WriteAroundStateMachine<AroundRequest, RADOSError>
    typealias Objects = ObjectCacheStateMachine<Waiter, RADOSError>

    let policy: CachePolicy
    let loop: any EventLoop
    /// The machine of a write-around cache (nil for the object cache), changed in place.
    private let around: NIOLoopBoundBox<Around?>
    /// The machine of the object cache (nil for write-around).
    private let objects: NIOLoopBoundBox<Objects?>
    /// Write-around with nothing to do yet: requests pass straight through.
    private let passThrough: NIOLockedValueBox<Bool>
    /// The object cache's readahead and the bytes the image has read (nil: none).
    private let readahead: NIOLockedValueBox<(state: Readahead, bytesRead: UInt64)>?
    private let wake: NIOLoopBoundBox<Scheduled<Void>?>
    /// The array a write-around write's actions are collected in, kept between writes.
    private let aroundActions: NIOLoopBoundBox<[Around.Action]>
    /// Answers being delivered on the loop, and those produced meanwhile (``answer(_:_:)``).
    private let delivery: NIOLoopBoundBox<(active: Bool, pending: [@Sendable () -> Void])>

    /// The cache `policy` asks for, or nil for none.
    static func make(_ policy: CachePolicy, layout: StripeLayout, loop: any EventLoop) -> ImageCache? {
        guard policy.enabled else { return nil }
        return ImageCache(policy, layout: layout, loop: loop)
    }

    private init(_ policy: CachePolicy, layout: StripeLayout, loop: any EventLoop) {
        self.policy = policy
        self.loop = loop
        var around: Around?
        var objects: Objects?
        switch policy.kind {
        case .writearound:
            around = Around(maxDirty: policy.maxDirtyBytes, writethroughUntilFlush: policy.writethroughUntilFlush)
        case .writeback, .writethrough:
            objects = Objects(
                sizeBytes: policy.sizeBytes, maxDirty: policy.effectiveMaxDirtyBytes, targetDirty: policy.targetDirtyBytes,
                maxDirtyAgeNanoseconds: UInt64(max(0, policy.maxDirtyAge) * 1e9), writethroughUntilFlush: policy.writethroughUntilFlush)
        }
        passThrough = NIOLockedValueBox(around?.passesThrough ?? false)
        // Readahead needs the object cache (librbd: "readahead requires the object
        // cacher cache"); it snaps to object sets, stripes and stripe units.
        if objects != nil, policy.readaheadMaxBytes > 0 {
            let alignments = [layout.objectSize * layout.stripeCount, layout.stripeUnit * layout.stripeCount, layout.stripeUnit]
            readahead = NIOLockedValueBox((Readahead(triggerRequests: policy.readaheadTriggerRequests, maxBytes: policy.readaheadMaxBytes, alignments: alignments), 0))
        } else {
            readahead = nil
        }
        self.around = NIOLoopBoundBox.makeBoxSendingValue(around, eventLoop: loop)
        self.objects = NIOLoopBoundBox.makeBoxSendingValue(objects, eventLoop: loop)
        self.wake = NIOLoopBoundBox.makeEmptyBox(valueType: Scheduled<Void>.self, eventLoop: loop)
        self.delivery = NIOLoopBoundBox.makeBoxSendingValue((false, []), eventLoop: loop)
        self.aroundActions = NIOLoopBoundBox.makeBoxSendingValue([], eventLoop: loop)
    }

    static var now: UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// Runs `body` on the loop: at once when already there.
    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { body() } else { loop.execute(body) }
    }

    /// Runs a request's event on the loop. `body` learns whether it runs inside the
    /// caller's call (the caller is on the loop): then the answers it produces are
    /// delivered from a later loop turn, never inside the request's own call, so a caller
    /// that issues its next request from a completion cannot recurse without bound (a
    /// cache acknowledges writes at once), as librbd completes through its finisher.
    private func submit(_ body: @escaping @Sendable (_ inCallersCall: Bool) -> Void) {
        if loop.inEventLoop { body(true) } else { loop.execute { body(false) } }
    }

    /// Delivers an answer produced inside the caller's call (`later`) after that call
    /// returns: while answers are being delivered, it joins them and runs once the one
    /// delivering returns (so a caller that issues its next request from a completion
    /// goes on within this loop turn, iteratively, as librbd's bench thread keeps issuing
    /// while its completions run elsewhere); otherwise on the next loop turn.
    private func answer(_ later: Bool, _ body: @escaping @Sendable () -> Void) {
        guard later else { return deliver(body) }
        if delivery.value.active {
            delivery.value.pending.append(body)
        } else {
            loop.execute { [self] in deliver(body) }
        }
    }

    /// Runs `body`, then every answer it (and those after it) produced, in order.
    private func deliver(_ body: @escaping @Sendable () -> Void) {
        guard !delivery.value.active else {
            delivery.value.pending.append(body)
            return
        }
        delivery.value.active = true
        body()
        var index = 0
        while index < delivery.value.pending.count {
            let next = delivery.value.pending[index]
            index += 1
            next()
        }
        delivery.value.pending.removeAll(keepingCapacity: true)
        delivery.value.active = false
    }

    // MARK: requests from the image

    /// A read of one object extent.
    func read(_ image: Image, prefix: String, object: UInt64, offset: UInt64, length: UInt64, completion: @escaping @Sendable (Result<Image.ObjectReadResult, RADOSError>) -> Void) {
        if passThrough.withLockedValue({ $0 }) {
            return image.readObjectFromOSD(prefix, object, offset: offset, length: length, completion: completion)
        }
        submit { [self] later in
            if policy.kind == .writearound {
                let request = AroundRequest(perform: { _ in image.readObjectFromOSD(prefix, object, offset: offset, length: length, completion: completion) }, answer: { _ in })
                run(around.value?.read(object: object, offset: offset, length: length, waiter: request) ?? [], image, later: later)
            } else {
                run(objects.value?.read(object: object, offset: offset, length: length, waiter: .read(completion)) ?? [], image, prefix: prefix, later: later)
            }
        }
    }

    /// Whether a read of this object extent may go straight to the OSDs, on the loop:
    /// the cache passes everything through, or it is write-around and the read overlaps
    /// no write in flight (the machine would send it at once). The object cache serves
    /// reads itself: never.
    func readsDirectlyOnLoop(object: UInt64, offset: UInt64, length: UInt64) -> Bool {
        if passThrough.withLockedValue({ $0 }) { return true }
        guard policy.kind == .writearound else { return false }
        return around.value?.readsNow(object: object, offset: offset, length: length) ?? true
    }

    /// Before a read of the image (clipped, under `view`): reads ahead into the cache
    /// when the reads so far are sequential, until `rbd_readahead_disable_after_bytes`.
    func readAhead(_ image: Image, view: Image.IOView, offset: UInt64, length: UInt64) {
        guard let readahead else { return }
        let disableAfter = policy.readaheadDisableAfterBytes
        let range: Range<UInt64>? = readahead.withLockedValue { state in
            state.bytesRead += length
            if disableAfter > 0, state.bytesRead > disableAfter { return nil }
            return state.state.update(offset: offset, length: length, limit: view.size)
        }
        guard let range else { return }
        for extent in Striper.objectExtents(view.layout, offset: range.lowerBound, length: range.upperBound - range.lowerBound) {
            read(image, prefix: view.prefix, object: extent.objectNumber, offset: extent.offset, length: extent.length) { _ in }
        }
    }

    /// A write of one object extent; `completion` runs when the cache acknowledges it.
    func write(_ image: Image, view: Image.IOView, object: UInt64, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        if passThrough.withLockedValue({ $0 }) {
            return image.writeObjectToOSD(view, object, offset: offset, data: data, completion: completion)
        }
        // As `submit` does, without a closure for a caller already on the loop.
        guard loop.inEventLoop else {
            loop.execute { [self] in writeOnLoop(image, view: view, object: object, offset: offset, data: data, completion: completion, later: false) }
            return
        }
        writeOnLoop(image, view: view, object: object, offset: offset, data: data, completion: completion, later: true)
    }

    private func writeOnLoop(_ image: Image, view: Image.IOView, object: UInt64, offset: UInt64, data: ByteBuffer, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void, later: Bool) {
        if policy.kind == .writearound {
            let request = AroundRequest(perform: { image.writeObjectToOSD(view, object, offset: offset, data: data, completion: $0) }, answer: completion)
            // The kept array, taken out while in use (a nested event uses its own).
            var actions = aroundActions.value
            aroundActions.value = []
            around.value?.write(object: object, offset: offset, length: UInt64(data.readableBytes), waiter: request, into: &actions)
            run(actions, image, later: later)
            actions.removeAll(keepingCapacity: true)
            aroundActions.value = actions
        } else {
            run(objects.value?.write(object: object, offset: offset, data: data, waiter: .done(completion), now: Self.now) ?? [], image, prefix: view.prefix, later: later)
        }
    }

    /// One object's part of a discard.
    func discard(_ image: Image, view: Image.IOView, _ operation: ImageIOPlan.ObjectDiscard, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        if passThrough.withLockedValue({ $0 }) {
            return image.discardObjectOnOSD(view, operation, completion: completion)
        }
        let objectSize = view.layout.objectSize
        let range: Range<UInt64>?
        switch operation.action {
        case .remove: range = nil
        case .truncate(let offset): range = offset..<max(offset, objectSize)
        case .zero(let offset, let length): range = offset..<offset + length
        }
        submit { [self] later in
            if policy.kind == .writearound {
                let extent = range ?? 0..<objectSize
                let request = AroundRequest(perform: { image.discardObjectOnOSD(view, operation, completion: $0) }, answer: completion)
                run(around.value?.write(object: operation.objectNumber, offset: extent.lowerBound, length: extent.upperBound - extent.lowerBound, waiter: request) ?? [], image, later: later)
            } else {
                // The cached bytes go first; the discard is sent after every earlier
                // request to the object, so the OSD applies it in order.
                run(objects.value?.discard(object: operation.objectNumber, range: range, now: Self.now) ?? [], image, prefix: view.prefix, later: later)
                image.discardObjectOnOSD(view, operation, completion: completion)
            }
        }
    }

    /// Writes back everything acknowledged so far; `completion` gets the first writeback
    /// error since the last flush. A `user` flush (the application's) ends
    /// writethrough-until-flush.
    func flush(_ image: Image, user: Bool, completion: @escaping @Sendable (Result<Void, RADOSError>) -> Void) {
        submit { [self] later in
            if policy.kind == .writearound {
                let request = AroundRequest(perform: { _ in }, answer: completion)
                let actions = around.value?.flush(user: user, waiter: request) ?? []
                let passes = around.value?.passesThrough ?? false
                passThrough.withLockedValue { $0 = passes }
                run(actions, image, later: later)
            } else {
                run(objects.value?.flush(user: user, waiter: .done(completion), now: Self.now) ?? [], image, prefix: image.blockNamePrefix, later: later)
            }
            // The flush goes on down: what the writebacks left waiting in the scheduler
            // goes now (librbd's flush passes through every layer).
            image.scheduler?.flush(image) {}
        }
    }

    func flush(_ image: Image, user: Bool) async throws(RADOSError) {
        try await Image.awaiting { flush(image, user: user, completion: $0) }
    }

    /// Drops the clean data (`rbd_invalidate_cache`); refuses while dirty data remains.
    func invalidate() async throws(RADOSError) {
        let dropped: Bool = try await Image.awaiting { completion in
            onLoop { [self] in
                completion(.success(objects.value?.invalidate() ?? true))
            }
        }
        guard dropped else {
            throw RADOSError(.clusterError, "the image cache holds data not yet written back: flush it first", errno: 16)
        }
    }

    // MARK: actions

    private func run(_ actions: [Around.Action], _ image: Image, later: Bool = false) {
        for action in actions {
            switch action {
            case .passThrough(let request):
                request.perform(request.answer)
            case .send(let token, let request):
                request.perform { [self] result in
                    let error: RADOSError? = if case .failure(let error) = result { error } else { nil }
                    if loop.inEventLoop {
                        run(around.value?.completed(token, error: error) ?? [], image)
                    } else {
                        loop.execute { [self] in run(around.value?.completed(token, error: error) ?? [], image) }
                    }
                }
            case .acknowledge(let request):
                answer(later) { request.answer(.success(())) }
            case .read(let request):
                request.perform { _ in }
            case .flushed(let request, let error):
                answer(later) { request.answer(error.map { .failure($0) } ?? .success(())) }
            }
        }
    }

    private func run(_ actions: [Objects.Action], _ image: Image, prefix: String, later: Bool = false) {
        for action in actions {
            switch action {
            case .read(let token, let object, let offset, let length):
                image.readObjectFromOSD(prefix, object, offset: offset, length: length) { [self] outcome in
                    let bytes = outcome.map { $0.bytes(offset: offset, length: length) }
                    onLoop { [self] in event(image, prefix: prefix) { $0.readCompleted(token, bytes, now: Self.now) } }
                }
            case .write(let token, let object, let offset, let data):
                // Written back with the image's current snap context and object map.
                image.writeObjectToOSD(image.ioView(), object, offset: offset, data: data) { [self] outcome in
                    let error: RADOSError? = if case .failure(let error) = outcome { error } else { nil }
                    onLoop { [self] in event(image, prefix: prefix) { $0.writeCompleted(token, error: error, now: Self.now) } }
                }
            case .readDone(.read(let completion), let outcome):
                answer(later) { completion(outcome.map { .dense($0) }) }
            case .readDone(.done(let completion), let outcome):
                answer(later) { completion(outcome.map { _ in () }) }
            case .writeDone(let waiter, let error), .flushed(let waiter, let error):
                if case .done(let completion) = waiter { answer(later) { completion(error.map { .failure($0) } ?? .success(())) } }
            case .wake(let at):
                wake.value?.cancel()
                wake.value = loop.scheduleTask(deadline: NIODeadline.uptimeNanoseconds(at)) { [weak self, weak image] in
                    guard let self, let image else { return }
                    event(image, prefix: prefix) { $0.tick(now: Self.now) }
                }
            }
        }
    }

    /// Feeds the object cache one event (on the loop) and runs what it answers.
    private func event(_ image: Image, prefix: String, _ body: (inout Objects) -> [Objects.Action]) {
        let actions: [Objects.Action] = objects.withValue { (machine: inout Objects?) -> [Objects.Action] in
            guard var current = machine else { return [] }
            machine = nil
            defer { machine = current }
            return body(&current)
        }
        run(actions, image, prefix: prefix)
    }
}
