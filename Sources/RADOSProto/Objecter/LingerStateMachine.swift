import NIOCore

/// Watches and notifies in flight, as a pure state machine.
///
/// A watch is a "linger op" in librados: the OSD keeps the registration while the
/// client keeps its session, and the client must register it again — with the next
/// generation, `CEPH_OSD_WATCH_OP_RECONNECT` — when the session drops or a map starts a
/// new interval for the object's PG, ping it while idle, and give up (report the watch
/// lost) when the OSD no longer knows it. A notify waits for the OSD's completion
/// message with the notify id the notify op's reply gave, which may arrive before that
/// reply; if a new interval starts for its object's PG before the completion, the OSD
/// forgot the notify with the watches it dropped, so it is sent again and only the
/// newest run's completion counts (librados resends notify lingers like watches).
///
/// Re-registration follows the PG's interval, not only its primary: on every interval
/// change (PG, primary, acting or up set moved) the primary drops the connections of every
/// watch it holds in memory (`PrimaryLogPG::on_change` → `context_registry_on_change`,
/// ceph/ceph `src/osd/PrimaryLogPG.cc`); the watch stays in the object's info, waits
/// unconnected, and is removed after its timeout unless the client reconnects. librados
/// resends its linger op whenever `_calc_target` says `RECALC_OP_TARGET_NEED_RESEND`
/// (`Objecter::_recalc_linger_op_target`), Linux whenever `calc_target` says
/// `CALC_TARGET_NEED_RESEND` (`recalc_linger_target`), whether or not a registration
/// is already in flight; the newest generation's answer counts.
///
/// Events in (a watch added or registered, a map change, a lost session, a finished
/// reconnect or ping, an `MWatchNotify`), actions out; the Objecter sends the ops and
/// keeps the callers' streams and continuations. Rules from ceph/ceph
/// `src/osdc/Objecter.cc` (`_send_linger`, `_linger_reconnect`, `_send_linger_ping`,
/// `_linger_ping`, `handle_watch_notify`) and Linux `net/ceph/osd_client.c`
/// (`linger_reconnect_cb`, `linger_ping_cb`, `handle_watch_notify`).
package struct LingerStateMachine: Sendable {
    /// One watch.
    package struct Watch: Sendable, Hashable {
        package var pool: Int64
        package var namespace: String
        package var object: String
        /// Seconds the OSD keeps the watch without our session (0: its default).
        package var timeout: UInt32
        package var generation: UInt32 = 0
        /// Where the object was (PG, primary, acting set) under the map the latest
        /// registration went out with; nil while its pool is unknown.
        package var placement: OpTarget?
        /// The OSD accepted the watch op.
        package var isRegistered = false
        /// A re-registration with ``generation`` is in flight.
        package var isReconnecting = false
        /// The map moved the object, or its session dropped, before the first
        /// registration was answered: register again once it is.
        package var reconnectOnRegistration = false

        /// The OSD whose session holds the registration (nil: none yet, or no primary).
        package var osd: Int32? { isRegistered ? placement?.primary : nil }
    }

    package enum Action: Sendable, Hashable {
        /// Send a `CEPH_OSD_OP_WATCH` op for `cookie` (a reconnect or a ping).
        case sendWatchOp(cookie: UInt64, operation: WatchOperation, generation: UInt32)
        /// Hand a notify to watch `cookie`'s owner.
        case deliver(cookie: UInt64, notification: MWatchNotify)
        /// Watch `cookie` on `object` is gone (positive errno); its owner must watch again.
        case lost(cookie: UInt64, object: String, errno: Int32)
        /// Notify `cookie` is complete.
        case notifyCompleted(cookie: UInt64, message: MWatchNotify)
        /// Send notify `cookie`'s op again (see ``notifyRequest(cookie:)``) as a new
        /// request; report its reply with ``notifyAccepted(cookie:notifyID:attempt:)``.
        case resendNotify(cookie: UInt64, attempt: UInt32)
    }

    /// What a notify sends: its object and the op's payload and timeout.
    package struct NotifyRequest: Sendable {
        package var pool: Int64
        package var namespace: String
        package var object: String
        package var payload: ByteBuffer
        package var timeout: UInt32

        package init(pool: Int64, namespace: String, object: String, payload: ByteBuffer, timeout: UInt32) {
            self.pool = pool
            self.namespace = namespace
            self.object = object
            self.payload = payload
            self.timeout = timeout
        }
    }

    /// A notify in flight.
    private struct Notify: Sendable {
        var request: NotifyRequest
        /// Where the object was under the map the latest send went out with.
        var placement: OpTarget?
        /// Sends so far minus one; replies to earlier ones are stale.
        var attempt: UInt32 = 0
        /// The map moved the object before the reply to the latest send: send again then.
        var resendOnAcceptance = false
        /// The id the notify op's reply gave (nil: no reply yet, or one without an id).
        var notifyID: UInt64?
        var accepted = false
        /// Completions that arrived before the reply said which one is ours, by notify id.
        var early: [UInt64: MWatchNotify] = [:]
        /// Our completion, once it arrived.
        var completion: MWatchNotify?
    }

    /// At most this many completions are kept per notify before its reply arrives: a
    /// resent notify op yields one per send, so a handful is plenty (and a misbehaving
    /// peer cannot make us keep more).
    static let maxEarlyCompletions = 8
    /// Notify ids remembered per watch to drop a notify the OSD delivers again (it
    /// resends pending notifies to a watch that reconnects, `Watch::connect` in
    /// ceph/ceph `src/osd/Watch.cc`).
    static let rememberedNotifyIDs = 64

    package private(set) var watches: [UInt64: Watch] = [:]
    private var notifies: [UInt64: Notify] = [:]
    /// The notify ids delivered to each watch, newest last.
    private var delivered: [UInt64: [UInt64]] = [:]
    private var lastCookie: UInt64 = 0
    /// Re-registrations started so far (for diagnostics and tests).
    package private(set) var reconnectCount = 0
    /// Notify ops sent again so far (a new interval before their completion).
    package private(set) var notifyResendCount = 0
    /// Watches reported lost so far, and of those the ones whose failed watch op got no
    /// answer from an OSD (it failed in the client); the others an OSD declared gone.
    package private(set) var lostCount = 0
    package private(set) var lostUnansweredCount = 0

    /// Re-registrations in flight.
    package var reconnectsInFlight: Int { watches.values.count { $0.isReconnecting } }

    package init() {}

    // MARK: registration

    /// A new watch, not yet registered: the caller sends its watch op with the cookie.
    /// `placement` is the object's placement under the map in force.
    package mutating func addWatch(pool: Int64, namespace: String, object: String, timeout: UInt32, placement: OpTarget?) -> UInt64 {
        lastCookie += 1
        watches[lastCookie] = Watch(pool: pool, namespace: namespace, object: object, timeout: timeout, placement: placement)
        return lastCookie
    }

    /// The OSD accepted watch `cookie`. If the map moved the object or its session
    /// dropped while the watch op was in flight, the OSD may have registered it in an
    /// interval it has since left (or answered a resent op from its log without
    /// connecting it): it is registered once more.
    package mutating func watchRegistered(cookie: UInt64) -> [Action] {
        guard var watch = watches[cookie], !watch.isRegistered else { return [] }
        watch.isRegistered = true
        let again = watch.reconnectOnRegistration
        watch.reconnectOnRegistration = false
        watches[cookie] = watch
        return again ? [reconnect(cookie)] : []
    }

    /// Forgets watch `cookie` (cancelled, or its registration failed).
    @discardableResult
    package mutating func removeWatch(cookie: UInt64) -> Watch? {
        delivered[cookie] = nil
        return watches.removeValue(forKey: cookie)
    }

    /// A new notify: the caller sends the notify op with the cookie. `placement` is the
    /// object's placement under the map in force.
    package mutating func addNotify(_ request: NotifyRequest, placement: OpTarget?) -> UInt64 {
        lastCookie += 1
        notifies[lastCookie] = Notify(request: request, placement: placement)
        return lastCookie
    }

    /// How many times notify `cookie` was sent again (nil: no such notify).
    package func notifyAttempt(cookie: UInt64) -> UInt32? { notifies[cookie]?.attempt }

    /// What notify `cookie` sends (for ``Action/resendNotify(cookie:attempt:)``).
    package func notifyRequest(cookie: UInt64) -> NotifyRequest? { notifies[cookie]?.request }

    /// Send `attempt` of notify `cookie`'s op succeeded and its reply gave `notifyID`
    /// (nil if it carried none: then the first completion counts). Only the completion
    /// with that id finishes the notify: a notify op sent again after a map change runs
    /// again on the OSD under a new id, and the completion of the earlier run is not
    /// ours (`Objecter::_linger_commit`, `handle_watch_notify`). If the map moved the
    /// object while the op was in flight, it is sent once more.
    package mutating func notifyAccepted(cookie: UInt64, notifyID: UInt64?, attempt: UInt32 = 0) -> [Action] {
        guard var notify = notifies[cookie], notify.attempt == attempt, !notify.accepted else { return [] }
        if notify.resendOnAcceptance, notify.completion == nil {
            notifies[cookie] = notify
            return [resendNotify(cookie)]
        }
        notify.accepted = true
        notify.notifyID = notifyID
        let early = notifyID.flatMap { notify.early[$0] } ?? (notifyID == nil ? notify.early.values.first : nil)
        notify.early = [:]
        notify.completion = early
        notifies[cookie] = notify
        return early.map { [.notifyCompleted(cookie: cookie, message: $0)] } ?? []
    }

    /// The completion of notify `cookie` if it arrived (the notify is then done).
    package mutating func takeCompletion(cookie: UInt64) -> MWatchNotify? {
        guard let message = notifies[cookie]?.completion else { return nil }
        notifies[cookie] = nil
        return message
    }

    package mutating func removeNotify(cookie: UInt64) {
        notifies[cookie] = nil
    }

    package func isNotifyPending(cookie: UInt64) -> Bool { notifies[cookie] != nil }

    // MARK: events

    /// A new map. Every watch whose placement (PG, primary, acting or up set) changed is
    /// registered again with the next generation, even if a re-registration is in
    /// flight: the OSD left the interval that registration may have reached. So is
    /// every notify still waiting for its completion sent again. `placementOf` gives
    /// an object's placement under the new map.
    package mutating func mapChanged(placementOf: (_ pool: Int64, _ namespace: String, _ object: String) -> OpTarget?) -> [Action] {
        var actions: [Action] = []
        for cookie in notifies.keys.sorted() {
            guard var notify = notifies[cookie], notify.completion == nil else { continue }
            let placement = placementOf(notify.request.pool, notify.request.namespace, notify.request.object)
            guard !Self.sameInterval(placement, notify.placement) else { continue }
            notify.placement = placement
            if notify.accepted {
                notifies[cookie] = notify
                actions.append(resendNotify(cookie))
            } else {
                notify.resendOnAcceptance = true
                notifies[cookie] = notify
            }
        }
        for cookie in watches.keys.sorted() {
            guard var watch = watches[cookie] else { continue }
            let placement = placementOf(watch.pool, watch.namespace, watch.object)
            guard !Self.sameInterval(placement, watch.placement) else { continue }
            watch.placement = placement
            if !watch.isRegistered { watch.reconnectOnRegistration = true }
            watches[cookie] = watch
            if watch.isRegistered { actions.append(reconnect(cookie)) }
        }
        return actions
    }

    /// The session to `osd` dropped: the watches it held are registered again.
    /// `placementOf` as for ``mapChanged(placementOf:)``.
    package mutating func sessionReset(osd: Int32, placementOf: (_ pool: Int64, _ namespace: String, _ object: String) -> OpTarget?) -> [Action] {
        var actions: [Action] = []
        for cookie in watches.keys.sorted() {
            guard var watch = watches[cookie], watch.placement?.primary == osd else { continue }
            watch.placement = placementOf(watch.pool, watch.namespace, watch.object)
            if !watch.isRegistered { watch.reconnectOnRegistration = true }
            watches[cookie] = watch
            if watch.isRegistered { actions.append(reconnect(cookie)) }
        }
        return actions
    }

    /// A re-registration finished with `result` (0 or a negative errno); `answered`
    /// says whether an OSD gave it (false: the op failed in the client). Answers for an
    /// older generation are stale: a newer one is in flight.
    package mutating func reconnectFinished(cookie: UInt64, generation: UInt32, result: Int32, answered: Bool = true) -> [Action] {
        guard var watch = watches[cookie], watch.generation == generation, watch.isReconnecting else { return [] }
        guard result >= 0 else { return [lost(cookie, errno: -result, answered: answered)] }
        watch.isReconnecting = false
        watches[cookie] = watch
        return []
    }

    /// Time to ping: one ping per registered watch that is not being re-registered.
    package func pings() -> [Action] {
        watches.keys.sorted().compactMap { cookie in
            guard let watch = watches[cookie], watch.isRegistered, !watch.isReconnecting else { return nil }
            return .sendWatchOp(cookie: cookie, operation: .ping, generation: watch.generation)
        }
    }

    /// A ping finished. `-ETIMEDOUT` means the OSD holds the watch unconnected (its
    /// session dropped, or the PG changed interval): register again; any other error
    /// means the OSD forgot the watch: lost. `answered` as for
    /// ``reconnectFinished(cookie:generation:result:answered:)``. Answers for an older
    /// generation are stale.
    package mutating func pingFinished(cookie: UInt64, generation: UInt32, result: Int32, answered: Bool = true) -> [Action] {
        guard let watch = watches[cookie], watch.generation == generation, !watch.isReconnecting, result < 0 else { return [] }
        if result == -110 { return [reconnect(cookie)] }
        return [lost(cookie, errno: -result, answered: answered)]
    }

    /// An `MWatchNotify` arrived.
    package mutating func received(_ message: MWatchNotify) -> [Action] {
        switch message.opcode {
        case .notify:
            guard watches[message.cookie] != nil else { return [] }
            // A notify the OSD sends again to a reconnected watch is delivered once.
            var seen = delivered[message.cookie, default: []]
            guard !seen.contains(message.notifyID) else { return [] }
            seen.append(message.notifyID)
            if seen.count > Self.rememberedNotifyIDs { seen.removeFirst(seen.count - Self.rememberedNotifyIDs) }
            delivered[message.cookie] = seen
            return [.deliver(cookie: message.cookie, notification: message)]
        case .notifyComplete:
            guard var notify = notifies[message.cookie], notify.completion == nil else { return [] }
            guard notify.accepted else {
                if notify.early.count < Self.maxEarlyCompletions { notify.early[message.notifyID] = message }
                notifies[message.cookie] = notify
                return []
            }
            if let expected = notify.notifyID, expected != message.notifyID { return [] }  // an earlier run's
            notify.completion = message
            notifies[message.cookie] = notify
            return [.notifyCompleted(cookie: message.cookie, message: message)]
        case .disconnect:
            guard watches[message.cookie] != nil else { return [] }
            return [lost(message.cookie, errno: message.returnCode < 0 ? -message.returnCode : 107, answered: true)]
        case .unknown:
            return []
        }
    }

    /// Whether two placements belong to the same interval as far as a client can tell:
    /// same PG, primary, acting and up set (what `_calc_target` compares for the up/acting
    /// part of `PastIntervals::is_new_interval`).
    private static func sameInterval(_ a: OpTarget?, _ b: OpTarget?) -> Bool {
        a?.pool == b?.pool && a?.pgSeed == b?.pgSeed && a?.primary == b?.primary && a?.acting == b?.acting && a?.up == b?.up
    }

    /// Forgets watch `cookie` (which exists) and reports it lost.
    private mutating func lost(_ cookie: UInt64, errno: Int32, answered: Bool) -> Action {
        let object = removeWatch(cookie: cookie)?.object ?? ""
        lostCount += 1
        if !answered { lostUnansweredCount += 1 }
        return .lost(cookie: cookie, object: object, errno: errno)
    }

    private mutating func resendNotify(_ cookie: UInt64) -> Action {
        notifyResendCount += 1
        notifies[cookie]?.attempt += 1
        notifies[cookie]?.accepted = false
        notifies[cookie]?.resendOnAcceptance = false
        notifies[cookie]?.notifyID = nil
        notifies[cookie]?.early = [:]
        return .resendNotify(cookie: cookie, attempt: notifies[cookie]?.attempt ?? 0)
    }

    private mutating func reconnect(_ cookie: UInt64) -> Action {
        watches[cookie]?.generation += 1
        watches[cookie]?.isReconnecting = true
        reconnectCount += 1
        return .sendWatchOp(cookie: cookie, operation: .reconnect, generation: watches[cookie]?.generation ?? 0)
    }
}
