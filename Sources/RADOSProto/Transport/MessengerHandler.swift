import Foundation
import NIOCore

/// What a messenger connection reports to its owner.
package enum MessengerEvent: Sendable {
    case authenticated(AuthOutcome)
    case ready(ServerIdentFrame)
    case message(Message)
    case keepaliveAck(seconds: UInt32, nanoseconds: UInt32)
    /// The peer lost our session (lossless connections): these messages may not have reached it.
    case peerReset(unsent: [Message])
    case closed(RADOSError)
}

/// Runs a ``ProtocolV2Client`` on a NIO channel: the only place its actions are performed.
///
/// Inbound bytes and channel state changes become machine events; outbound `Message`s
/// written to the channel are handed to the machine (held until the session is ready).
/// Events go to `sink`, which must not block.
package final class MessengerHandler: ChannelDuplexHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = Message
    package typealias OutboundOut = ByteBuffer

    /// Which way bytes went, for a ``tap``.
    package enum Direction: Sendable {
        case sent
        case received
    }

    private var machine: ProtocolV2Client
    private let sink: @Sendable (MessengerEvent) -> Void
    private let tap: (@Sendable (Direction, ByteBuffer) -> Void)?
    private let keepaliveInterval: TimeAmount?
    private let silenceLimit: TimeAmount?
    private var keepaliveTask: RepeatedTask?
    private var closed = false
    /// The handler's context, for ``send(header:front:data:)`` (set while the handler is in a pipeline).
    private var context: ChannelHandlerContext?
    /// Requests sent with ``send(header:front:data:)`` and not yet written: they are
    /// handed to the channel at its next flush, or before anything else is written, so
    /// frames keep their order. Kept, with its arena, so that a request allocates no
    /// buffer of its own.
    private var pending = OutboundFrames()
    /// The array the machine fills with actions and this handler empties after
    /// performing them, kept so that a reply does not allocate one.
    private var scratchActions: [ProtocolV2Client.Action] = []

    /// - Parameters:
    ///   - keepaliveInterval: send KEEPALIVE2 this often once the session is open (nil: never).
    ///   - silenceLimit: close the connection when nothing (not even a KEEPALIVE2_ACK) came
    ///     from the peer for this long (`mon_client_ping_timeout`; default three intervals).
    ///   - tap: sees every byte sent and received (tests record sessions with it).
    package init(
        machine: ProtocolV2Client,
        keepaliveInterval: TimeAmount? = .seconds(10),
        silenceLimit: TimeAmount? = nil,
        tap: (@Sendable (Direction, ByteBuffer) -> Void)? = nil,
        sink: @escaping @Sendable (MessengerEvent) -> Void
    ) {
        self.machine = machine
        self.keepaliveInterval = keepaliveInterval
        self.silenceLimit = silenceLimit
        self.tap = tap
        self.sink = sink
    }

    package func channelActive(context: ChannelHandlerContext) {
        run(machine.start(now: context.eventLoop.now), context: context)
        if let interval = keepaliveInterval {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            keepaliveTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                let (handler, context) = loopBound.value
                let now = Date().timeIntervalSince1970
                let seconds = UInt32(clamping: Int(now))
                let nanoseconds = UInt32(clamping: Int((now - Double(seconds)) * 1e9))
                // A peer silent for the limit (default: three intervals) is considered dead.
                handler.run(handler.machine.tick(now: context.eventLoop.now, silenceLimit: handler.silenceLimit ?? interval * 3, seconds: seconds, nanoseconds: nanoseconds), context: context)
            }
        }
        context.fireChannelActive()
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        keepaliveTask?.cancel()
        keepaliveTask = nil
        self.context = nil
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        tap?(.received, bytes)
        // Taken out while in use: an event handled below that reaches this handler again
        // finds it empty and uses an array of its own.
        var actions = scratchActions
        scratchActions = []
        machine.received(bytes, now: context.eventLoop.now, into: &actions)
        run(actions, context: context)
        actions.removeAll(keepingCapacity: true)
        scratchActions = actions
    }

    /// Sends a message from the channel's loop without passing it through the pipeline
    /// (no boxing of the message, no array per request) and without flushing: its frame
    /// is written to the channel at the next flush (the caller flushes the channel once
    /// for everything it sent in this turn of the loop, so many requests leave in one
    /// `writev`), its front encoded into the frame's buffer, which the frames of a batch
    /// share. Dropped when the connection is closed (its owner hears `.closed` and
    /// resends); ``write(context:data:promise:)`` is the pipeline's way in.
    package func send<Front: EncodableFront>(header: MessageHeader2, front: Front, data: ByteBuffer) {
        guard context != nil, !closed else { return }
        let actions = machine.send(header: header, front: front, data: data, appendingTo: &pending)
        if !actions.isEmpty, let context { run(actions, context: context, flush: false) }
    }

    /// Hands the requests waiting in ``pending`` to the channel (not flushed): before the
    /// channel is flushed, and before any other frame is written, so frames keep the
    /// order they were numbered in.
    private func writePending(context: ChannelHandlerContext) {
        guard !pending.isEmpty else { return }
        pending.drain { buffer in
            tap?(.sent, buffer)
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    package func flush(context: ChannelHandlerContext) {
        writePending(context: context)
        context.flush()
    }

    /// A peer that stops reading makes the channel unwritable: the machine then stops
    /// answering each KEEPALIVE2 (memory stays bounded) until it drains.
    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        run(machine.writabilityChanged(context.channel.isWritable), context: context)
        context.fireChannelWritabilityChanged()
    }

    package func channelInactive(context: ChannelHandlerContext) {
        keepaliveTask?.cancel()
        keepaliveTask = nil
        run(machine.peerClosed(), context: context)
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(RADOSError(.connectionFailed, "the connection failed", details: "\(error)"), context: context)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !closed else {
            promise?.fail(RADOSError(.connectionFailed, "the connection is closed"))
            return
        }
        // Flushed when the writer flushes the channel (writeAndFlush, or flush later).
        run(machine.send(unwrapOutboundIn(data)), context: context, flush: false)
        promise?.succeed(())
    }

    /// Sends a KEEPALIVE2 with the current wall-clock time.
    package func keepalive(context: ChannelHandlerContext, seconds: UInt32, nanoseconds: UInt32) {
        run(machine.keepalive(seconds: seconds, nanoseconds: nanoseconds), context: context)
    }

    private func finish(_ error: RADOSError, context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        pending.discard()
        keepaliveTask?.cancel()
        keepaliveTask = nil
        sink(.closed(error))
        context.close(promise: nil)
    }

    /// Performs the machine's actions; what they write is flushed unless `flush` is false
    /// (a message written through the pipeline waits for the writer's flush).
    private func run(_ actions: [ProtocolV2Client.Action], context: ChannelHandlerContext, flush: Bool = true) {
        for action in actions {
            switch action {
            case .write(let buffers):
                writePending(context: context)
                for buffer in buffers {
                    tap?(.sent, buffer)
                    context.write(wrapOutboundOut(buffer), promise: nil)
                }
                if flush { context.flush() }
            case .authenticated(let outcome):
                sink(.authenticated(outcome))
            case .ready(let ident):
                sink(.ready(ident))
            case .deliver(let message):
                sink(.message(message))
            case .keepaliveAck(let seconds, let nanoseconds):
                sink(.keepaliveAck(seconds: seconds, nanoseconds: nanoseconds))
            case .peerReset(let unsent):
                sink(.peerReset(unsent: unsent))
            case .resumed:
                continue
            case .reconnect:
                // One handler serves one channel: a lossless session's next connection needs
                // a new channel, which this transport does not open (Ceph clients are lossy).
                finish(RADOSError(.connectionFailed, "the connection failed; lossless reconnection needs a new connection"), context: context)
            case .close(let error):
                finish(error.radosError, context: context)
            }
        }
    }
}
