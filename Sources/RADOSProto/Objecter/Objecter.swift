import Foundation
import NIOCore

/// Sends object operations to the OSDs that serve them and hands back their replies.
///
/// It keeps the current OSDMap (from the monitor subscription), computes each request's
/// target with CRUSH, opens one msgr2 session per OSD on demand (cephx authorizer from
/// the monitor's OSD ticket) and lets ``ObjecterStateMachine`` decide what to send and
/// when a request is done. Source: ceph/ceph `src/osdc/Objecter.cc`, Linux
/// `net/ceph/osd_client.c`.
///
/// It is an actor whose executor is the client's NIO event loop (the monitor client's):
/// its OSD sessions' channels live on that loop too, so replies, watch notifications,
/// pings, map changes and resends are handled there and never wait on Swift's
/// cooperative pool; a caller's request costs one hop onto the loop. `Docs/IOPath.md`
/// describes where this is going. Full and incremental maps
/// from the monitor are followed; an incremental that does not follow the map in force
/// is dropped (the monitor's next full map catches up).
///
/// Beyond plain requests it keeps watches as linger registrations (re-registered with a
/// new generation after a lost session or a map that starts a new interval for the
/// object's PG, pinged while idle, reported lost when the OSD drops them), collects
/// notify completions (sending a notify again after a new interval), honours
/// OSD backoffs, lists pools PG by PG, and, with an op timeout, fails requests that
/// take longer (`rados_osd_op_timeout`). Requests whose OSD cannot be reached wait
/// and are resent until a map gives them another OSD.
package actor Objecter {
    /// A completed request: the reply and each op's output (slices of the reply's data).
    package struct Reply: Sendable {
        package var reply: MOSDOpReply
        package var outputs: SmallArray<ByteBuffer>
    }

    package let monitor: MonClient
    /// The client's loop: this actor's executor and the home of every OSD session.
    package nonisolated let eventLoop: any EventLoop
    package nonisolated var unownedExecutor: UnownedSerialExecutor { eventLoop.executor.asUnownedSerialExecutor() }
    var map: OSDMap
    var mapper: CRUSHMapper
    /// Each PG's mapping under the map in force, computed once (CRUSH is the costly
    /// part of targeting a request); emptied whenever a new map is installed.
    var mappings: [PlacementGroupID: OSDMap.Mapping?] = [:]
    var machine: ObjecterStateMachine
    var sessions: [Int32: MessengerSession] = [:]
    /// OSDs whose session was written to and not flushed yet, and whether the flush
    /// after this turn of the loop is scheduled (Objecter+Sessions.swift, `written`).
    var unflushed: [Int32] = []
    var flushScheduled = false
    /// Messages waiting for a session being opened, in send order.
    var queued: [Int32: [(tid: UInt64, message: Message)]] = [:]
    /// Who is waiting for each request: a caller's task, or the Objecter itself (watch
    /// ops, pings, notify acks), whose callback runs on the loop.
    enum Waiter {
        case task(CheckedContinuation<Reply, any Error>)
        case callback((isolated Objecter, Result<Reply, any Error>) -> Void)
        /// A caller's callback request (Objecter+Callbacks.swift), kept as it came and
        /// answered in librados' terms (``outputs(_:)``).
        case completion(@Sendable (Result<SmallArray<ByteBuffer>, RADOSError>) -> Void)
    }
    var waiters: [UInt64: Waiter] = [:]
    /// ``shutdown()`` was called: new requests fail at once instead of opening sessions.
    var isShutDown = false
    /// Connection modes for OSD sessions (`ms_client_mode`), preferred first.
    let osdModes: [ConnectionMode]
    /// The once-a-second loop timer (op timeouts, watch pings every 5 s).
    var ticker: RepeatedTask?
    /// Seconds the ticker has run.
    var tickCount = 0
    /// OSDs whose session could not be opened, with a retry scheduled.
    var retrying: Set<Int32> = []
    /// Watches and notifies in flight.
    var lingers = LingerStateMachine()
    /// Where each watch's notifications go, by cookie.
    var watchStreams: [UInt64: AsyncThrowingStream<WatchEvent, any Error>.Continuation] = [:]
    /// Watches answered on the loop by callbacks instead of a stream, by cookie.
    var watchCallbacks: [UInt64: WatchCallbacks] = [:]
    /// Callers waiting for a notify's completion, by cookie.
    var notifyWaiters: [UInt64: CheckedContinuation<MWatchNotify, any Error>] = [:]
    /// How long each waiting notify waits for its completion after its last send.
    var notifyWaitSeconds: [UInt64: Double] = [:]

    /// A notification for one of our watches: acknowledge it with a notify-ack.
    package struct WatchEvent: Sendable {
        package var notifyID: UInt64
        package var cookie: UInt64
        package var notifierGID: UInt64
        package var payload: ByteBuffer
    }

    /// How a watch answered on the loop hears of its notifications: `notify` runs on the
    /// client's loop for each one and returns the reply its ack carries (it must not
    /// block); `lost` runs there when the OSD dropped the watch. No task or stream sits
    /// between a notification and its ack, so a busy cooperative pool cannot delay it
    /// (librbd's `ImageWatcher` answers from its messenger callbacks the same way).
    package struct WatchCallbacks: Sendable {
        /// The ack's reply, or nil when the watcher acknowledges later itself
        /// (``IOContext/acknowledgeNotify(_:notifyID:cookie:reply:)``).
        package var notify: @Sendable (WatchEvent) -> ByteBuffer?
        package var lost: @Sendable (RADOSError) -> Void

        package init(notify: @escaping @Sendable (WatchEvent) -> ByteBuffer?, lost: @escaping @Sendable (RADOSError) -> Void) {
            self.notify = notify
            self.lost = lost
        }
    }

    private init(monitor: MonClient, map: OSDMap, opTimeoutSeconds: Double?, osdModes: [ConnectionMode]) {
        self.monitor = monitor
        self.eventLoop = monitor.eventLoop
        self.osdModes = osdModes
        self.map = map
        self.mapper = CRUSHMapper(map: map.crush)
        self.machine = ObjecterStateMachine(
            osdmapEpoch: map.epoch, features: ProtocolV2Client.defaultFeatures,
            opTimeoutNanoseconds: opTimeoutSeconds.map { UInt64($0 * 1e9) })
    }

    /// Subscribes to the OSDMap and returns once the first full map is in.
    ///
    /// From then on the monitor hands every map to the Objecter on the loop, as it arrives
    /// (``MonClient/routeUnrouted(_:)``); maps that come while the first is decoded are
    /// kept and applied in order.
    package static func start(monitor: MonClient, opTimeoutSeconds: Double? = nil, osdModes: [ConnectionMode] = [.crc, .secure]) async throws -> Objecter {
        let early = EarlyMaps(eventLoop: monitor.eventLoop)
        await monitor.routeUnrouted { message in early.received(message) }
        try await monitor.subscribe(["osdmap": .init(start: 0)])
        let first = try await early.firstMap.get()
        let objecter = Objecter(monitor: monitor, map: first, opTimeoutSeconds: opTimeoutSeconds, osdModes: osdModes)
        await objecter.follow(early)
        return objecter
    }

    /// Takes over the monitor's messages (those kept so far first) and starts the ticker.
    func follow(_ early: EarlyMaps) {
        early.attach { [weak self] message in
            self?.assumeIsolated { $0.monitorMessage(message) }
        }
        ticker = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            self?.assumeIsolated { objecter in
                objecter.tickCount += 1
                objecter.tick(pingWatches: objecter.tickCount % 5 == 0)
            }
        }
    }

    func monitorMessage(_ message: Message) {
        guard message.type == MessageType.osdMap, let maps = try? MOSDMap.decode(message) else { return }
        consume(maps)
    }

    /// The OSDMap in force.
    package var osdmap: OSDMap { map }

    /// The id of the pool named `name`.
    package func poolID(named name: String) throws -> Int64 {
        guard let id = map.poolNames.first(where: { $0.value == name })?.key else {
            throw RADOSError(.notFound, "pool '\(name)' does not exist", errno: 2)
        }
        return id
    }

    /// Runs `ops` on one object, atomically, and returns the OSD's reply.
    package func execute(
        pool: Int64, namespace: String = "", object: String, ops: SmallArray<OSDOp>,
        snapID: UInt64 = MOSDOp.noSnap, snapContext: SnapContext = .empty
    ) async throws -> Reply {
        let request = Self.request(namespace: namespace, object: ObjectName(object), ops: ops, snapID: snapID, snapContext: snapContext)
        return try await submit(request, pool: pool)
    }

    /// Runs `ops` on the loop with the reply going to `then`, on the loop, with no task in
    /// between: the Objecter's own requests (watch ops, pings, notify acks) and callers'
    /// callback requests (Objecter+Callbacks.swift).
    func execute(
        pool: Int64, namespace: String, object: String, ops: SmallArray<OSDOp>,
        snapID: UInt64 = MOSDOp.noSnap, snapContext: SnapContext = .empty,
        then completion: @escaping (isolated Objecter, Result<Reply, any Error>) -> Void
    ) {
        submit(pool: pool, namespace: namespace, object: ObjectName(object), ops: ops, snapID: snapID, snapContext: snapContext, waiter: .callback(completion))
    }

    /// Submits a request on the loop; its outcome goes to `waiter`.
    private func submit(pool: Int64, namespace: String, object: ObjectName, ops: SmallArray<OSDOp>, snapID: UInt64, snapContext: SnapContext, waiter: Waiter) {
        guard !isShutDown else {
            let failure = RADOSError(.connectionFailed, "the client was shut down")
            switch waiter {
            case .task(let continuation): continuation.resume(throwing: failure)
            case .callback(let completion): completion(self, .failure(failure))
            case .completion(let completion): completion(.failure(failure))
            }
            return
        }
        let request = Self.request(namespace: namespace, object: object, ops: ops, snapID: snapID, snapContext: snapContext)
        let (tid, action) = machine.submit(request, target: target(pool: pool, request: request), now: DispatchTime.now().uptimeNanoseconds)
        waiters[tid] = waiter
        if let action { perform(action) }
    }

    /// A caller's callback request, on the loop (Objecter+Callbacks.swift).
    func submit(pool: Int64, namespace: String, object: ObjectName, ops: SmallArray<OSDOp>, snapID: UInt64, snapContext: SnapContext, completion: @escaping @Sendable (Result<SmallArray<ByteBuffer>, RADOSError>) -> Void) {
        submit(pool: pool, namespace: namespace, object: object, ops: ops, snapID: snapID, snapContext: snapContext, waiter: .completion(completion))
    }

    static func request(namespace: String, object: ObjectName, ops: SmallArray<OSDOp>, snapID: UInt64, snapContext: SnapContext) -> ObjecterStateMachine.Request {
        var request = ObjecterStateMachine.Request(name: object, namespace: namespace, ops: ops, snapID: snapID, snapContext: snapContext)
        if request.flags.contains(.write) {
            let now = Date().timeIntervalSince1970
            request.mtime = UTime(seconds: UInt32(now), nanoseconds: UInt32((now - now.rounded(.down)) * 1e9))
        }
        return request
    }

    /// Hands request `tid`'s outcome to whoever waits for it.
    func complete(_ tid: UInt64, _ result: Result<Reply, any Error>) {
        switch waiters.removeValue(forKey: tid) {
        case .task(let continuation): continuation.resume(with: result)
        case .callback(let completion): completion(self, result)
        case .completion(let completion): completion(Self.outputs(result))
        case nil: break
        }
    }

    /// One page of a pool listing from `cursor` on (`Objecter::list_nobjects`): a PGNLS
    /// op to the PG the cursor's hash falls in. Also returns the pool's pg_num under the
    /// map the request went with, so a caller can restart when it changes, as librados does.
    package func listPage(pool poolID: Int64, namespace: String, cursor: HObject, maxEntries: UInt64) async throws -> (page: PGNamespacedListResponse, pgNum: UInt32) {
        for attempt in 0..<50 {
            guard let pool = map.pools[poolID] else { throw RADOSError(.notFound, "pool \(poolID) does not exist", errno: 2) }
            let pgNum = pool.pgNum
            let request = ObjecterStateMachine.Request.pgOp(
                hash: cursor.hash, namespace: namespace,
                ops: [.pgNamespacedList(maxEntries: maxEntries, cursor: cursor, startEpoch: map.epoch)])
            let done = try await submit(request, pool: poolID)
            let failure = done.reply.result < 0 ? done.reply.result : done.reply.firstFailingReturnValue
            if failure < 0 {
                throw RADOSError(.clusterError, "listing pool \(poolID) failed: \(String(cString: strerror(-failure)))", errno: -failure)
            }
            // An OSD whose map puts the PG elsewhere answers with no output: retry once
            // our map catches up (`PrimaryLogPG::do_pg_op`).
            if let output = done.outputs.first, output.readableBytes > 0 {
                do {
                    return (try PGNamespacedListResponse.decode(output), pgNum)
                } catch {
                    throw (error as? DencError)?.radosError ?? RADOSError(.malformedData, "the OSD's listing does not decode")
                }
            }
            try await Task.sleep(nanoseconds: UInt64(min(attempt + 1, 10)) * 100_000_000)
        }
        throw RADOSError(.timedOut, "the OSDs kept answering the listing of pool \(poolID) as misdirected")
    }

    func submit(_ request: ObjecterStateMachine.Request, pool: Int64) async throws -> Reply {
        guard !isShutDown else { throw RADOSError(.connectionFailed, "the client was shut down") }
        let target = target(pool: pool, request: request)
        return try await withCheckedThrowingContinuation { continuation in
            let (tid, action) = machine.submit(request, target: target, now: DispatchTime.now().uptimeNanoseconds)
            waiters[tid] = .task(continuation)
            if let action { perform(action) }
        }
    }

    /// Removes every registered watch from its OSD, waiting at most `limit` for the
    /// answers, so that a client shut down without cancelling its watches leaves none
    /// behind (the OSD would keep a dropped session's watch for its timeout, 30 s, and
    /// `rbd rm` refuses an image with watchers). What has not answered by then is
    /// abandoned: ``shutdown()`` fails it.
    package func unwatchAll(within limit: Duration) async {
        let registered = lingers.watches.filter(\.value.isRegistered)
        guard !registered.isEmpty else { return }
        let gate = CompletionGate(count: registered.count)
        for (cookie, watch) in registered {
            execute(pool: watch.pool, namespace: watch.namespace, object: watch.object, ops: [.watch(cookie: cookie, .unwatch)]) { _, _ in
                gate.arrive()
            }
        }
        let (seconds, attoseconds) = limit.components
        let timer = eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) { gate.open() }
        await gate.wait()
        timer.cancel()
        for cookie in registered.keys { removeWatch(cookie: cookie) }
    }

    /// Closes every OSD session; pending requests fail.
    package func shutdown() {
        isShutDown = true
        ticker?.cancel()
        ticker = nil
        for stream in watchStreams.values { stream.finish() }
        watchStreams.removeAll()
        watchCallbacks.removeAll()
        for waiter in notifyWaiters.values { waiter.resume(throwing: RADOSError(.connectionFailed, "the client was shut down")) }
        notifyWaiters.removeAll()
        notifyWaitSeconds.removeAll()
        lingers = LingerStateMachine()
        for action in machine.abortAll(RADOSError(.connectionFailed, "the client was shut down")) { perform(action) }
        for session in sessions.values { session.channel.close(promise: nil) }
        sessions.removeAll()
    }

    /// Where an object's ops go under the map in force (nil when the pool does not exist).
    package func placement(pool: Int64, namespace: String = "", object: String) -> OpTarget? {
        target(pool: pool, namespace: namespace, object: object)
    }

    /// Requests submitted and not complete (for tests and diagnostics).
    package var pendingCount: Int { machine.pendingCount }

    /// What was sent again and what was lost so far (for tests and diagnostics).
    package var statistics: Statistics {
        Statistics(
            resends: machine.resendCount, watchReconnects: lingers.reconnectCount,
            watchReconnectsInFlight: lingers.reconnectsInFlight, notifyResends: lingers.notifyResendCount,
            watchesLost: lingers.lostCount, watchesLostUnanswered: lingers.lostUnansweredCount)
    }

    // MARK: targets and maps

    func target(pool poolID: Int64, request: ObjecterStateMachine.Request) -> OpTarget? {
        guard let hash = request.placementHash else {
            return target(pool: poolID, namespace: request.namespace, object: request.name).map { paused($0, request) }
        }
        guard let pool = map.pools[poolID] else { return nil }
        // A PG op (listing) names the PG by its seed: the seed is also its "object hash".
        let seed = pool.rawPGToPG(PlacementGroupID(pool: poolID, seed: hash)).seed
        return paused(target(pool, id: poolID, objectHash: seed), request)
    }

    /// `CEPH_OSDMAP_PAUSERD` and `CEPH_OSDMAP_PAUSEWR` (`src/include/rados.h`).
    private static let pauseReads: UInt32 = 1 << 2
    private static let pauseWrites: UInt32 = 1 << 3

    /// While the map pauses reads or writes (`ceph osd pause`), requests of that kind
    /// have no OSD to go to and wait for a map that lets them through
    /// (`Objecter::target_should_be_paused`); one already sent is sent again after the
    /// pause, and the OSD recognises a write it already applied by its request id.
    func paused(_ target: OpTarget, _ request: ObjecterStateMachine.Request) -> OpTarget {
        let reads = request.flags.contains(.read) && map.flags & Self.pauseReads != 0
        let writes = request.flags.contains(.write) && map.flags & Self.pauseWrites != 0
        guard reads || writes else { return target }
        var held = target
        held.primary = nil
        return held
    }

    func target(pool poolID: Int64, namespace: String, object: String) -> OpTarget? {
        target(pool: poolID, namespace: namespace, object: ObjectName(object))
    }

    func target(pool poolID: Int64, namespace: String, object: ObjectName) -> OpTarget? {
        guard let pool = map.pools[poolID] else { return nil }
        return target(pool, id: poolID, objectHash: pool.hashKey(object, namespace: namespace))
    }

    /// The target of a raw PG seed (`objectHash`) under the map in force: its PG, the
    /// acting and up sets, the primary and, for an EC pool, the primary's shard.
    func target(_ pool: PoolInfo, id poolID: Int64, objectHash: UInt32) -> OpTarget {
        let pg = pool.rawPGToPG(PlacementGroupID(pool: poolID, seed: objectHash))
        let mapping: OSDMap.Mapping?
        if let cached = mappings[pg] {
            mapping = cached
        } else {
            mapping = map.mapping(pg, mapper: mapper)
            mappings[pg] = mapping
        }
        let primary = mapping.map(\.actingPrimary).flatMap { $0 >= 0 ? $0 : nil }
        let acting = mapping?.acting ?? []
        let shard = OpTarget.shard(erasureCoded: pool.type == PoolInfo.typeErasure, primary: primary, acting: acting)
        return OpTarget(pool: poolID, objectHash: objectHash, pgSeed: pg.seed, primary: primary, acting: acting, up: mapping?.up ?? [], shard: shard)
    }

    /// Applies what an MOSDMap carries: the newest full map if it is ahead, then each
    /// incremental that follows the map in force, in epoch order (`handle_one_map`).
    func consume(_ maps: MOSDMap) {
        eventLoop.assertInEventLoop()
        var next = map
        if let newest = maps.fullMaps.max(by: { $0.key < $1.key }), newest.key > next.epoch,
           let decoded = try? OSDMap(decoding: newest.value) {
            next = decoded
        }
        for epoch in maps.incrementalMaps.keys.sorted() where epoch == next.epoch + 1 {
            guard let body = maps.incrementalMaps[epoch], let incremental = try? OSDMapIncremental(decoding: body) else { break }
            var applied = next
            guard (try? applied.apply(incremental)) != nil else { break }
            next = applied
        }
        install(next)
    }

    func install(_ newMap: OSDMap) {
        guard newMap.epoch > map.epoch else { return }
        map = newMap
        mapper = CRUSHMapper(map: newMap.crush)
        mappings.removeAll(keepingCapacity: true)
        let actions = machine.mapChanged(epoch: newMap.epoch) { pool, request in
            self.target(pool: pool, request: request)
        }
        for action in actions { perform(action) }
        perform(lingers.mapChanged { target(pool: $0, namespace: $1, object: $2) })
    }

    func tick(pingWatches ping: Bool) {
        eventLoop.assertInEventLoop()
        for action in machine.tick(now: DispatchTime.now().uptimeNanoseconds) { perform(action) }
        if ping { perform(lingers.pings()) }
    }
}
