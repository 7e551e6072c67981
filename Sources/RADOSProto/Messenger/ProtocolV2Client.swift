import Crypto
import NIOCore

/// The client side of one msgr2.1 connection, as a pure state machine.
///
/// Events go in (`start`, `received`, `send`, `keepalive`, `peerClosed`); actions come
/// out (`write`, `authenticated`, `ready`, `deliver`, `close`). It never touches a
/// socket, a clock or an event loop: the channel handler in `Transport/` performs the
/// actions. Sources: ceph/ceph `doc/dev/msgr2.rst`, `src/msg/async/ProtocolV2.cc`;
/// kernel `net/ceph/messenger_v2.c`.
///
/// Sequence: banner ⇄ banner; HELLO ⇄ HELLO; AUTH_REQUEST → (AUTH_REPLY_MORE ⇄
/// AUTH_REQUEST_MORE)* → AUTH_DONE; from here frames use the negotiated mode (crc or
/// secure); AUTH_SIGNATURE ⇄ AUTH_SIGNATURE (HMAC-SHA256 with the session key over every
/// byte the other side sent up to its last auth frame, banner included); CLIENT_IDENT →
/// SERVER_IDENT; then MESSAGE, ACK, KEEPALIVE2(_ACK).
///
/// Lossy connections (the `CEPH_MSG_CONNECT_LOSSY` flag; what Ceph clients use towards
/// monitors and OSDs) close on any failure and their owner opens a new session. A
/// lossless one keeps the session across connections: it holds sent messages until the
/// peer acknowledges them (ACK frames or a message's ack_seq), and after a failure asks
/// its owner for a new connection (`.reconnect(after:)`), on which it sends
/// SESSION_RECONNECT (cookies, global_seq, connect_seq, the last message seq received)
/// instead of CLIENT_IDENT. SESSION_RECONNECT_OK resumes (unacknowledged messages are
/// sent again); SESSION_RESET means the peer lost the session (its messages are handed
/// back and a fresh session starts); SESSION_RETRY / SESSION_RETRY_GLOBAL bump
/// connect_seq / global_seq and retry; WAIT backs off before the next connection
/// (`ProtocolV2::handle_session_reset`, `handle_session_retry`, `handle_reconnect_ok`,
/// `handle_wait`, `discard_requeued_up_to`).
package struct ProtocolV2Client: Sendable, CustomStringConvertible {
    package struct Configuration: Sendable {
        package var peerAddress: EntityAddress
        package var peerType: CephEntityType
        /// Modes we accept, most preferred first. Ceph's defaults: `ms_mon_client_mode`
        /// (monitors and managers) is "secure crc", `ms_client_mode` (OSDs, MDSs) "crc secure".
        package var modes: [ConnectionMode]
        package var supportedFeatures: UInt64 = ProtocolV2Client.defaultFeatures
        package var requiredFeatures: UInt64 = 0
        package var limits: FrameLimits = .default
        /// Our address nonce (random, non-zero).
        package var nonce: UInt32 = UInt32.random(in: 1...UInt32.max)
        package var cookie: UInt64 = UInt64.random(in: 1...UInt64.max)
        /// Lossy (the default, as Ceph clients talk to monitors and OSDs) or lossless.
        package var lossy = true
        /// How many sent messages a lossless connection keeps for retransmission before
        /// it gives up (bounds memory when the peer stops acknowledging).
        package var maxUnacknowledged = 4096
        /// `ms_initial_backoff` and `ms_max_backoff`: pauses before reconnecting (doubling).
        package var initialBackoff: TimeAmount = .milliseconds(200)
        package var maxBackoff: TimeAmount = .seconds(15)

        package init(peerAddress: EntityAddress, peerType: CephEntityType) {
            self.peerAddress = peerAddress
            self.peerType = peerType
            switch peerType {
            case .mon, .mgr, .auth: modes = [.secure, .crc]
            case .osd, .mds, .client: modes = [.crc, .secure]
            }
        }
    }

    /// Features we advertise: exactly what Ceph 16.2.15's librados sends in CLIENT_IDENT
    /// (`features_supported=3f01cfbdfffdffff`, read from a monitor's debug_ms log), so
    /// peers pick the encodings a Pacific client gets.
    package static let defaultFeatures: UInt64 = 0x3F01_CFBD_FFFD_FFFF

    /// How this connection authenticates.
    package enum Authenticator: Sendable {
        case monitor(CephXMonitorAuth)
        case service(CephXAuthorizer)
    }

    package enum Action: Sendable {
        /// Write these buffers, in order, then flush.
        case write([ByteBuffer])
        /// Authentication finished (tickets, global id); secrets inside are redacted in descriptions.
        case authenticated(AuthOutcome)
        /// The session is established; messages flow from now on.
        case ready(ServerIdentFrame)
        case deliver(Message)
        case keepaliveAck(seconds: UInt32, nanoseconds: UInt32)
        /// Lossless only: this connection failed; open a new one after the pause and call
        /// `start` again (the session and unacknowledged messages are kept).
        case reconnect(after: TimeAmount)
        /// Lossless only: the session resumed on a new connection (SESSION_RECONNECT_OK).
        case resumed
        /// The peer lost our session (SESSION_RESET): these messages may not have reached
        /// it and will not be sent again; a fresh session follows on this connection.
        case peerReset(unsent: [Message])
        /// Close the connection; the error says why.
        case close(MessengerError)
    }

    enum State: Sendable {
        case idle
        case awaitingBanner
        case awaitingHello
        case authenticating
        case awaitingSignature(expected: [UInt8])
        case awaitingServerIdent
        /// SESSION_RECONNECT sent (lossless); the last SERVER_IDENT of the session.
        case awaitingReconnect(ServerIdentFrame)
        case ready(ServerIdentFrame)
        /// Lossless: the connection failed; waiting for the owner to connect again.
        case disconnected
        case closed
    }

    package let configuration: Configuration
    var state: State = .idle
    var authenticator: Authenticator
    /// The authenticator as configured: every connection starts from it.
    let initialAuthenticator: Authenticator
    var inbound = ByteBuffer()
    var encoder = FrameEncoder()
    var decoder: FrameDecoder
    var sentForSignature = ByteBuffer()
    var receivedForSignature = ByteBuffer()
    var outcome: AuthOutcome?
    var myAddress: EntityAddress = .blank
    var pending: [Message] = []
    var outSeq: UInt64 = 0
    var inSeq: UInt64 = 0
    var ackedInSeq: UInt64 = 0
    /// Lossless: sent messages (with their seq) the peer has not acknowledged, oldest first.
    var unacknowledged: [Message] = []
    /// Session identity (msgr2 `client_cookie`, `server_cookie`, `global_seq`, `connect_seq`).
    var clientCookie: UInt64
    var serverCookie: UInt64 = 0
    var globalSeq: UInt64 = 0
    var connectSeq: UInt64 = 0
    var backoff: TimeAmount = .zero
    /// The SERVER_IDENT of the session (lossless reconnects resume it).
    var lastServerIdent: ServerIdentFrame?
    var sessionResets: UInt64 = 0
    /// When the peer last sent bytes (monotonic time from the caller).
    var lastHeard: NIODeadline?
    /// The transport cannot take more bytes (the peer is not reading): KEEPALIVE2s are
    /// then answered once it can, with the latest stamp only, so a peer flooding
    /// keepalives without reading cannot make us buffer an ack for each.
    var outboundBlocked = false
    /// The stamp of the newest KEEPALIVE2 not yet answered while blocked.
    var deferredKeepaliveStamp: ByteBuffer?

    /// Names the peer and the state only (never keys, tickets or secrets).
    package var description: String {
        let phase: String
        switch state {
        case .idle: phase = "idle"
        case .awaitingBanner: phase = "banner"
        case .awaitingHello: phase = "hello"
        case .authenticating: phase = "auth"
        case .awaitingSignature: phase = "signature"
        case .awaitingServerIdent: phase = "ident"
        case .awaitingReconnect: phase = "reconnect"
        case .ready: phase = "ready"
        case .disconnected: phase = "disconnected"
        case .closed: phase = "closed"
        }
        return "ProtocolV2Client(\(configuration.peerType) \(configuration.peerAddress), \(phase), out \(outSeq), in \(inSeq))"
    }

    package init(configuration: Configuration, authenticator: Authenticator) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.initialAuthenticator = authenticator
        self.clientCookie = configuration.cookie
        self.decoder = FrameDecoder(limits: configuration.limits, recordWireBytes: true)
    }

    /// Messages sent and not yet acknowledged by the peer (lossless connections).
    package var unacknowledgedSeqs: [UInt64] { unacknowledged.map(\.header.seq) }
    /// The session identity as SESSION_RECONNECT would carry it.
    package var sessionIdentity: (clientCookie: UInt64, serverCookie: UInt64, globalSeq: UInt64, connectSeq: UInt64, inSeq: UInt64) {
        (clientCookie, serverCookie, globalSeq, connectSeq, inSeq)
    }

    package var isReady: Bool {
        switch state {
        case .ready: return true
        case .idle, .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .awaitingReconnect,
             .disconnected, .closed: return false
        }
    }

    /// The outcome of authentication, once known.
    package var authOutcome: AuthOutcome? { outcome }

    // MARK: events

    /// The socket is connected: send our banner. After `.reconnect` this starts the new
    /// connection of the same session.
    package mutating func start(now: NIODeadline? = nil) -> [Action] {
        switch state {
        case .idle:
            break
        case .disconnected:
            // A new connection: per-connection state starts over, the session stays.
            inbound = ByteBuffer()
            encoder = FrameEncoder()
            decoder = FrameDecoder(limits: configuration.limits, recordWireBytes: true)
            sentForSignature = ByteBuffer()
            receivedForSignature = ByteBuffer()
            authenticator = initialAuthenticator
        case .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .awaitingReconnect, .ready, .closed:
            return []
        }
        lastHeard = now
        globalSeq += 1
        let banner = Banner.encode()
        sentForSignature.writeImmutableBuffer(banner)
        state = .awaitingBanner
        return [.write([banner])]
    }

    /// Bytes arrived from the peer (at monotonic time `now`, when the caller tracks it).
    package mutating func received(_ bytes: ByteBuffer, now: NIODeadline? = nil) -> [Action] {
        var actions: [Action] = []
        received(bytes, now: now, into: &actions)
        return actions
    }

    /// ``received(_:now:)`` appending its actions to `actions`, an array the driver keeps
    /// and empties after performing them: a reply then costs no array of its own.
    package mutating func received(_ bytes: ByteBuffer, now: NIODeadline? = nil, into actions: inout [Action]) {
        if let now { lastHeard = now }
        switch state {
        case .closed, .idle, .disconnected:
            return
        case .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .awaitingReconnect, .ready:
            break
        }
        if inbound.readableBytes == 0 {
            // Adopt the read buffer: frames decoded from it are slices, not copies.
            inbound = bytes
        } else {
            var bytes = bytes
            inbound.writeBuffer(&bytes)
        }
        do {
            if case .awaitingBanner = state {
                guard let write = try processBanner() else { return }
                actions.append(write)
            }
            while true {
                switch state {
                case .closed, .idle, .awaitingBanner, .disconnected:
                    return
                case .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .awaitingReconnect, .ready:
                    break
                }
                guard let decoded = try decoder.next(from: &inbound) else { break }
                if case .ready = state, decoded.frame.tag == .message {
                    // The open session's messages (replies) are delivered without the
                    // array `handle` returns.
                    if let message = try receivedMessage(decoded.frame) { actions.append(.deliver(message)) }
                } else {
                    actions += try handle(decoded)
                }
            }
            if inbound.readableBytes == 0 {
                inbound = ByteBuffer()
            } else if inbound.readerIndex > 0 {
                // Delivered frames may still share this storage: move the partial frame
                // that is left into a buffer of its own, so appending to it later does not
                // copy everything already handed out.
                // Room for the whole frame at once (its length is known from the
                // preamble): a 4 MiB reply arriving in 64 KiB reads is then copied once,
                // not again at every doubling of the buffer.
                var rest = ByteBuffer()
                rest.reserveCapacity(max(inbound.readableBytes, decoder.restAwaited ?? 0))
                rest.writeBuffer(&inbound)
                inbound = rest
            }
            // Only a lossless session acknowledges what it received: on a lossy one
            // (Ceph clients towards monitors and OSDs) nothing is ever resent, so Ceph
            // sends no ACK frames there (`ProtocolV2::handle_message`), and neither do we.
            if !configuration.lossy, case .ready = state, inSeq > ackedInSeq {
                ackedInSeq = inSeq
                var p = ByteBuffer()
                p.writeDencU64(inSeq)
                actions.append(.write(encodeFrame(Frame(tag: .ack, payload: p))))
            }
        } catch let error as MessengerError {
            actions += fail(error)
        } catch let error as DencError {
            actions += fail(.malformed(error))
        } catch let error as RADOSError {
            actions += fail(.authenticationFailed(error.message))
        } catch {
            actions += fail(.protocolViolation("\(error)"))
        }
    }

    /// Queue or send a message. Before the session is ready it is held back.
    package mutating func send(_ message: Message) -> [Action] {
        switch state {
        case .closed:
            return []
        case .idle, .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .awaitingReconnect,
             .disconnected:
            pending.append(message)
            return []
        case .ready:
            if !configuration.lossy, unacknowledged.count >= configuration.maxUnacknowledged {
                return fail(.protocolViolation("the peer left \(unacknowledged.count) messages unacknowledged"))
            }
            return [.write(encodeMessage(message))]
        }
    }

    /// The transport can take more bytes (`writable`) or not (its buffer is over the
    /// high-water mark because the peer is not reading). When it can again, the newest
    /// KEEPALIVE2 that came meanwhile is answered.
    package mutating func writabilityChanged(_ writable: Bool) -> [Action] {
        outboundBlocked = !writable
        guard writable, let stamp = deferredKeepaliveStamp else { return [] }
        deferredKeepaliveStamp = nil
        guard case .ready = state else { return [] }
        return [.write(encodeFrame(Frame(tag: .keepalive2Ack, payload: stamp)))]
    }

    /// Send a KEEPALIVE2 stamped with the given wall-clock time.
    package mutating func keepalive(seconds: UInt32, nanoseconds: UInt32) -> [Action] {
        switch state {
        case .ready:
            var p = ByteBuffer()
            p.writeDencU32(seconds)
            p.writeDencU32(nanoseconds)
            return [.write(encodeFrame(Frame(tag: .keepalive2, payload: p)))]
        case .idle, .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .awaitingReconnect,
             .disconnected, .closed:
            return []
        }
    }

    /// The periodic timer: closes the connection when the peer has been silent longer
    /// than `silenceLimit`, otherwise sends a KEEPALIVE2 (stamped with wall-clock time)
    /// on an open session. Keepalive acks count as hearing from the peer.
    package mutating func tick(now: NIODeadline, silenceLimit: TimeAmount, seconds: UInt32, nanoseconds: UInt32) -> [Action] {
        switch state {
        case .closed, .idle, .disconnected:
            return []
        case .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .awaitingReconnect, .ready:
            if let lastHeard, now - lastHeard > silenceLimit { return fail(.peerSilent) }
            return keepalive(seconds: seconds, nanoseconds: nanoseconds)
        }
    }

    /// The socket closed under us.
    package mutating func peerClosed() -> [Action] {
        switch state {
        case .closed, .disconnected:
            return []
        case .idle, .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .awaitingReconnect, .ready:
            return fail(.peerClosed)
        }
    }

    // MARK: internals

    /// A failure: a lossy connection closes; a lossless one keeps its session and asks
    /// for a new connection when the failure is one a new connection can cure.
    mutating func fail(_ error: MessengerError) -> [Action] {
        inbound.clear()
        if !configuration.lossy, Self.isTransient(error) {
            return disconnect(pause: nil)
        }
        state = .closed
        pending.removeAll()
        unacknowledged.removeAll()
        return [.close(error)]
    }

    static func isTransient(_ error: MessengerError) -> Bool {
        switch error {
        case .peerClosed, .peerSilent, .badCRC, .badAuthTag:
            return true
        case .badBanner, .unsupportedFeatures, .unknownTag, .segmentTooLarge, .protocolViolation, .malformed,
             .authenticationFailed, .badSignature:
            return false
        }
    }

    /// Lossless: drop this connection, keep the session, back off (`ProtocolV2::_fault`).
    mutating func disconnect(pause: TimeAmount?) -> [Action] {
        // A session the peer knows (we have its cookie) is resumed with the next connect_seq.
        if serverCookie != 0 { connectSeq += 1 }
        if let pause {
            backoff = pause
        } else if backoff == .zero {
            backoff = configuration.initialBackoff
        } else {
            backoff = min(backoff * 2, configuration.maxBackoff)
        }
        state = .disconnected
        return [.reconnect(after: backoff)]
    }

    mutating func encodeFrame(_ frame: Frame) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        encoder.encode(frame, into: &out)
        return out
    }

    mutating func encodeMessage(_ message: Message) -> [ByteBuffer] {
        var m = message
        outSeq += 1
        m.header.seq = outSeq
        if !configuration.lossy { unacknowledged.append(m) }
        return encodeNumbered(m)
    }

    /// Encodes a message whose seq is already set (a retransmission keeps its seq).
    mutating func encodeNumbered(_ message: Message) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        encodeNumbered(message, into: &out)
        return out
    }

    mutating func encodeNumbered(_ message: Message, into out: inout [ByteBuffer]) {
        var m = message
        m.header.ackSeq = inSeq
        ackedInSeq = inSeq
        encoder.encode(message: m, into: &out)
    }

    /// The peer has every message up to `seq` (`handle_message_ack`).
    mutating func acknowledged(upTo seq: UInt64) {
        guard !configuration.lossy else { return }
        while let first = unacknowledged.first, first.header.seq <= seq { unacknowledged.removeFirst() }
    }

    func reconnectFrame() -> Frame {
        var p = ByteBuffer()
        p.writeEntityAddressVector([myAddress])
        p.writeDencU64(clientCookie)
        p.writeDencU64(serverCookie)
        p.writeDencU64(globalSeq)
        p.writeDencU64(connectSeq)
        p.writeDencU64(inSeq)
        return Frame(tag: .sessionReconnect, payload: p)
    }

    func clientIdentFrame() -> Frame {
        let ident = ClientIdentFrame(
            addresses: [myAddress], target: configuration.peerAddress, globalID: outcome?.globalID ?? 0, globalSeq: globalSeq,
            supportedFeatures: configuration.supportedFeatures, requiredFeatures: configuration.requiredFeatures,
            flags: configuration.lossy ? ClientIdentFrame.flagLossy : 0, cookie: clientCookie)
        return Frame(tag: .clientIdent, payload: ident.encode())
    }

    /// Messages held back while the session was being (re)established, in order.
    mutating func flushPending() -> [Action] {
        let queued = pending
        pending.removeAll()
        return queued.map { .write(encodeMessage($0)) }
    }

    /// Frames sent before AUTH_DONE are part of what the peer signs.
    mutating func encodeSignedFrame(_ frame: Frame) -> [ByteBuffer] {
        let pieces = encodeFrame(frame)
        for piece in pieces { sentForSignature.writeImmutableBuffer(piece) }
        return pieces
    }

    mutating func processBanner() throws(MessengerError) -> Action? {
        guard inbound.readableBytes >= Banner.prefixLength,
              let prefix = inbound.getBytes(at: inbound.readerIndex, length: Banner.prefix.count)
        else { return nil }
        guard prefix == Banner.prefix else {
            throw .badBanner(prefix.starts(with: Array("ceph v0".utf8)) ? "the peer speaks msgr1 only" : "not a Ceph msgr2 banner")
        }
        let payloadLength = Int(inbound.getInteger(at: inbound.readerIndex + Banner.prefix.count, endianness: .little, as: UInt16.self) ?? 0)
        guard payloadLength >= 16, payloadLength <= Banner.maxPayloadLength else { throw .badBanner("payload length \(payloadLength)") }
        guard let raw = inbound.readSlice(length: Banner.prefixLength + payloadLength) else {
            // Wait for the whole payload.
            return nil
        }
        receivedForSignature.writeImmutableBuffer(raw)
        let supported = raw.getInteger(at: raw.readerIndex + Banner.prefixLength, endianness: .little, as: UInt64.self) ?? 0
        let required = raw.getInteger(at: raw.readerIndex + Banner.prefixLength + 8, endianness: .little, as: UInt64.self) ?? 0
        guard supported & Banner.revision1 != 0 else { throw .unsupportedFeatures("the peer does not support msgr2.1 (revision 1)") }
        guard required & ~Banner.revision1 == 0 else { throw .unsupportedFeatures("the peer requires msgr2 features 0x\(String(required, radix: 16))") }
        let hello = HelloFrame(entityType: UInt8(CephEntityType.client.rawValue), peerAddress: configuration.peerAddress)
        state = .awaitingHello
        return .write(encodeSignedFrame(Frame(tag: .hello, payload: hello.encode())))
    }

    /// A fresh client cookie after a reset (`reset_session` drops the old one), derived
    /// from the configured one so tests can predict it.
    static func nextCookie(_ base: UInt64, _ n: UInt64) -> UInt64 {
        var z = base &+ n &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        let cookie = z ^ (z >> 31)
        return cookie == 0 ? 1 : cookie
    }
}
