import Foundation
import NIOCore

/// Watches and notifies on the Objecter: linger registrations kept by
/// ``LingerStateMachine`` (registered, re-registered after a lost session or a new
/// interval, pinged, reported lost), notify completions, and the acks our watchers
/// send, all on the client's loop. Source: ceph/ceph `src/osdc/Objecter.cc`
/// (`linger_*`, `handle_watch_notify`).
extension Objecter {
    // MARK: watch and notify

    /// Starts tracking a watch on an object; the caller then sends the watch op with the
    /// returned cookie and calls ``watchRegistered(cookie:)`` (or ``removeWatch(cookie:error:)``).
    package func registerWatch(pool: Int64, namespace: String, object: String, timeout: UInt32) -> (cookie: UInt64, events: AsyncThrowingStream<WatchEvent, any Error>) {
        let cookie = lingers.addWatch(
            pool: pool, namespace: namespace, object: object, timeout: timeout,
            placement: target(pool: pool, namespace: namespace, object: object))
        let (stream, continuation) = AsyncThrowingStream<WatchEvent, any Error>.makeStream()
        watchStreams[cookie] = continuation
        return (cookie, stream)
    }

    /// Starts tracking a watch whose notifications `callbacks` answer on the loop; the
    /// caller then sends the watch op with the returned cookie, as for a stream watch.
    package func registerWatch(pool: Int64, namespace: String, object: String, timeout: UInt32, callbacks: WatchCallbacks) -> UInt64 {
        let cookie = lingers.addWatch(
            pool: pool, namespace: namespace, object: object, timeout: timeout,
            placement: target(pool: pool, namespace: namespace, object: object))
        watchCallbacks[cookie] = callbacks
        return cookie
    }

    /// The OSD accepted watch `cookie`.
    package func watchRegistered(cookie: UInt64) {
        perform(lingers.watchRegistered(cookie: cookie))
    }

    /// Stops tracking watch `cookie`; its notifications end (with `error` if given).
    package func removeWatch(cookie: UInt64, error: RADOSError? = nil) {
        lingers.removeWatch(cookie: cookie)
        watchCallbacks[cookie] = nil
        watchStreams.removeValue(forKey: cookie)?.finish(throwing: error)
    }

    /// Tests: reports watch `cookie` lost as a ping that failed in the client would,
    /// while the OSD still holds the registration.
    package func loseWatchForTesting(cookie: UInt64) {
        guard lingers.removeWatch(cookie: cookie) != nil else { return }
        let error = RADOSError(.connectionFailed, "the watch was lost (test)", errno: 107)
        watchStreams.removeValue(forKey: cookie)?.finish(throwing: error)
        watchCallbacks.removeValue(forKey: cookie)?.lost(error)
    }

    /// Starts tracking a notify; the caller then sends the notify op with the cookie
    /// and waits with ``notifyCompletion(cookie:notifyID:seconds:)``.
    package func registerNotify(pool: Int64, namespace: String, object: String, payload: ByteBuffer, timeout: UInt32) -> UInt64 {
        lingers.addNotify(
            LingerStateMachine.NotifyRequest(pool: pool, namespace: namespace, object: object, payload: payload, timeout: timeout),
            placement: target(pool: pool, namespace: namespace, object: object))
    }

    package func forgetNotify(cookie: UInt64) {
        lingers.removeNotify(cookie: cookie)
        notifyWaitSeconds[cookie] = nil
        notifyWaiters.removeValue(forKey: cookie)?.resume(throwing: RADOSError(.connectionFailed, "the notify was abandoned"))
    }

    /// Waits for the OSD's completion of notify `cookie`, whose op's reply gave
    /// `notifyID` (nil: none), at most `seconds` after its last send: a notify sent again
    /// after a map change runs again on the OSD, with its timeout counted anew.
    package func notifyCompletion(cookie: UInt64, notifyID: UInt64?, seconds: Double) async throws -> MWatchNotify {
        perform(lingers.notifyAccepted(cookie: cookie, notifyID: notifyID))
        if let message = lingers.takeCompletion(cookie: cookie) { return message }
        guard lingers.isNotifyPending(cookie: cookie) else {
            throw RADOSError(.invalidArgument, "no notify with cookie \(cookie) is pending")
        }
        notifyWaitSeconds[cookie] = seconds
        scheduleNotifyDeadline(cookie: cookie)
        return try await withCheckedThrowingContinuation { continuation in
            notifyWaiters[cookie] = continuation
        }
    }

    /// Gives notify `cookie` its wait from now, for the attempt now in flight.
    func scheduleNotifyDeadline(cookie: UInt64) {
        guard let seconds = notifyWaitSeconds[cookie], let attempt = lingers.notifyAttempt(cookie: cookie) else { return }
        eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) { [weak self] in
            self?.assumeIsolated { $0.notifyTimedOut(cookie: cookie, attempt: attempt) }
        }
    }

    /// The wait of `attempt` of notify `cookie` ended; a later attempt has its own.
    func notifyTimedOut(cookie: UInt64, attempt: UInt32) {
        guard lingers.notifyAttempt(cookie: cookie) == attempt, let waiter = notifyWaiters.removeValue(forKey: cookie) else { return }
        notifyWaitSeconds[cookie] = nil
        lingers.removeNotify(cookie: cookie)
        waiter.resume(throwing: RADOSError(.timedOut, "the OSD did not complete the notify in time"))
    }

    /// A resent notify's op finished: its reply's notify id, or the error that ends the notify.
    func notifyResent(cookie: UInt64, attempt: UInt32, result: Result<UInt64?, RADOSError>) {
        switch result {
        case .success(let notifyID):
            perform(lingers.notifyAccepted(cookie: cookie, notifyID: notifyID, attempt: attempt))
        case .failure(let error):
            lingers.removeNotify(cookie: cookie)
            notifyWaitSeconds[cookie] = nil
            notifyWaiters.removeValue(forKey: cookie)?.resume(throwing: error)
        }
    }

    /// Runs what ``LingerStateMachine`` asks for.
    func perform(_ actions: [LingerStateMachine.Action]) {
        for action in actions {
            switch action {
            case .sendWatchOp(let cookie, let operation, let generation):
                guard let watch = lingers.watches[cookie] else { continue }
                let op = OSDOp.watch(cookie: cookie, operation, generation: generation, timeout: watch.timeout)
                execute(pool: watch.pool, namespace: watch.namespace, object: watch.object, ops: [op]) { objecter, outcome in
                    let result: Int32
                    let answered: Bool
                    switch outcome {
                    case .success(let done):
                        result = done.reply.result < 0 ? done.reply.result : (done.reply.ops.first?.returnValue ?? 0)
                        answered = true
                    case .failure(let error):
                        result = -((error as? RADOSError)?.errno ?? 107)
                        answered = false
                    }
                    objecter.watchOpFinished(cookie: cookie, operation: operation, generation: generation, result: result, answered: answered)
                }
            case .deliver(let cookie, let message):
                let event = WatchEvent(notifyID: message.notifyID, cookie: cookie, notifierGID: message.notifierGID, payload: message.payload)
                if let callbacks = watchCallbacks[cookie], let watch = lingers.watches[cookie] {
                    // Answered here, on the loop: the ack goes out before this returns to
                    // the channel (no task, no stream, no cooperative pool in between).
                    // A watcher that answers only once some work is done acks later itself.
                    guard let reply = callbacks.notify(event) else { continue }
                    let ack = OSDOp.notifyAck(notifyID: event.notifyID, cookie: cookie, reply: reply)
                    execute(pool: watch.pool, namespace: watch.namespace, object: watch.object, ops: [ack]) { _, _ in }
                } else {
                    watchStreams[cookie]?.yield(event)
                }
            case .lost(let cookie, let object, let errno):
                let error = RADOSError(
                    .connectionFailed, "the watch on \(object) was lost (\(String(cString: strerror(errno)))); watch the object again", errno: errno)
                watchStreams.removeValue(forKey: cookie)?.finish(throwing: error)
                watchCallbacks.removeValue(forKey: cookie)?.lost(error)
            case .notifyCompleted(let cookie, _):
                if let waiter = notifyWaiters.removeValue(forKey: cookie), let message = lingers.takeCompletion(cookie: cookie) {
                    notifyWaitSeconds[cookie] = nil
                    waiter.resume(returning: message)
                }
            case .resendNotify(let cookie, let attempt):
                guard let request = lingers.notifyRequest(cookie: cookie) else { continue }
                scheduleNotifyDeadline(cookie: cookie)
                let op = OSDOp.notify(cookie: cookie, payload: request.payload, timeout: request.timeout)
                execute(pool: request.pool, namespace: request.namespace, object: request.object, ops: [op]) { objecter, outcome in
                    let result: Result<UInt64?, RADOSError>
                    switch outcome {
                    case .success(let done):
                        let failure = done.reply.result < 0 ? done.reply.result : done.reply.firstFailingReturnValue
                        if failure < 0 {
                            result = .failure(IOContext.error(errno: -failure, object: request.object))
                        } else {
                            result = .success(done.outputs.first.flatMap { try? NotifyID.decode($0) })
                        }
                    case .failure(let error):
                        result = .failure(error as? RADOSError ?? RADOSError(.connectionFailed, "resending the notify on \(request.object) failed"))
                    }
                    objecter.notifyResent(cookie: cookie, attempt: attempt, result: result)
                }
            }
        }
    }

    func watchOpFinished(cookie: UInt64, operation: WatchOperation, generation: UInt32, result: Int32, answered: Bool) {
        switch operation {
        case .reconnect:
            perform(lingers.reconnectFinished(cookie: cookie, generation: generation, result: result, answered: answered))
        case .ping:
            perform(lingers.pingFinished(cookie: cookie, generation: generation, result: result, answered: answered))
        default:
            break
        }
    }

    /// The whole placement of an object under the map in force, as `ceph osd map` shows it:
    /// the epoch, the raw PG (full name hash), the PG, and its up and acting sets.
    package func objectMapping(pool poolID: Int64, namespace: String = "", object: String) -> (epoch: UInt32, rawPG: PlacementGroupID, pg: PlacementGroupID, mapping: OSDMap.Mapping)? {
        guard let pool = map.pools[poolID] else { return nil }
        let raw = PlacementGroupID(pool: poolID, seed: pool.hashKey(object, namespace: namespace))
        let pg = pool.rawPGToPG(raw)
        guard let mapping = map.mapping(pg, mapper: mapper) else { return nil }
        return (map.epoch, raw, pg, mapping)
    }
}
