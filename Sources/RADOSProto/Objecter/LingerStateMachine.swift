/// Watches and notifies in flight, as a pure state machine.
///
/// A watch is a "linger op" in librados: the OSD keeps the registration while the
/// client keeps its session, and the client must register it again — with the next
/// generation, `CEPH_OSD_WATCH_OP_RECONNECT` — when the session drops or a map moves the
/// object to another primary, ping it while idle, and give up (report the watch lost)
/// when the OSD no longer knows it. A notify waits for the OSD's completion message,
/// which may arrive before the notify op's own reply.
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
        /// The primary that holds the registration; nil until it is first registered.
        package var osd: Int32?
        /// The primary a re-registration in flight was sent towards.
        package var reconnectingTo: Int32?

        package var isReconnecting: Bool { reconnectingTo != nil }
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
    }

    package private(set) var watches: [UInt64: Watch] = [:]
    /// Pending notifies; the completion once it arrived.
    private var notifies: [UInt64: MWatchNotify?] = [:]
    private var lastCookie: UInt64 = 0
    /// Re-registrations started so far (for diagnostics and tests).
    package private(set) var reconnectCount = 0

    package init() {}

    // MARK: registration

    /// A new watch, not yet registered: the caller sends its watch op with the cookie.
    package mutating func addWatch(pool: Int64, namespace: String, object: String, timeout: UInt32) -> UInt64 {
        lastCookie += 1
        watches[lastCookie] = Watch(pool: pool, namespace: namespace, object: object, timeout: timeout)
        return lastCookie
    }

    /// The OSD accepted watch `cookie`; `primary` is the object's primary now (-1: none).
    package mutating func watchRegistered(cookie: UInt64, primary: Int32) {
        watches[cookie]?.osd = primary
    }

    /// Forgets watch `cookie` (cancelled, or its registration failed).
    @discardableResult
    package mutating func removeWatch(cookie: UInt64) -> Watch? {
        watches.removeValue(forKey: cookie)
    }

    /// A new notify: the caller sends the notify op with the cookie.
    package mutating func addNotify() -> UInt64 {
        lastCookie += 1
        notifies[lastCookie] = .some(nil)
        return lastCookie
    }

    /// The completion of notify `cookie` if it already arrived (the notify is then done).
    package mutating func takeCompletion(cookie: UInt64) -> MWatchNotify? {
        guard case .some(.some(let message)) = notifies[cookie] else { return nil }
        notifies[cookie] = nil
        return message
    }

    package mutating func removeNotify(cookie: UInt64) {
        notifies[cookie] = nil
    }

    package func isNotifyPending(cookie: UInt64) -> Bool { notifies[cookie] != nil }

    // MARK: events

    /// A new map: watches whose primary moved are registered again. `primaryOf` gives a
    /// watch's primary under the new map (-1: none).
    package mutating func mapChanged(primaryOf: (Watch) -> Int32) -> [Action] {
        var actions: [Action] = []
        for cookie in watches.keys.sorted() {
            guard let watch = watches[cookie], let osd = watch.osd, !watch.isReconnecting else { continue }
            let primary = primaryOf(watch)
            if primary != osd { actions.append(reconnect(cookie, towards: primary)) }
        }
        return actions
    }

    /// The session to `osd` dropped: its watches are registered again. `primaryOf` as
    /// for ``mapChanged(primaryOf:)``.
    package mutating func sessionReset(osd: Int32, primaryOf: (Watch) -> Int32) -> [Action] {
        var actions: [Action] = []
        for cookie in watches.keys.sorted() {
            guard let watch = watches[cookie], watch.osd == osd, !watch.isReconnecting else { continue }
            actions.append(reconnect(cookie, towards: primaryOf(watch)))
        }
        return actions
    }

    /// A re-registration finished with `result` (0 or a negative errno); `primary` is
    /// the watch's primary now. If the map moved the object again meanwhile, it is
    /// registered once more.
    package mutating func reconnectFinished(cookie: UInt64, generation: UInt32, result: Int32, primary: Int32) -> [Action] {
        guard var watch = watches[cookie], watch.generation == generation, let target = watch.reconnectingTo else { return [] }
        guard result >= 0 else {
            watches[cookie] = nil
            return [.lost(cookie: cookie, object: watch.object, errno: -result)]
        }
        watch.reconnectingTo = nil
        watch.osd = target
        watches[cookie] = watch
        return primary != target ? [reconnect(cookie, towards: primary)] : []
    }

    /// Time to ping: one ping per registered watch that is not being re-registered.
    package func pings() -> [Action] {
        watches.keys.sorted().compactMap { cookie in
            guard let watch = watches[cookie], watch.osd != nil, !watch.isReconnecting else { return nil }
            return .sendWatchOp(cookie: cookie, operation: .ping, generation: watch.generation)
        }
    }

    /// A ping finished. `-ETIMEDOUT` means the watch's session dropped on the OSD side:
    /// register again; any other error means the OSD forgot the watch: lost. Answers for
    /// an older generation are stale.
    package mutating func pingFinished(cookie: UInt64, generation: UInt32, result: Int32, primary: Int32) -> [Action] {
        guard let watch = watches[cookie], watch.generation == generation, !watch.isReconnecting, result < 0 else { return [] }
        if result == -110 { return [reconnect(cookie, towards: primary)] }
        watches[cookie] = nil
        return [.lost(cookie: cookie, object: watch.object, errno: -result)]
    }

    /// An `MWatchNotify` arrived.
    package mutating func received(_ message: MWatchNotify) -> [Action] {
        switch message.opcode {
        case .notify:
            return watches[message.cookie] == nil ? [] : [.deliver(cookie: message.cookie, notification: message)]
        case .notifyComplete:
            guard notifies[message.cookie] != nil else { return [] }
            notifies[message.cookie] = .some(message)
            return [.notifyCompleted(cookie: message.cookie, message: message)]
        case .disconnect:
            guard let watch = watches.removeValue(forKey: message.cookie) else { return [] }
            return [.lost(cookie: message.cookie, object: watch.object, errno: message.returnCode < 0 ? -message.returnCode : 107)]
        case .unknown:
            return []
        }
    }

    private mutating func reconnect(_ cookie: UInt64, towards primary: Int32) -> Action {
        watches[cookie]?.generation += 1
        watches[cookie]?.reconnectingTo = primary
        reconnectCount += 1
        return .sendWatchOp(cookie: cookie, operation: .reconnect, generation: watches[cookie]?.generation ?? 0)
    }
}
