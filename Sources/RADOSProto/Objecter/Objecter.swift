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
/// This first version is an actor, so a request costs one actor hop; `Docs/IOPath.md`
/// describes the event-loop-confined design it is to become. Full and incremental maps
/// from the monitor are followed; an incremental that does not follow the map in force
/// is dropped (the monitor's next full map catches up).
package actor Objecter {
    /// A completed request: the reply and each op's output (slices of the reply's data).
    package struct Reply: Sendable {
        package var reply: MOSDOpReply
        package var outputs: [ByteBuffer]
    }

    package let monitor: MonClient
    private var map: OSDMap
    private var mapper: CRUSHMapper
    private var machine: ObjecterStateMachine
    private var sessions: [Int32: MessengerSession] = [:]
    /// Messages waiting for a session being opened, in send order.
    private var queued: [Int32: [(tid: UInt64, message: Message)]] = [:]
    private var waiters: [UInt64: CheckedContinuation<Reply, any Error>] = [:]
    private var mapWatcher: Task<Void, Never>?
    /// Connection modes for OSD sessions (`ms_client_mode`), preferred first.
    private let osdModes: [ConnectionMode]

    private init(monitor: MonClient, map: OSDMap, opTimeoutSeconds: Double?, osdModes: [ConnectionMode]) {
        self.monitor = monitor
        self.osdModes = osdModes
        self.map = map
        self.mapper = CRUSHMapper(map: map.crush)
        self.machine = ObjecterStateMachine(
            osdmapEpoch: map.epoch, features: ProtocolV2Client.defaultFeatures,
            opTimeoutNanoseconds: opTimeoutSeconds.map { UInt64($0 * 1e9) })
    }

    /// Subscribes to the OSDMap and returns once the first full map is in.
    package static func start(monitor: MonClient, opTimeoutSeconds: Double? = nil, osdModes: [ConnectionMode] = [.crc, .secure]) async throws -> Objecter {
        try await monitor.subscribe(["osdmap": .init(start: 0)])
        while let message = try await monitor.nextMessage() {
            guard message.type == MessageType.osdMap else { continue }
            let maps = try MOSDMap.decode(message)
            guard let newest = maps.fullMaps.max(by: { $0.key < $1.key }) else { continue }
            let objecter = Objecter(monitor: monitor, map: try OSDMap(decoding: newest.value), opTimeoutSeconds: opTimeoutSeconds, osdModes: osdModes)
            await objecter.watchMaps()
            return objecter
        }
        throw RADOSError(.connectionFailed, "the monitor closed the connection before sending an OSD map")
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
        pool: Int64, namespace: String = "", object: String, ops: [OSDOp],
        snapID: UInt64 = MOSDOp.noSnap, snapContext: SnapContext = .empty
    ) async throws -> Reply {
        var request = ObjecterStateMachine.Request(objectName: object, namespace: namespace, ops: ops, snapID: snapID, snapContext: snapContext)
        if request.flags.contains(.write) {
            let now = Date().timeIntervalSince1970
            request.mtime = UTime(seconds: UInt32(now), nanoseconds: UInt32((now - now.rounded(.down)) * 1e9))
        }
        let target = target(pool: pool, namespace: namespace, object: object)
        return try await withCheckedThrowingContinuation { continuation in
            let (tid, action) = machine.submit(request, target: target, now: DispatchTime.now().uptimeNanoseconds)
            waiters[tid] = continuation
            if let action { perform(action) }
        }
    }

    /// Closes every OSD session; pending requests fail.
    package func shutdown() {
        mapWatcher?.cancel()
        for action in machine.abortAll(RADOSError(.connectionFailed, "the client was shut down")) { perform(action) }
        for session in sessions.values { session.channel.close(promise: nil) }
        sessions.removeAll()
    }

    /// Where an object's ops go under the map in force (nil when the pool does not exist).
    package func placement(pool: Int64, namespace: String = "", object: String) -> OpTarget? {
        target(pool: pool, namespace: namespace, object: object)
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

    // MARK: targets and maps

    private func target(pool poolID: Int64, namespace: String, object: String) -> OpTarget? {
        guard let pool = map.pools[poolID] else { return nil }
        let hash = pool.hashKey(object, namespace: namespace)
        let pg = pool.rawPGToPG(PlacementGroupID(pool: poolID, seed: hash))
        let mapping = map.mapping(pg, mapper: mapper)
        let primary = mapping.map(\.actingPrimary).flatMap { $0 >= 0 ? $0 : nil }
        return OpTarget(pool: poolID, objectHash: hash, pgSeed: pg.seed, primary: primary, acting: mapping?.acting ?? [])
    }

    private func watchMaps() {
        mapWatcher = Task { [monitor] in
            while let message = try? await monitor.nextMessage() {
                guard message.type == MessageType.osdMap, let maps = try? MOSDMap.decode(message) else { continue }
                self.consume(maps)
            }
        }
    }

    /// Applies what an MOSDMap carries: the newest full map if it is ahead, then each
    /// incremental that follows the map in force, in epoch order (`handle_one_map`).
    private func consume(_ maps: MOSDMap) {
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

    private func install(_ newMap: OSDMap) {
        guard newMap.epoch > map.epoch else { return }
        map = newMap
        mapper = CRUSHMapper(map: newMap.crush)
        let actions = machine.mapChanged(epoch: newMap.epoch) { pool, namespace, object in
            self.target(pool: pool, namespace: namespace, object: object)
        }
        for action in actions { perform(action) }
    }

    // MARK: actions

    private func perform(_ action: ObjecterStateMachine.Action) {
        switch action {
        case .complete(let tid, .failure(let error)):
            waiters.removeValue(forKey: tid)?.resume(throwing: error)
        case .complete(let tid, .success(let reply)):
            // Replies with data are completed in `received`, where the data segment is.
            waiters.removeValue(forKey: tid)?.resume(returning: Reply(reply: reply, outputs: []))
        case .send(let osd, let tid, let request):
            var front = ByteBuffer()
            request.encodeFront(into: &front)
            let pieces = request.dataPieces
            var data = pieces.first ?? ByteBuffer()
            for piece in pieces.dropFirst() { data.writeImmutableBuffer(piece) }
            let message = Message(type: MOSDOp.messageType, version: MOSDOp.version, compatVersion: MOSDOp.compatVersion, tid: tid, front: front, data: data)
            if let session = sessions[osd] {
                session.channel.writeAndFlush(message, promise: nil)
            } else if queued[osd] != nil {
                queued[osd]?.append((tid, message))
            } else {
                queued[osd] = [(tid, message)]
                open(osd)
            }
        }
    }

    private func open(_ osd: Int32) {
        guard let address = map.clientAddress(of: osd),
              let ticket = monitor.authOutcome.tickets.first(where: { $0.service == CephEntityType.osd.rawValue }) else {
            failQueued(osd, RADOSError(.connectionFailed, "osd.\(osd) has no msgr2 address or we hold no OSD ticket"))
            return
        }
        let globalID = monitor.authOutcome.globalID
        Task { [osdModes] in
            do {
                let session = try await MessengerSession.open(to: address, peerType: .osd, ticket: ticket, globalID: globalID, modes: osdModes)
                self.opened(osd, session)
            } catch {
                self.failQueued(osd, error as? RADOSError ?? RADOSError(.connectionFailed, "cannot open a session to osd.\(osd)", details: "\(error)"))
            }
        }
    }

    private func opened(_ osd: Int32, _ session: MessengerSession) {
        sessions[osd] = session
        for entry in queued.removeValue(forKey: osd) ?? [] {
            session.channel.write(entry.message, promise: nil)
        }
        session.channel.flush()
        Task {
            for await event in session.events {
                if case .message(let message) = event { self.received(from: osd, message) }
            }
            self.closed(osd, session)
        }
    }

    private func failQueued(_ osd: Int32, _ error: RADOSError) {
        for entry in queued.removeValue(forKey: osd) ?? [] where machine.cancel(tid: entry.tid) {
            waiters.removeValue(forKey: entry.tid)?.resume(throwing: error)
        }
    }

    private func received(from osd: Int32, _ message: Message) {
        guard message.type == MOSDOpReply.messageType else { return }  // maps and backoffs from OSDs: not handled yet
        let tid = message.header.tid
        guard let reply = try? MOSDOpReply.decode(front: message.front, version: message.header.version) else {
            if machine.cancel(tid: tid) {
                waiters.removeValue(forKey: tid)?.resume(throwing: RADOSError(.malformedData, "osd.\(osd) sent a reply that does not decode"))
            }
            return
        }
        guard let action = machine.replyReceived(tid: tid, from: osd, reply: reply) else { return }
        if case .complete(let doneTid, .success(let done)) = action {
            let waiter = waiters.removeValue(forKey: doneTid)
            do {
                waiter?.resume(returning: Reply(reply: done, outputs: try done.outputs(from: message.data)))
            } catch {
                waiter?.resume(throwing: (error as? DencError)?.radosError ?? RADOSError(.malformedData, "bad reply data"))
            }
        } else {
            perform(action)
        }
    }

    private func closed(_ osd: Int32, _ session: MessengerSession) {
        guard sessions[osd]?.channel === session.channel else { return }
        sessions[osd] = nil
        for action in machine.sessionReset(osd: osd) { perform(action) }
    }
}
