import NIOCore

/// The bookkeeping of in-flight OSD requests, as a pure state machine.
///
/// Events in (a request submitted, a reply, a new OSDMap, a lost OSD connection, a
/// clock tick), actions out (send this `MOSDOp` to that OSD, complete that request).
/// It never touches a socket, a promise or a clock of its own: the Objecter's handler
/// runs the actions and keeps each request's completion by its tid.
///
/// Rules, from ceph/ceph `src/osdc/Objecter.cc` and Linux `net/ceph/osd_client.c`:
/// - every request gets a tid once; a resend keeps it, counts `retry_attempt` up and
///   sets `RETRY`; `KNOWN_REDIR` is always set;
/// - a reply whose `retry_attempt` is not the latest attempt is stale and ignored;
/// - a write is complete on a reply with `ONDISK` or an error; a read on any reply;
/// - after a map change, requests whose target moved (PG, primary or acting set) are
///   resent, in tid order, so ops on one object keep their order;
/// - requests without a primary wait (homeless) until a map gives them one;
/// - when an OSD connection is lost, everything sent on it is resent after reconnecting;
/// - with an op timeout, requests older than it complete with ETIMEDOUT.
package struct ObjecterStateMachine: Sendable {
    /// What the caller asks for: everything of an `MOSDOp` but the routing.
    package struct Request: Sendable {
        package var objectName: String
        package var namespace: String
        package var ops: [OSDOp]
        package var flags: OSDRequestFlags
        package var snapID: UInt64
        package var snapContext: SnapContext
        package var mtime: UTime

        package init(
            objectName: String, namespace: String = "", ops: [OSDOp], snapID: UInt64 = MOSDOp.noSnap,
            snapContext: SnapContext = .empty, mtime: UTime = .zero
        ) {
            self.objectName = objectName
            self.namespace = namespace
            self.ops = ops
            self.snapID = snapID
            self.snapContext = snapContext
            self.mtime = mtime
            let writes = ops.contains { $0.code.mayWrite }
            let reads = ops.contains { $0.code.mayRead || $0.code == .call }
            var flags: OSDRequestFlags = []
            if writes { flags.formUnion([.write, .onDisk]) }
            if reads || !writes { flags.insert(.read) }
            if ops.contains(where: { $0.code == .call }) { flags.insert(.exec) }
            self.flags = flags
        }

        var isWrite: Bool { flags.contains(.write) }
    }

    package enum Action: Sendable {
        /// Send `message` (tid `tid`) on the session to `osd`, opening it if needed.
        case send(osd: Int32, tid: UInt64, message: MOSDOp)
        /// Request `tid` is finished: deliver the reply (or the error) to its caller.
        case complete(tid: UInt64, result: Result<MOSDOpReply, RADOSError>)
    }

    private struct InFlight: Sendable {
        var request: Request
        var target: OpTarget?
        /// How many times it was sent; the latest attempt number is `attempts - 1`.
        var attempts: Int32
        /// The OSD it was last sent to, while it waits for the reply.
        var sentTo: Int32?
        /// When it was submitted, in the caller's clock (nanoseconds).
        var submittedAt: UInt64
    }

    private var inFlight: [UInt64: InFlight] = [:]
    private var lastTid: UInt64 = 0
    private var epoch: UInt32
    /// Features of the sessions (what `MOSDOp` carries at its end).
    private let features: UInt64
    /// Requests older than this complete with ETIMEDOUT (nil: wait forever).
    private let opTimeoutNanoseconds: UInt64?

    package init(osdmapEpoch: UInt32, features: UInt64, opTimeoutNanoseconds: UInt64? = nil) {
        self.epoch = osdmapEpoch
        self.features = features
        self.opTimeoutNanoseconds = opTimeoutNanoseconds
    }

    /// Requests submitted and not yet complete.
    package var pendingCount: Int { inFlight.count }

    /// Requests that have no OSD to go to under the current map.
    package var homelessCount: Int { inFlight.values.reduce(0) { $0 + ($1.sentTo == nil ? 1 : 0) } }

    // MARK: events

    /// A new request. `target` is nil when the pool does not exist in the current map.
    package mutating func submit(_ request: Request, target: OpTarget?, now: UInt64) -> (tid: UInt64, action: Action?) {
        lastTid += 1
        let tid = lastTid
        guard let target else {
            return (tid, .complete(tid: tid, result: .failure(RADOSError(.notFound, "pool does not exist", errno: 2))))
        }
        inFlight[tid] = InFlight(request: request, target: target, attempts: 0, sentTo: nil, submittedAt: now)
        return (tid, sendIfPossible(tid))
    }

    /// A reply arrived from `osd` for `tid`.
    package mutating func replyReceived(tid: UInt64, from osd: Int32, reply: MOSDOpReply) -> Action? {
        guard let entry = inFlight[tid], entry.sentTo == osd else { return nil }  // unknown, finished or resent elsewhere
        if reply.retryAttempt >= 0, reply.retryAttempt != entry.attempts - 1 { return nil }  // reply to an earlier send
        if let pool = reply.redirectPool, pool != entry.target?.pool {
            // Redirects (cache tiering) are not followed: fail clearly rather than guess.
            inFlight[tid] = nil
            return .complete(tid: tid, result: .failure(RADOSError(.unsupported, "the OSD redirected the request to pool \(pool); redirects are not supported")))
        }
        if entry.request.isWrite, reply.result >= 0, !reply.flags.contains(.onDisk) {
            return nil  // an early ack; the commit follows
        }
        inFlight[tid] = nil
        return .complete(tid: tid, result: .success(reply))
    }

    /// A new OSDMap is in force. `retarget` gives each request's target under it (nil
    /// when its pool is gone). Requests whose target moved are resent in tid order.
    package mutating func mapChanged(epoch newEpoch: UInt32, retarget: (_ pool: Int64, _ namespace: String, _ objectName: String) -> OpTarget?) -> [Action] {
        epoch = newEpoch
        var actions: [Action] = []
        for tid in inFlight.keys.sorted() {
            guard var entry = inFlight[tid] else { continue }
            let pool = entry.target?.pool ?? -1
            guard let newTarget = retarget(pool, entry.request.namespace, entry.request.objectName) else {
                inFlight[tid] = nil
                actions.append(.complete(tid: tid, result: .failure(RADOSError(.notFound, "pool \(pool) was deleted", errno: 2))))
                continue
            }
            let moved = newTarget.pgSeed != entry.target?.pgSeed || newTarget.primary != entry.target?.primary
                || newTarget.acting != entry.target?.acting
            entry.target = newTarget
            if moved || entry.sentTo == nil {
                entry.sentTo = nil
                inFlight[tid] = entry
                if let action = sendIfPossible(tid) { actions.append(action) }
            } else {
                inFlight[tid] = entry
            }
        }
        return actions
    }

    /// The session to `osd` was lost and is being reopened: resend what was on it.
    package mutating func sessionReset(osd: Int32) -> [Action] {
        var actions: [Action] = []
        for tid in inFlight.keys.sorted() where inFlight[tid]?.sentTo == osd {
            inFlight[tid]?.sentTo = nil
            if let action = sendIfPossible(tid) { actions.append(action) }
        }
        return actions
    }

    /// Time passed: requests older than the op timeout fail with ETIMEDOUT.
    package mutating func tick(now: UInt64) -> [Action] {
        guard let timeout = opTimeoutNanoseconds else { return [] }
        var actions: [Action] = []
        for tid in inFlight.keys.sorted() {
            guard let entry = inFlight[tid], now >= entry.submittedAt, now - entry.submittedAt >= timeout else { continue }
            inFlight[tid] = nil
            actions.append(.complete(tid: tid, result: .failure(RADOSError(.timedOut, "the OSD request on \(entry.request.objectName) timed out (rados_osd_op_timeout)"))))
        }
        return actions
    }

    /// The client is shutting down: every pending request fails with `error`.
    package mutating func abortAll(_ error: RADOSError) -> [Action] {
        let actions = inFlight.keys.sorted().map { Action.complete(tid: $0, result: .failure(error)) }
        inFlight.removeAll()
        return actions
    }

    // MARK: helpers

    private mutating func sendIfPossible(_ tid: UInt64) -> Action? {
        guard var entry = inFlight[tid], let target = entry.target, let primary = target.primary else { return nil }
        var flags = entry.request.flags
        flags.insert(.knownRedirect)
        if entry.attempts > 0 { flags.insert(.retry) }
        var message = MOSDOp(
            pool: target.pool, pgSeed: target.pgSeed, objectHash: target.objectHash, osdmapEpoch: epoch,
            flags: flags, objectName: entry.request.objectName, ops: entry.request.ops, features: features
        )
        message.namespace = entry.request.namespace
        message.snapID = entry.request.snapID
        message.snapContext = entry.request.snapContext
        message.mtime = entry.request.mtime
        message.retryAttempt = entry.attempts
        entry.attempts += 1
        entry.sentTo = primary
        inFlight[tid] = entry
        return .send(osd: primary, tid: tid, message: message)
    }
}
