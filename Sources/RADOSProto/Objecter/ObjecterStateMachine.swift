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
/// - with an op timeout, requests older than it complete with ETIMEDOUT;
/// - an OSD's backoff (`MOSDBackoff` block) holds requests whose object falls in its
///   range on that session until the matching unblock, which resends them all; the
///   block is acknowledged; backoffs end with the session (`Objecter::handle_osd_backoff`,
///   `_send_op`; Linux `handle_backoff_block`, `handle_backoff_unblock`).
package struct ObjecterStateMachine: Sendable {
    /// What the caller asks for: everything of an `MOSDOp` but the routing.
    package struct Request: Sendable {
        package var name: ObjectName
        /// The object's name as a string (made anew for a data object's name).
        package var objectName: String { name.description }
        package var namespace: String
        package var ops: SmallArray<OSDOp>
        package var flags: OSDRequestFlags
        package var snapID: UInt64
        package var snapContext: SnapContext
        package var mtime: UTime
        /// For a PG op (object listing): the raw hash whose PG the request goes to,
        /// instead of the object name's hash (`Objecter::pg_read`, `precalc_pgid`). The
        /// message then has an empty name and a locator carrying the PG seed as hash.
        package var placementHash: UInt32?

        package init(
            objectName: String, namespace: String = "", ops: SmallArray<OSDOp>, snapID: UInt64 = MOSDOp.noSnap,
            snapContext: SnapContext = .empty, mtime: UTime = .zero
        ) {
            self.init(name: ObjectName(objectName), namespace: namespace, ops: ops, snapID: snapID, snapContext: snapContext, mtime: mtime)
        }

        package init(
            name: ObjectName, namespace: String = "", ops: SmallArray<OSDOp>, snapID: UInt64 = MOSDOp.noSnap,
            snapContext: SnapContext = .empty, mtime: UTime = .zero
        ) {
            self.name = name
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

        /// A PG op: `ops` run on the PG that raw hash `hash` maps to, in `namespace`
        /// (``PGNamespacedList/allNamespaces`` for all), sent with ``PGNamespacedList/requestFlags``.
        package static func pgOp(hash: UInt32, namespace: String, ops: SmallArray<OSDOp>) -> Request {
            var request = Request(objectName: "", namespace: namespace, ops: ops)
            request.placementHash = hash
            request.flags = PGNamespacedList.requestFlags
            return request
        }

        var isWrite: Bool { flags.contains(.write) }
    }

    package enum Action: Sendable {
        /// Send `message` (tid `tid`) on the session to `osd`, opening it if needed.
        case send(osd: Int32, tid: UInt64, message: MOSDOp)
        /// Request `tid` is finished: deliver the reply (or the error) to its caller.
        case complete(tid: UInt64, result: Result<MOSDOpReply, RADOSError>)
        /// Send `message` (a backoff acknowledgement) on the session to `osd`.
        case sendBackoff(osd: Int32, message: MOSDBackoff)
    }

    /// A range of objects an OSD asked us not to send requests for.
    private struct Backoff: Sendable {
        var pg: PlacementGroupID
        var id: UInt64
        var begin: HObject
        var end: HObject
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
        /// Held back by a backoff on `sentTo`: not on the wire.
        var held = false
    }

    private var inFlight: [UInt64: InFlight] = [:]
    /// Backoffs in force, per OSD session.
    private var backoffs: [Int32: [Backoff]] = [:]
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

    /// How many times a request was sent again (after a map change, a lost session or
    /// an unblock): for diagnostics and tests.
    package private(set) var resendCount = 0

    /// Requests held back by an OSD's backoff.
    package var heldCount: Int { inFlight.values.reduce(0) { $0 + ($1.held ? 1 : 0) } }

    /// Backoff ranges in force on the session to `osd`.
    package func backoffCount(osd: Int32) -> Int { backoffs[osd]?.count ?? 0 }

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
        guard let entry = inFlight[tid], entry.sentTo == osd, !entry.held else { return nil }  // unknown, finished or resent elsewhere
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
    package mutating func mapChanged(epoch newEpoch: UInt32, retarget: (_ pool: Int64, _ request: Request) -> OpTarget?) -> [Action] {
        epoch = newEpoch
        var actions: [Action] = []
        for tid in inFlight.keys.sorted() {
            guard var entry = inFlight[tid] else { continue }
            let pool = entry.target?.pool ?? -1
            guard let newTarget = retarget(pool, entry.request) else {
                inFlight[tid] = nil
                actions.append(.complete(tid: tid, result: .failure(RADOSError(.notFound, "pool \(pool) was deleted", errno: 2))))
                continue
            }
            let moved = newTarget.pgSeed != entry.target?.pgSeed || newTarget.primary != entry.target?.primary || newTarget.shard != entry.target?.shard
                || newTarget.acting != entry.target?.acting
            entry.target = newTarget
            if moved || entry.sentTo == nil {
                entry.sentTo = nil
                entry.held = false
                inFlight[tid] = entry
                if let action = sendIfPossible(tid) { actions.append(action) }
            } else {
                inFlight[tid] = entry
            }
        }
        return actions
    }

    /// An OSD sent a backoff message. A block is recorded and acknowledged; an unblock
    /// removes the backoff with its id and resends every request on that session in its
    /// range (held or not: the OSD dropped those that arrived while it was blocking).
    package mutating func backoffReceived(from osd: Int32, _ message: MOSDBackoff) -> [Action] {
        switch message.operation {
        case .block:
            backoffs[osd, default: []].append(Backoff(pg: message.pg.pg, id: message.id, begin: message.begin, end: message.end))
            return [.sendBackoff(osd: osd, message: message.acknowledgement)]
        case .unblock:
            guard let index = backoffs[osd]?.firstIndex(where: { $0.id == message.id && $0.pg == message.pg.pg }) else { return [] }
            backoffs[osd]?.remove(at: index)
            var actions: [Action] = []
            for tid in inFlight.keys.sorted() {
                guard let entry = inFlight[tid], entry.sentTo == osd, let target = entry.target,
                      target.pool == message.pg.pg.pool, target.pgSeed == message.pg.pg.seed,
                      Self.object(of: entry).isIn(from: message.begin, to: message.end) else { continue }
                inFlight[tid]?.sentTo = nil
                inFlight[tid]?.held = false
                if let action = sendIfPossible(tid) { actions.append(action) }
            }
            return actions
        case .ackBlock, .unknown:
            return []
        }
    }

    /// The session to `osd` was lost and is being reopened: resend what was on it.
    /// Its backoffs end with it.
    package mutating func sessionReset(osd: Int32) -> [Action] {
        backoffs[osd] = nil
        var actions: [Action] = []
        for tid in inFlight.keys.sorted() where inFlight[tid]?.sentTo == osd {
            inFlight[tid]?.sentTo = nil
            inFlight[tid]?.held = false
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

    /// Forgets `tid` (its caller was told it failed some other way, e.g. no session could
    /// be opened to its OSD). Returns whether it was pending.
    package mutating func cancel(tid: UInt64) -> Bool {
        inFlight.removeValue(forKey: tid) != nil
    }

    /// The client is shutting down: every pending request fails with `error`.
    package mutating func abortAll(_ error: RADOSError) -> [Action] {
        let actions = inFlight.keys.sorted().map { Action.complete(tid: $0, result: .failure(error)) }
        inFlight.removeAll()
        return actions
    }

    // MARK: helpers

    /// The object a request addresses, as OSDs order it (`op_target_t::get_hobj`).
    private static func object(of entry: InFlight) -> HObject {
        HObject(
            name: entry.request.objectName, hash: entry.target?.objectHash ?? 0,
            namespace: entry.request.namespace, pool: entry.target?.pool ?? -1)
    }

    private mutating func sendIfPossible(_ tid: UInt64) -> Action? {
        guard var entry = inFlight[tid], let target = entry.target, let primary = target.primary else { return nil }
        if let ranges = backoffs[primary], !ranges.isEmpty {
            let object = Self.object(of: entry)
            if ranges.contains(where: { $0.pg.pool == target.pool && $0.pg.seed == target.pgSeed && object.isIn(from: $0.begin, to: $0.end) }) {
                entry.sentTo = primary
                entry.held = true
                inFlight[tid] = entry
                return nil
            }
        }
        var flags = entry.request.flags
        flags.insert(.knownRedirect)
        if entry.attempts > 0 {
            flags.insert(.retry)
            resendCount += 1
        }
        var message = MOSDOp(
            pool: target.pool, pgSeed: target.pgSeed, objectHash: target.objectHash, osdmapEpoch: epoch,
            flags: flags, name: entry.request.name, ops: entry.request.ops, features: features
        )
        message.namespace = entry.request.namespace
        message.shard = target.shard
        if entry.request.placementHash != nil { message.locatorHash = Int64(target.pgSeed) }
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
