import Foundation
import NIOCore
import RADOSProto

/// Maintenance operations that only the exclusive-lock owner runs (snapshot create and
/// remove, resize, flatten; snapshot rename and (un)protect when asked), run through the
/// owner as librbd runs them (ceph/ceph `src/librbd/Operations.cc`,
/// `C_InvokeAsyncRequest`; `src/librbd/ImageWatcher.cc`, `handle_payload`,
/// `prepare_async_request`, `notify_async_request`).
///
/// - As owner, we run what another client asks (``answerOwnerRequest(_:later:)``): a
///   request with an id is acknowledged at once and completed with `ASYNC_COMPLETE`; one
///   without is acknowledged with its result. A repeated id is not run twice. The lock is
///   kept for the run, so a lock request meanwhile is granted when it ends.
/// - As a client that does not own the lock (``withLockOwner(_:_:)``): when a live owner
///   holds it, the owner is asked; if it does not run such requests (EOPNOTSUPP) the lock
///   is asked for and the operation runs here; if it does not answer, or is giving the
///   lock up (ERESTART), the request is sent again (with the same id). With no owner, or
///   a dead one, the lock is taken here, as before.
extension Image {
    /// Requests run for others and ours run by an owner.
    struct OwnerRequestState: Sendable {
        /// Requests of others running here, and the results of the last ones finished
        /// (``finishedLimit``), so that a request sent again is answered, not run again.
        var running: Set<ImageNotify.AsyncRequestID> = []
        var finished: [ImageNotify.AsyncRequestID: Int32] = [:]
        var finishedOrder: [ImageNotify.AsyncRequestID] = []
        /// The last request id this client used.
        var lastRequestID: UInt64 = 0
        /// Our requests an owner runs: progress messages seen, a completion that came
        /// before anyone waited for it, and the waiter.
        var ours: [ImageNotify.AsyncRequestID: OurRequest] = [:]

        struct OurRequest: Sendable {
            var progress: UInt64 = 0
            var result: Int32?
            var waiter: (@Sendable (Int32?) -> Void)?
        }
    }

    /// How many finished requests of others are remembered.
    static let finishedLimit = 64
    /// librbd's `rbd_request_timed_out_seconds`: how long a requester waits for the
    /// owner's completion with no progress message before sending the request again.
    static let ownerRequestTimeout: TimeAmount = .seconds(30)
    /// How often an owner tells the requester that a long request still runs.
    static let ownerProgressInterval: TimeAmount = .seconds(10)
    /// How many times a request is sent to owners that do not answer, before giving up.
    static let ownerRequestAttempts = 10

    // MARK: as owner

    /// Answers a request meant for the lock owner: as a non-owner when we are not it;
    /// EOPNOTSUPP for operations we do not run for others (librbd then asks for the lock
    /// and runs them itself); else runs it.
    func answerOwnerRequest(_ message: ImageNotify.Message, later: @escaping HeaderWatcher.Responder) -> HeaderWatcher.LockAnswer {
        guard state.withLockedValue({ $0.lock.isLocked }) else { return .asNonOwner }
        guard let request = try? ImageNotify.decodeOwnerRequest(message), Self.runsForOthers(request) else {
            return .reply(ImageNotify.response(-95))
        }
        if let id = request.asyncID, id.client == lockClientID() {
            return .reply(ImageNotify.response(-85))  // ERESTART: our own request.
        }
        enum Claim { case run, notOwner, answer(Int32) }
        let claim = state.withLockedValue { state -> Claim in
            guard state.lock.isLocked else { return .notOwner }
            if let id = request.asyncID {
                if state.ownerRequests.running.contains(id) { return .answer(0) }
                if let result = state.ownerRequests.finished[id] { return .answer(result) }
                state.ownerRequests.running.insert(id)
            }
            // Held for the run: a lock request meanwhile is granted when it ends.
            state.lock.operations += 1
            return .run
        }
        switch claim {
        case .notOwner: return .asNonOwner
        case .answer(let result): return .reply(ImageNotify.response(result))
        case .run: break
        }
        Task { await self.runForOther(request, later: later) }
        return request.asyncID == nil ? .deferred : .reply(ImageNotify.response(0))
    }

    /// Whether we run `request` for another client: operations on user snapshots, and
    /// the others listed in ``OwnerRequest``.
    static func runsForOthers(_ request: ImageNotify.OwnerRequest) -> Bool {
        switch request {
        case .snapCreate(_, _, let namespace, _), .snapRemove(_, _, let namespace), .snapRename(_, _, _, let namespace),
            .snapProtect(_, _, let namespace), .snapUnprotect(_, _, let namespace):
            return namespace.isUser
        case .resize, .flatten:
            return true
        }
    }

    /// Runs `request` (the lock is held for it), then completes it.
    private func runForOther(_ request: ImageNotify.OwnerRequest, later: @escaping HeaderWatcher.Responder) async {
        let progress = request.asyncID.map { startProgress($0) }
        let result = await perform(request)
        progress?.cancel()
        endLockedOperation()
        guard let id = request.asyncID else { return later(ImageNotify.response(result)) }
        state.withLockedValue { state in
            state.ownerRequests.running.remove(id)
            state.ownerRequests.finished[id] = result
            state.ownerRequests.finishedOrder.append(id)
            if state.ownerRequests.finishedOrder.count > Self.finishedLimit {
                state.ownerRequests.finished.removeValue(forKey: state.ownerRequests.finishedOrder.removeFirst())
            }
        }
        // librbd's `notify_async_complete`: sent again once if nobody answered in time.
        for _ in 0..<2 {
            guard let done = try? await metadataIO.notify(headerObject, payload: ImageNotify.asyncComplete(id, result: result), timeout: Self.lockNotifyTimeout),
                done.timedOut.isEmpty
            else { continue }
            return
        }
    }

    /// Tells the requester of `id` every ``ownerProgressInterval`` that it still runs, so
    /// it does not send it again (`RemoteProgressContext`).
    private func startProgress(_ id: ImageNotify.AsyncRequestID) -> Task<Void, Never> {
        let io = metadataIO, object = headerObject
        return Task {
            while true {
                try? await Task.sleep(nanoseconds: UInt64(Self.ownerProgressInterval.nanoseconds))
                if Task.isCancelled { return }
                _ = try? await io.notify(object, payload: ImageNotify.asyncProgress(id, offset: 0, total: 1), timeout: Self.lockNotifyTimeout)
            }
        }
    }

    /// Runs `request` as the owner: 0, or the negative errno it failed with.
    private func perform(_ request: ImageNotify.OwnerRequest) async -> Int32 {
        do throws(RADOSError) {
            switch request {
            case .snapCreate(_, let name, _, _): try await createSnapshotLocked(named: name)
            case .resize(_, let size, let allowShrink): try await resizeLocked(to: size, allowShrink: allowShrink)
            case .flatten: try await flattenLocked()
            case .snapRemove(_, let name, _): try await removeSnapshotLocked(named: name)
            case .snapRename(_, let snapID, let newName, _): try await renameSnapshot(id: snapID, to: newName)
            case .snapProtect(_, let name, _): try await protectSnapshot(named: name)
            case .snapUnprotect(_, let name, _): try await unprotectSnapshot(named: name)
            }
            return 0
        } catch {
            return -error.errno
        }
    }

    // MARK: as requester

    /// Runs a maintenance operation as librbd's `C_InvokeAsyncRequest` does: `body` here
    /// under the lock when we hold it or can take it; else `request` (given the id to
    /// send it under) by the live owner, unless it does not run such requests.
    func withLockOwner(
        _ request: (ImageNotify.AsyncRequestID) -> ImageNotify.OwnerRequest,
        _ body: () async throws(RADOSError) -> Void
    ) async throws(RADOSError) {
        guard usesExclusiveLock else { return try await body() }
        var id: ImageNotify.AsyncRequestID?
        var attempts = 0
        while !ownsExclusiveLock, let me = lockClientID(), let holder = try await lockHolder(), holder.alive, holder.client != me {
            let requestID = id ?? state.withLockedValue { state in
                state.ownerRequests.lastRequestID += 1
                return ImageNotify.AsyncRequestID(client: me, requestID: state.ownerRequests.lastRequestID)
            }
            id = requestID
            let sent = request(requestID)
            switch try await ask(holder.locker.entity, sent) {
            case .finished(let result):
                try await refresh()
                // Sent more than once, it may have been done by an earlier send (librbd's
                // filtered errors: EEXIST for a snapshot create, ENOENT for a removal).
                let doneBefore = attempts > 0 && ((sent.op == .snapCreate && result == -17) || (sent.op == .snapRemove && result == -2))
                if result < 0 && !doneBefore { throw ownerFailure(sent.op, owner: holder.locker.entity, errno: -result) }
                return
            case .unsupported:
                // The owner leaves it to us: ask for the lock and run it here.
                return try await withExclusiveLock(body)
            case .again:
                attempts += 1
                guard attempts < Self.ownerRequestAttempts else {
                    throw RADOSError(.timedOut, "image \(name): \(holder.locker.entity), which holds the exclusive lock, did not complete the \(sent.op) request in time; try again", errno: 110)
                }
                try await refresh()
            }
        }
        try await withExclusiveLock(body)
    }

    private enum OwnerAnswer { case finished(Int32), unsupported, again }

    /// Sends `request` to the owner and waits for its result.
    private func ask(_ owner: NumericEntityName, _ request: ImageNotify.OwnerRequest) async throws(RADOSError) -> OwnerAnswer {
        let id = request.asyncID
        if let id { state.withLockedValue { $0.ownerRequests.ours[id] = OwnerRequestState.OurRequest() } }
        defer { if let id { _ = state.withLockedValue { $0.ownerRequests.ours.removeValue(forKey: id) } } }
        let done = try await metadataIO.notify(headerObject, payload: ImageNotify.encode(request), timeout: Self.lockNotifyTimeout)
        // Only the owner answers with a response (`NotifyLockOwner`).
        let responses = done.acks.compactMap { ack in ack.reply.readableBytes > 0 ? (try? ImageNotify.decodeResponse(ack.reply)) ?? nil : nil }
        guard responses.count == 1, let response = responses.first else { return .again }
        switch response {
        case -95: return .unsupported
        case -85: return .again  // The owner is releasing the lock, or it is ours.
        default: break
        }
        guard let id, response == 0 else { return .finished(response) }
        guard let result = await completion(of: id) else { return .again }
        return .finished(result)
    }

    /// Waits for the owner's `ASYNC_COMPLETE` of request `id`: its result, or nil when
    /// neither it nor progress came for ``ownerRequestTimeout``, or the image was closed.
    private func completion(of id: ImageNotify.AsyncRequestID) async -> Int32? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
            let once = OnceFlag()
            let resume: @Sendable (Int32?) -> Void = { result in if once.claim() { continuation.resume(returning: result) } }
            let early = state.withLockedValue { state -> Int32?? in
                if state.isClosed { return .some(nil) }
                if let result = state.ownerRequests.ours[id]?.result { return .some(result) }
                state.ownerRequests.ours[id]?.waiter = resume
                return .none
            }
            if let early { return resume(early) }
            armRequestTimeout(id, progress: 0)
        }
    }

    /// Gives up on request `id` after ``ownerRequestTimeout`` unless progress came.
    private func armRequestTimeout(_ id: ImageNotify.AsyncRequestID, progress seen: UInt64) {
        metadataIO.eventLoop.scheduleTask(in: Self.ownerRequestTimeout) { [weak self] in
            guard let self else { return }
            enum Next { case none, rearm(UInt64), giveUp(@Sendable (Int32?) -> Void) }
            let next = state.withLockedValue { state -> Next in
                guard let request = state.ownerRequests.ours[id], let waiter = request.waiter else { return .none }
                if request.progress != seen && !state.isClosed { return .rearm(request.progress) }
                state.ownerRequests.ours[id]?.waiter = nil
                return .giveUp(waiter)
            }
            switch next {
            case .none: break
            case .rearm(let progress): armRequestTimeout(id, progress: progress)
            case .giveUp(let waiter): waiter(nil)
            }
        }
    }

    /// An owner's progress or completion message: for a request of ours, noted, and the
    /// waiter resumed on completion (`handle_payload(AsyncCompletePayload)`).
    func asyncUpdateArrived(_ update: ImageNotify.AsyncUpdate) {
        switch update {
        case .progress(let id, _, _):
            state.withLockedValue { $0.ownerRequests.ours[id]?.progress += 1 }
        case .complete(let id, let result):
            let waiter = state.withLockedValue { state -> (@Sendable (Int32?) -> Void)? in
                guard state.ownerRequests.ours[id] != nil else { return nil }
                state.ownerRequests.ours[id]?.result = result
                defer { state.ownerRequests.ours[id]?.waiter = nil }
                return state.ownerRequests.ours[id]?.waiter
            }
            waiter?(result)
        }
    }

    /// The error of a request the owner ran and that failed with `errno`.
    private func ownerFailure(_ op: ImageNotify.Op, owner: NumericEntityName, errno: Int32) -> RADOSError {
        let message = "image \(name): \(owner), which holds the exclusive lock, ran the \(op) request for us and it failed: \(String(cString: strerror(errno)))"
        switch errno {
        case 2: return RADOSError(.notFound, message, errno: errno)
        case 17: return RADOSError(.alreadyExists, message, errno: errno)
        case 22: return RADOSError(.invalidArgument, message, errno: errno)
        case 30, 1, 13: return RADOSError(.permissionDenied, message, errno: errno)
        case 110: return RADOSError(.timedOut, message, errno: errno)
        default: return RADOSError(.clusterError, message, errno: errno)
        }
    }
}
