import NIOCore
import Testing
@testable import RADOSProto

/// The lossless session paths of ``ProtocolV2Client`` (SESSION_RECONNECT and its answers,
/// ACK bookkeeping), driven by hand. Ceph's monitors and OSDs treat clients as lossy and
/// answer a reconnect with SESSION_RESET, so these paths cannot be reached against a real
/// cluster: the handshake is the recorded crc-mode monitor session (our bytes are
/// identical on every connection, so its replies stay valid), and the session frames
/// after it are built with our own codec, field by field as `src/msg/async/frames_v2.h`
/// lays them out.
@Suite struct SessionReconnectTests {
    private let fixture: SessionReplayTests.Fixture
    /// Index of SERVER_IDENT in the recorded server frames.
    private let identIndex: Int

    init() throws {
        fixture = try SessionReplayTests.load(.crc)
        identIndex = try #require(fixture.server.firstIndex { $0.0.contains("serverIdent") })
    }

    private func client(lossy: Bool = false, maxUnacknowledged: Int = 4096) -> ProtocolV2Client {
        var configuration = ProtocolV2Client.Configuration(peerAddress: fixture.monitor, peerType: .mon)
        configuration.modes = [.crc]
        configuration.nonce = 0x1234_5678
        configuration.cookie = 0x0BAD_C0DE_0BAD_C0DE
        configuration.lossy = lossy
        configuration.maxUnacknowledged = maxUnacknowledged
        return ProtocolV2Client(
            configuration: configuration,
            authenticator: .monitor(CephXMonitorAuth(entityName: "admin", secret: fixture.key, clientChallenge: 0x0123_4567_89AB_CDEF)))
    }

    /// What a server keeping sessions (not a monitor with a lossy client, which answers
    /// cookie 0) would send: the recorded SERVER_IDENT with a cookie and flags 0.
    static let serverCookie: UInt64 = 0x5EC0_0C1E_5EC0_0C1E

    private func statefulServerIdent() throws -> ByteBuffer {
        var recorded = ByteBuffer(bytes: fixture.server[identIndex].1)
        var decoder = FrameDecoder()
        let frame = try #require(try decoder.next(from: &recorded)).frame
        var ident = try ServerIdentFrame.decode(frame.payload)
        ident.cookie = Self.serverCookie
        ident.flags = 0
        var encoder = FrameEncoder()
        return encoder.encode(Frame(tag: .serverIdent, payload: ident.encode()))
    }

    /// The recorded server side up to AUTH_SIGNATURE, then (when asked) our SERVER_IDENT.
    private func handshake(throughIdent: Bool) throws -> ByteBuffer {
        var bytes = ByteBuffer(bytes: fixture.server[..<identIndex].flatMap(\.1))
        if throughIdent {
            var ident = try statefulServerIdent()
            bytes.writeBuffer(&ident)
        }
        return bytes
    }

    /// A control frame from the server, crc mode.
    private func frame(_ tag: FrameTag, _ fill: (inout ByteBuffer) -> Void = { _ in }) -> ByteBuffer {
        var payload = ByteBuffer()
        fill(&payload)
        var encoder = FrameEncoder()
        return encoder.encode(Frame(tag: tag, payload: payload))
    }

    /// A MESSAGE frame from the server (an MMonSubscribeAck-sized front).
    private func serverMessage(seq: UInt64, ackSeq: UInt64) -> ByteBuffer {
        var header = MessageHeader2(seq: seq, tid: 0, type: MessageType.monSubscribeAck, version: 1, compatVersion: 1)
        header.ackSeq = ackSeq
        var encoder = FrameEncoder()
        return encoder.encode(Message(header: header, front: ByteBuffer(bytes: [UInt8(seq)]), middle: ByteBuffer(), data: ByteBuffer()).frame())
    }

    private func ours(tid: UInt64) -> Message {
        Message(type: MessageType.monGetVersion, version: 1, tid: tid, front: ByteBuffer(bytes: [UInt8(tid)]))
    }

    /// Every frame the client wrote (its banner skipped).
    private func written(_ actions: [ProtocolV2Client.Action]) throws -> [Frame] {
        var frames: [Frame] = []
        for case .write(let pieces) in actions {
            var wire = ByteBuffer()
            for var piece in pieces { wire.writeBuffer(&piece) }
            if wire.getBytes(at: wire.readerIndex, length: 8) == Banner.prefix { continue }
            var decoder = FrameDecoder()
            while let decoded = try decoder.next(from: &wire) { frames.append(decoded.frame) }
        }
        return frames
    }

    private func messageSeqs(_ frames: [Frame]) throws -> [UInt64] {
        try frames.filter { $0.tag == .message }.map { try MessageHeader2.decode($0.segments[0]).seq }
    }

    private func reconnectPause(_ actions: [ProtocolV2Client.Action]) -> TimeAmount? {
        for case .reconnect(let pause) in actions { return pause }
        return nil
    }

    /// The 40 bytes after the address vector in SESSION_RECONNECT.
    private func reconnectFields(_ frame: Frame) throws -> (clientCookie: UInt64, serverCookie: UInt64, globalSeq: UInt64, connectSeq: UInt64, msgSeq: UInt64) {
        try frame.payload.decodeExactly("ReconnectFrame") { b in
            _ = try b.readEntityAddressVector()
            return (try b.readDencU64(), try b.readDencU64(), try b.readDencU64(), try b.readDencU64(), try b.readDencU64())
        }
    }

    /// An open lossless session with messages 1…3 sent; returns the server's cookie.
    private func openSession(_ m: inout ProtocolV2Client) throws -> UInt64 {
        _ = m.start()
        let actions = m.received(try handshake(throughIdent: true))
        var cookie: UInt64?
        for case .ready(let ident) in actions { cookie = ident.cookie }
        let frames = try written(actions)
        // First connection: CLIENT_IDENT, global_seq 1, flags 0 (lossless), our cookie.
        let ident = try #require(frames.first { $0.tag == .clientIdent })
        #expect(ident.payload.msgrHex.hasSuffix(
            "0100000000000000"      // global_seq 1
            + "fffffdffbdcf013f"    // supported features (0x3f01cfbdfffdffff)
            + "0000000000000000"    // required features
            + "0000000000000000"    // flags: not lossy
            + "dec0ad0bdec0ad0b"))  // client cookie 0x0badc0de0badc0de
        for tid in UInt64(1)...3 {
            #expect(try messageSeqs(written(m.send(ours(tid: tid)))) == [tid])
        }
        return try #require(cookie)
    }

    @Test func aLostConnectionResumesTheSessionAndSendsOnlyWhatThePeerLacks() throws {
        var m = client()
        let serverCookie = try openSession(&m)
        #expect(m.unacknowledgedSeqs == [1, 2, 3])
        // ACK 1 (tag 20, u64 seq), then the peer's message 1 carrying ack_seq 2.
        _ = m.received(frame(.ack) { $0.writeDencU64(1) })
        #expect(m.unacknowledgedSeqs == [2, 3])
        let delivered = m.received(serverMessage(seq: 1, ackSeq: 2))
        #expect(delivered.contains { if case .deliver = $0 { return true } else { return false } })
        #expect(try written(delivered).map(\.tag) == [.ack])  // we acknowledge its seq 1
        #expect(m.unacknowledgedSeqs == [3])
        _ = m.send(ours(tid: 4))

        // The socket dies: keep the session, ask for a new connection after ms_initial_backoff.
        #expect(reconnectPause(m.peerClosed()) == .milliseconds(200))
        #expect(m.send(ours(tid: 5)).isEmpty)  // held until the session is back

        // Second connection: same handshake, then SESSION_RECONNECT instead of CLIENT_IDENT.
        _ = m.start()
        let frames = try written(m.received(try handshake(throughIdent: false)))
        #expect(frames.map(\.tag) == [.hello, .authRequest, .authRequestMore, .authSignature, .sessionReconnect])
        let fields = try reconnectFields(try #require(frames.last))
        #expect(fields.clientCookie == 0x0BAD_C0DE_0BAD_C0DE)
        #expect(fields.serverCookie == serverCookie && serverCookie == Self.serverCookie)
        #expect(fields.globalSeq == 2)   // one more per connection
        #expect(fields.connectSeq == 1)  // one more per reconnect of a known session
        #expect(fields.msgSeq == 1)      // the last message we received

        // SESSION_RECONNECT_OK (tag 15, u64 msg_seq 3): the peer has 1…3; send 4 again, then 5.
        let resumed = m.received(frame(.sessionReconnectOK) { $0.writeDencU64(3) })
        #expect(resumed.contains { if case .resumed = $0 { return true } else { return false } })
        let sent = try written(resumed)
        #expect(try messageSeqs(sent) == [4, 5])
        #expect(try sent.filter { $0.tag == .message }.map { try MessageHeader2.decode($0.segments[0]).tid } == [4, 5])
        #expect(m.unacknowledgedSeqs == [4, 5])
        #expect(m.isReady)

        // The peer sends its message 1 again (it did not see our ack) and then 2: 1 is dropped.
        #expect(!m.received(serverMessage(seq: 1, ackSeq: 5)).contains { if case .deliver = $0 { return true } else { return false } })
        #expect(m.unacknowledgedSeqs.isEmpty)
        #expect(m.received(serverMessage(seq: 2, ackSeq: 5)).contains { if case .deliver = $0 { return true } else { return false } })
        #expect(try messageSeqs(written(m.send(ours(tid: 6)))) == [6])
    }

    @Test func retryBumpsConnectSeqAndRetryGlobalBumpsGlobalSeq() throws {
        var m = client()
        _ = try openSession(&m)
        _ = m.peerClosed()
        _ = m.start()
        _ = m.received(try handshake(throughIdent: false))
        // SESSION_RETRY (tag 13, u64 connect_seq 5): retry with 5 + 1.
        let retry = try written(m.received(frame(.sessionRetry) { $0.writeDencU64(5) }))
        #expect(retry.map(\.tag) == [.sessionReconnect])
        #expect(try reconnectFields(try #require(retry.first)).connectSeq == 6)
        #expect(try reconnectFields(try #require(retry.first)).globalSeq == 2)
        // SESSION_RETRY_GLOBAL (tag 14, u64 global_seq 9): retry with max(2, 9) + 1.
        let global = try written(m.received(frame(.sessionRetryGlobal) { $0.writeDencU64(9) }))
        #expect(try reconnectFields(try #require(global.first)).globalSeq == 10)
        #expect(try reconnectFields(try #require(global.first)).connectSeq == 6)
        // Then accepted.
        _ = m.received(frame(.sessionReconnectOK) { $0.writeDencU64(3) })
        #expect(m.isReady && m.unacknowledgedSeqs.isEmpty)
    }

    @Test func aFullResetHandsBackWhatMayBeLostAndStartsAFreshSession() throws {
        var m = client()
        _ = try openSession(&m)
        _ = m.received(frame(.ack) { $0.writeDencU64(1) })
        _ = m.peerClosed()
        _ = m.send(ours(tid: 4))
        _ = m.start()
        _ = m.received(try handshake(throughIdent: false))
        // SESSION_RESET (tag 12, bool full = 1): the peer lost our session.
        let actions = m.received(frame(.sessionReset) { $0.writeDencBool(true) })
        var unsent: [Message] = []
        for case .peerReset(let messages) in actions { unsent = messages }
        #expect(unsent.map(\.header.tid) == [2, 3, 4])
        #expect(unsent.allSatisfy { $0.header.seq == 0 })
        // A fresh session on this connection: CLIENT_IDENT with a new cookie.
        let ident = try #require(try written(actions).first)
        #expect(ident.tag == .clientIdent)
        #expect(!ident.payload.msgrHex.hasSuffix("dec0ad0bdec0ad0b"))
        #expect(m.sessionIdentity.serverCookie == 0 && m.sessionIdentity.connectSeq == 0 && m.sessionIdentity.inSeq == 0)
        #expect(m.sessionIdentity.clientCookie != 0x0BAD_C0DE_0BAD_C0DE)
        // SERVER_IDENT opens it; numbering starts over.
        _ = m.received(try statefulServerIdent())
        #expect(m.isReady)
        #expect(try messageSeqs(written(m.send(ours(tid: 9)))) == [1])
    }

    @Test func aPartialResetKeepsTheMessagesForTheNewSession() throws {
        var m = client()
        _ = try openSession(&m)
        _ = m.peerClosed()
        _ = m.start()
        _ = m.received(try handshake(throughIdent: false))
        // SESSION_RESET with full = 0: the peer never saw our first session complete.
        let actions = m.received(frame(.sessionReset) { $0.writeDencBool(false) })
        #expect(!actions.contains { if case .peerReset = $0 { return true } else { return false } })
        #expect(try written(actions).map(\.tag) == [.clientIdent])
        let opened = m.received(try statefulServerIdent())
        // 1…3 go out again as the new session's 1…3, same tids.
        let sent = try written(opened)
        #expect(try messageSeqs(sent) == [1, 2, 3])
        #expect(try sent.map { try MessageHeader2.decode($0.segments[0]).tid } == [1, 2, 3])
    }

    @Test func waitBacksOffTheLongestAndFailuresDoubleThePause() throws {
        var m = client()
        _ = try openSession(&m)
        #expect(reconnectPause(m.peerClosed()) == .milliseconds(200))
        _ = m.start()
        #expect(reconnectPause(m.peerClosed()) == .milliseconds(400))  // failed again before the handshake
        _ = m.start()
        _ = m.received(try handshake(throughIdent: false))
        // WAIT (tag 16, empty): a racing connection; back off ms_max_backoff.
        #expect(reconnectPause(m.received(frame(.wait))) == .seconds(15))
        #expect(m.sessionIdentity.connectSeq == 3)
        _ = m.start()
        _ = m.received(try handshake(throughIdent: false))
        _ = m.received(frame(.sessionReconnectOK) { $0.writeDencU64(0) })
        #expect(m.isReady)
        #expect(m.unacknowledgedSeqs == [1, 2, 3])
        // A success resets the pause.
        #expect(reconnectPause(m.peerClosed()) == .milliseconds(200))
    }

    @Test func lossyConnectionsCloseAndKeepNothing() throws {
        var m = client(lossy: true)
        _ = m.start()
        let frames = try written(m.received(try handshake(throughIdent: true)))
        #expect(try #require(frames.first { $0.tag == .clientIdent }).payload.msgrHex.hasSuffix("0100000000000000" + "dec0ad0bdec0ad0b"))  // flags: lossy, cookie
        _ = m.send(ours(tid: 1))
        #expect(m.unacknowledgedSeqs.isEmpty)
        let closed = m.peerClosed()
        #expect(closed.contains { if case .close(.peerClosed) = $0 { return true } else { return false } })
        #expect(reconnectPause(closed) == nil)
    }

    @Test func aPeerThatStopsAcknowledgingIsBounded() throws {
        var m = client(maxUnacknowledged: 3)
        _ = try openSession(&m)
        let actions = m.send(ours(tid: 4))
        #expect(actions.contains { if case .close(.protocolViolation) = $0 { return true } else { return false } })
    }
}
