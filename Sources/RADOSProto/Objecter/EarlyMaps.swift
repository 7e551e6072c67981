import NIOCore

/// The monitor's messages from subscribing until the Objecter exists: kept in order,
/// with the first full OSDMap handed out as soon as it arrives. Confined to the loop.
final class EarlyMaps: @unchecked Sendable {
    private let eventLoop: any EventLoop
    private let first: EventLoopPromise<OSDMap>
    private var kept: [Message] = []
    private var found = false
    private var handler: ((Message) -> Void)?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        first = eventLoop.makePromise()
    }

    /// The first full map (the newest one of the first MOSDMap that carries any).
    var firstMap: EventLoopFuture<OSDMap> { first.futureResult }

    /// A message from the monitor (nil: the monitor client gave up).
    func received(_ message: Message?) {
        eventLoop.assertInEventLoop()
        guard let message else {
            if !found {
                found = true
                first.fail(RADOSError(.connectionFailed, "the monitor closed the connection before sending an OSD map"))
            }
            return
        }
        if let handler {
            handler(message)
            return
        }
        kept.append(message)
        guard !found, message.type == MessageType.osdMap, let maps = try? MOSDMap.decode(message),
              let newest = maps.fullMaps.max(by: { $0.key < $1.key }) else { return }
        do {
            let map = try OSDMap(decoding: newest.value)
            found = true
            first.succeed(map)
        } catch {
            found = true
            first.fail((error as? DencError)?.radosError ?? RADOSError(.malformedData, "the monitor's OSD map does not decode"))
        }
    }

    /// Hands what was kept, then everything after, to `handler`.
    func attach(_ handler: @escaping (Message) -> Void) {
        eventLoop.preconditionInEventLoop()
        self.handler = handler
        let messages = kept
        kept = []
        for message in messages { handler(message) }
    }
}
