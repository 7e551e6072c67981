import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing
@testable import RADOSProto

/// The loop-bound driver of an OSD session, `MessengerHandler`, on an `EmbeddedChannel`
/// with no cluster: the recorded handshake of a real Pacific OSD (the fixture of
/// ``OSDSessionReplayTests``) opens the session, then a 4 KiB write request goes out and
/// an OSD reply comes in, the per-I/O path from the channel's point of view.
@Suite struct MessengerHandlerDriverTests {
    /// A handler on an `EmbeddedChannel` whose session the recorded handshake opened
    /// (what we sent is checked byte for byte against what the real OSD accepted), and
    /// the events it reported.
    struct OpenSession {
        let handler: MessengerHandler
        let channel: EmbeddedChannel
        let events: NIOLockedValueBox<[MessengerEvent]>

        init() throws {
            let fixture = try OSDSessionReplayTests.load()
            let events = NIOLockedValueBox<[MessengerEvent]>([])
            handler = MessengerHandler(machine: OSDSessionReplayTests.machine(fixture), keepaliveInterval: nil) { event in
                events.withLockedValue { $0.append(event) }
            }
            self.events = events
            channel = EmbeddedChannel(handler: handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6800)).wait()
            try channel.writeInbound(ByteBuffer(bytes: fixture.server))
            #expect(try sent() == fixture.client)
            let ready = events.withLockedValue { $0.contains { if case .ready = $0 { return true } else { return false } } }
            try #require(ready, "the session did not open: \(events.withLockedValue { $0 })")
        }

        /// The bytes written and flushed since the last call.
        func sent() throws -> [UInt8] {
            var bytes: [UInt8] = []
            while let piece = try channel.readOutbound(as: ByteBuffer.self) { bytes += Array(piece.readableBytesView) }
            return bytes
        }
    }

    @Test func anOSDSessionSendsARequestAndDeliversItsReply() throws {
        let session = try OpenSession()
        let (channel, events) = (session.channel, session.events)
        defer { _ = try? channel.finish() }
        func sent() throws -> [UInt8] { try session.sent() }

        // A request: one message frame, numbered 1, carrying front and data as given.
        let front = ByteBuffer(bytes: (0..<180).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let data = ByteBuffer(repeating: 0x5A, count: 4096)
        let request = Message(type: MOSDOp.messageType, version: MOSDOp.version, compatVersion: MOSDOp.compatVersion, tid: 1, front: front, data: data)
        try channel.writeOutbound(request)
        var wire = ByteBuffer(bytes: try sent())
        var decoder = FrameDecoder()
        let frame = try #require(try decoder.next(from: &wire)?.frame)
        #expect(wire.readableBytes == 0, "more than one frame went out")
        #expect(frame.tag == .message && frame.segments.count == 4)
        let header = try MessageHeader2.decode(frame.segments[0])
        #expect(header.seq == 1 && header.tid == 1 && header.type == MOSDOp.messageType)
        #expect(frame.segments[1] == front && frame.segments[2].readableBytes == 0 && frame.segments[3] == data)

        // The reply (the annotated front of MOSDOpReplyTests: a stat and a read, 16 and 3
        // bytes of output) is delivered as the message, and decodes.
        let outputs = ByteBuffer(bytes: (0..<19).map { UInt8($0) })
        var reply = Message(type: MOSDOpReply.messageType, version: 8, tid: 1, front: ByteBuffer(bytes: MOSDOpReplyTests.fixture()), data: outputs)
        reply.header.seq = 1
        var encoder = FrameEncoder()
        var replyWire: [ByteBuffer] = []
        encoder.encode(message: reply, into: &replyWire)
        for piece in replyWire { try channel.writeInbound(piece) }
        let delivered = try #require(events.withLockedValue { events -> Message? in
            for case .message(let message) in events.reversed() { return message }
            return nil
        })
        #expect(delivered == reply)
        let decoded = try MOSDOpReply.decode(front: delivered.front, version: delivered.header.version)
        #expect(decoded.returnValues == [0, -2])
        #expect(try decoded.outputs(from: delivered.data).map(\.readableBytes) == [16, 3])
        // Nothing goes back for it: sessions to OSDs are lossy, and lossy sessions send no ACK.
        #expect(try sent().isEmpty)
    }

    /// The Objecter's way in: requests written with `send(header:front:data:)` (the front
    /// encoded into the frame's buffer, nothing flushed) leave only when the channel is
    /// flushed, all together, in order and numbered, each front byte for byte what
    /// `MOSDOp.encodeFront` writes and each data segment the caller's bytes.
    @Test func requestsSentUnflushedLeaveTogetherAtTheFlush() throws {
        let session = try OpenSession()
        let (handler, channel) = (session.handler, session.channel)
        defer { _ = try? channel.finish() }
        func sent() throws -> [UInt8] { try session.sent() }

        let requests = (1...3).map { (index: Int) -> (tid: UInt64, op: MOSDOp) in
            let data = ByteBuffer(repeating: UInt8(index), count: 4096 * index)
            let op = MOSDOp(
                pool: 2, pgSeed: 5, objectHash: 0xDEAD_BEEF, osdmapEpoch: 40, flags: [.write, .onDisk],
                name: ObjectName(dataObjectPrefix: "rbd_data.1234", number: UInt64(index)),
                ops: SmallArray(.setAllocHint(expectedObjectSize: 4 << 20, expectedWriteSize: 4 << 20, opFlags: []), .write(offset: 0, data: data)),
                features: ProtocolV2Client.defaultFeatures)
            return (UInt64(100 + index), op)
        }
        for (tid, op) in requests {
            handler.send(header: MessageHeader2(tid: tid, type: MOSDOp.messageType, version: MOSDOp.version, compatVersion: MOSDOp.compatVersion), front: op, data: op.data)
        }
        #expect(try sent().isEmpty, "requests went out before the flush")
        channel.flush()
        var wire = ByteBuffer(bytes: try sent())
        var decoder = FrameDecoder()
        for (seq, (tid, op)) in requests.enumerated() {
            let frame = try #require(try decoder.next(from: &wire)?.frame, "request \(seq + 1) missing")
            let header = try MessageHeader2.decode(frame.segments[0])
            #expect(header.seq == UInt64(seq + 1) && header.tid == tid && header.type == MOSDOp.messageType)
            var front = ByteBuffer()
            op.encodeFront(into: &front)
            #expect(frame.segments[1] == front)
            #expect(frame.segments[3] == op.data)
        }
        #expect(wire.readableBytes == 0, "more went out than the three requests")
    }

    /// Requests waiting for the flush go out before a frame written any other way (here a
    /// message through the pipeline), so the peer sees them in the order they were numbered.
    @Test func waitingRequestsLeaveBeforeAnythingWrittenAfterThem() throws {
        let session = try OpenSession()
        let (handler, channel) = (session.handler, session.channel)
        defer { _ = try? channel.finish() }
        for tid in [UInt64(7), 8] {
            let op = MOSDOp(
                pool: 2, pgSeed: 5, objectHash: 0xDEAD_BEEF, osdmapEpoch: 40, flags: [.read],
                name: ObjectName(dataObjectPrefix: "rbd_data.1234", number: tid),
                ops: SmallArray(single: .read(offset: 0, length: 4096)),
                features: ProtocolV2Client.defaultFeatures)
            handler.send(header: MessageHeader2(tid: tid, type: MOSDOp.messageType, version: MOSDOp.version, compatVersion: MOSDOp.compatVersion), front: op, data: op.data)
        }
        let other = Message(type: MOSDBackoff.messageType, version: MOSDBackoff.version, compatVersion: MOSDBackoff.compatVersion, tid: 0, front: ByteBuffer(bytes: [1, 2, 3]), data: ByteBuffer())
        try channel.writeOutbound(other)
        var wire = ByteBuffer(bytes: try session.sent())
        var decoder = FrameDecoder()
        var seen: [(seq: UInt64, tid: UInt64, type: UInt16)] = []
        while let frame = try decoder.next(from: &wire)?.frame {
            let header = try MessageHeader2.decode(frame.segments[0])
            seen.append((header.seq, header.tid, header.type))
        }
        #expect(wire.readableBytes == 0)
        #expect(seen.map(\.seq) == [1, 2, 3])
        #expect(seen.map(\.tid) == [7, 8, 0])
        #expect(seen.map(\.type) == [MOSDOp.messageType, MOSDOp.messageType, MOSDBackoff.messageType])
    }
}
