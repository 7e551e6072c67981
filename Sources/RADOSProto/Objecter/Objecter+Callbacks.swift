import NIOCore

/// Requests from any thread, answered by a callback on the client's loop: the entry
/// point of callers outside Swift concurrency (the librbd/librados C ABI's `aio`
/// functions, called from QEMU's or fio's own threads) and of the image I/O path.
///
/// A call enqueues the request onto the loop (or submits it at once when already on
/// it); nothing waits on Swift's cooperative pool, no task or continuation is made. The
/// completion runs on the loop thread, as librados runs its callbacks on its finisher:
/// it must return quickly and never block.
extension Objecter {
    /// Runs `ops` on one object, atomically; `completion` receives each op's output, or
    /// the error that ended the request (the first failing op's errno, as librados
    /// reports it: ``outputs(_:)``), on the loop.
    package nonisolated func execute(
        pool: Int64, namespace: String, object: ObjectName, ops: SmallArray<OSDOp>,
        snapID: UInt64, snapContext: SnapContext,
        completion: @escaping @Sendable (Result<SmallArray<ByteBuffer>, RADOSError>) -> Void
    ) {
        // On the loop already (a completion issuing the next request): submitted at
        // once, with no closure made for it.
        let request = CallbackRequest(pool: pool, namespace: namespace, object: object, ops: ops, snapID: snapID, snapContext: snapContext, completion: completion)
        if eventLoop.inEventLoop {
            submitOnLoop(request)
        } else {
            eventLoop.execute { [self] in submitOnLoop(request) }
        }
    }

    /// A callback request's arguments, handed to the loop in one value.
    struct CallbackRequest: Sendable {
        var pool: Int64
        var namespace: String
        var object: ObjectName
        var ops: SmallArray<OSDOp>
        var snapID: UInt64
        var snapContext: SnapContext
        var completion: @Sendable (Result<SmallArray<ByteBuffer>, RADOSError>) -> Void
    }

    /// A finished request as librados reports it: the outputs, or the first failing
    /// op's errno (the reply's result first) as the error, naming the object.
    static func outputs(_ done: Result<Reply, any Error>) -> Result<SmallArray<ByteBuffer>, RADOSError> {
        switch done {
        case .failure(let error):
            return .failure(error as? RADOSError ?? RADOSError(.connectionFailed, "the request failed", details: "\(error)"))
        case .success(let done):
            let failure = done.reply.result < 0 ? done.reply.result : done.reply.firstFailingReturnValue
            guard failure >= 0 else { return .failure(IOContext.error(errno: -failure, object: done.reply.objectName)) }
            return .success(done.outputs)
        }
    }

    /// Submits `request`; on the loop only.
    ///
    /// This is `assumeIsolated` for the per-I/O paths without its cost: the standard one
    /// turns its non-escaping closure into an escaping one (`withoutActuallyEscaping`),
    /// which allocates twice per call, four times per I/O here (the submission and the
    /// reply). Like it, this traps off the loop and calls the isolated function as a
    /// function of the actor that is not isolated to it, as the standard library does
    /// (the two have the same representation); the function is a constant of concrete
    /// type that captures nothing, so a call allocates nothing.
    nonisolated func submitOnLoop(_ request: CallbackRequest) {
        eventLoop.preconditionInEventLoop()
        Self.submitIsolated(self, request)
    }

    private typealias SubmitFunction = @Sendable (Objecter, CallbackRequest) -> Void
    private static let submitIsolated: SubmitFunction = unsafeBitCast(
        { (objecter: isolated Objecter, request: CallbackRequest) in
            objecter.submit(
                pool: request.pool, namespace: request.namespace, object: request.object, ops: request.ops,
                snapID: request.snapID, snapContext: request.snapContext, completion: request.completion)
        } as @Sendable (isolated Objecter, CallbackRequest) -> Void,
        to: SubmitFunction.self)

    /// Flushes the sessions written to in this turn of the loop; on the loop only, like
    /// ``submitOnLoop(_:)``.
    nonisolated func flushOnLoop() {
        eventLoop.preconditionInEventLoop()
        Self.flushIsolated(self)
    }

    private typealias FlushFunction = @Sendable (Objecter) -> Void
    private static let flushIsolated: FlushFunction = unsafeBitCast(
        { (objecter: isolated Objecter) in objecter.flushWritten() } as @Sendable (isolated Objecter) -> Void,
        to: FlushFunction.self)

    /// What an OSD session delivered, and from which OSD.
    struct SessionDelivery: Sendable {
        var event: MessengerEvent
        var osd: Int32
        var session: MessengerSession
    }

    /// Handles an OSD session's event; on the loop only, like ``submitOnLoop(_:)``.
    nonisolated func deliverOnLoop(_ delivery: SessionDelivery) {
        eventLoop.preconditionInEventLoop()
        Self.deliverIsolated(self, delivery)
    }

    private typealias DeliverFunction = @Sendable (Objecter, SessionDelivery) -> Void
    private static let deliverIsolated: DeliverFunction = unsafeBitCast(
        { (objecter: isolated Objecter, delivery: SessionDelivery) in
            switch delivery.event {
            case .message(let message): objecter.received(from: delivery.osd, message)
            case .closed: objecter.closed(delivery.osd, delivery.session)
            case .authenticated, .ready, .keepaliveAck, .peerReset: break
            }
        } as @Sendable (isolated Objecter, SessionDelivery) -> Void,
        to: DeliverFunction.self)
}
