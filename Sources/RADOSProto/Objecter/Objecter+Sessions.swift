import Foundation
import NIOCore

/// The Objecter's OSD sessions: performing the state machine's actions (send, resend,
/// fail), opening a session per OSD on demand and retrying it, routing replies,
/// backoffs and watch events that arrive on a session, and noticing when one closes.
extension Objecter {
    // MARK: actions

    func perform(_ action: ObjecterStateMachine.Action) {
        switch action {
        case .complete(let tid, .failure(let error)):
            complete(tid, .failure(error))
        case .complete(let tid, .success(let reply)):
            // Replies with data are completed in `received`, where the data segment is.
            complete(tid, .success(Reply(reply: reply, outputs: SmallArray())))
        case .send(let osd, let tid, let request):
            let header = MessageHeader2(tid: tid, type: MOSDOp.messageType, version: MOSDOp.version, compatVersion: MOSDOp.compatVersion)
            if let session = sessions[osd] {
                // The front is encoded into the frame's buffer: one buffer per request.
                session.send(header: header, front: request, data: request.data)
                written(osd)
                return
            }
            var front = ByteBufferAllocator().buffer(capacity: request.frontCapacity)
            request.encodeFront(into: &front)
            let message = Message(header: header, front: front, middle: ByteBuffer(), data: request.data)
            if queued[osd] != nil {
                queued[osd]?.append((tid, message))
            } else {
                queued[osd] = [(tid, message)]
                if !retrying.contains(osd) { open(osd) }
            }
        case .sendBackoff(let osd, let backoff):
            var front = ByteBuffer()
            backoff.encodeFront(into: &front)
            let message = Message(type: MOSDBackoff.messageType, version: MOSDBackoff.version, compatVersion: MOSDBackoff.compatVersion, tid: 0, front: front, data: ByteBuffer())
            sessions[osd]?.channel.writeAndFlush(message, promise: nil)
        }
    }

    /// Notes that a request went to `osd`'s session unflushed: once this turn of the loop
    /// has run (the replies of one wake-up, the completions they ran and the requests
    /// those issued, or a batch of requests from other threads), each session written to
    /// is flushed once, so requests to one OSD leave in one `writev`.
    func written(_ osd: Int32) {
        if !unflushed.contains(osd) { unflushed.append(osd) }
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute { [self] in flushOnLoop() }
    }

    /// Flushes every session written to since the last flush.
    func flushWritten() {
        flushScheduled = false
        for osd in unflushed { sessions[osd]?.channel.flush() }
        unflushed.removeAll(keepingCapacity: true)
    }

    func open(_ osd: Int32) {
        guard let address = map.clientAddress(of: osd),
              let ticket = monitor.authOutcome.tickets.first(where: { $0.service == CephEntityType.osd.rawValue }) else {
            sessionUnavailable(osd)  // no msgr2 address, or no OSD ticket yet
            return
        }
        let globalID = monitor.authOutcome.globalID
        // Completes on the loop: opening a session needs no task.
        MessengerSession.open(to: address, peerType: .osd, ticket: ticket, globalID: globalID, modes: osdModes, eventLoop: eventLoop).whenComplete { [weak self] result in
            self?.assumeIsolated { objecter in
                switch result {
                case .success(let session): objecter.opened(osd, session)
                case .failure: objecter.sessionUnavailable(osd)
                }
            }
        }
    }

    func opened(_ osd: Int32, _ session: MessengerSession) {
        sessions[osd] = session
        for entry in queued.removeValue(forKey: osd) ?? [] {
            session.channel.write(entry.message, promise: nil)
        }
        session.channel.flush()
        // Replies, notifications and the session's end are handled here on the loop as
        // they arrive, synchronously.
        session.route?.attach { [weak self] event in
            self?.deliverOnLoop(SessionDelivery(event: event, osd: osd, session: session))
        }
    }

    /// No session to `osd` could be opened: its requests stay pending (librados waits
    /// for a map that marks the OSD down) and are resent to it every second, or to
    /// their new OSD once a map moves them; the op timeout, if any, ends the wait.
    func sessionUnavailable(_ osd: Int32) {
        queued[osd] = nil
        guard retrying.insert(osd).inserted else { return }
        eventLoop.scheduleTask(in: .seconds(1)) { [weak self] in
            self?.assumeIsolated { $0.retryOpen(osd) }
        }
    }

    func retryOpen(_ osd: Int32) {
        retrying.remove(osd)
        guard sessions[osd] == nil else { return }
        queued[osd] = nil  // everything on it is sent again below
        for action in machine.sessionReset(osd: osd) { perform(action) }
    }

    func received(from osd: Int32, _ message: Message) {
        eventLoop.assertInEventLoop()
        switch message.type {
        case MOSDOpReply.messageType:
            break
        case MWatchNotify.messageType:
            if let notify = try? MWatchNotify.decode(front: message.front, data: message.data, version: message.header.version) {
                perform(lingers.received(notify))
            }
            return
        case MOSDBackoff.messageType:
            if let backoff = try? MOSDBackoff.decode(front: message.front, version: message.header.version) {
                for action in machine.backoffReceived(from: osd, backoff) { perform(action) }
            }
            return
        default:
            return  // maps from OSDs: the monitor's subscription brings them too
        }
        let tid = message.header.tid
        guard let reply = try? MOSDOpReply.decode(front: message.front, version: message.header.version) else {
            if machine.cancel(tid: tid) {
                complete(tid, .failure(RADOSError(.malformedData, "osd.\(osd) sent a reply that does not decode")))
            }
            return
        }
        guard let action = machine.replyReceived(tid: tid, from: osd, reply: reply) else { return }
        if case .complete(let doneTid, .success(let done)) = action {
            do {
                complete(doneTid, .success(Reply(reply: done, outputs: try done.outputs(from: message.data))))
            } catch {
                complete(doneTid, .failure((error as? DencError)?.radosError ?? RADOSError(.malformedData, "bad reply data")))
            }
        } else {
            perform(action)
        }
    }

    func closed(_ osd: Int32, _ session: MessengerSession) {
        guard sessions[osd]?.channel === session.channel else { return }
        sessions[osd] = nil
        for action in machine.sessionReset(osd: osd) { perform(action) }
        perform(lingers.sessionReset(osd: osd) { target(pool: $0, namespace: $1, object: $2) })
    }
}
