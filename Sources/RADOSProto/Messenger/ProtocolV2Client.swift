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
/// SERVER_IDENT; then MESSAGE, ACK, KEEPALIVE2(_ACK). Connections are lossy (the
/// `CEPH_MSG_CONNECT_LOSSY` flag): no session reconnect, a failure closes.
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
        /// Close the connection; the error says why.
        case close(MessengerError)
    }

    private enum State: Sendable {
        case idle
        case awaitingBanner
        case awaitingHello
        case authenticating
        case awaitingSignature(expected: [UInt8])
        case awaitingServerIdent
        case ready(ServerIdentFrame)
        case closed
    }

    package let configuration: Configuration
    private var state: State = .idle
    private var authenticator: Authenticator
    private var inbound = ByteBuffer()
    private var encoder = FrameEncoder()
    private var decoder: FrameDecoder
    private var sentForSignature = ByteBuffer()
    private var receivedForSignature = ByteBuffer()
    private var outcome: AuthOutcome?
    private var myAddress: EntityAddress = .blank
    private var pending: [Message] = []
    private var outSeq: UInt64 = 0
    private var inSeq: UInt64 = 0
    private var ackedInSeq: UInt64 = 0
    /// When the peer last sent bytes (monotonic time from the caller).
    private var lastHeard: NIODeadline?

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
        case .ready: phase = "ready"
        case .closed: phase = "closed"
        }
        return "ProtocolV2Client(\(configuration.peerType) \(configuration.peerAddress), \(phase), out \(outSeq), in \(inSeq))"
    }

    package init(configuration: Configuration, authenticator: Authenticator) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.decoder = FrameDecoder(limits: configuration.limits, recordWireBytes: true)
    }

    package var isReady: Bool {
        switch state {
        case .ready: return true
        case .idle, .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .closed: return false
        }
    }

    /// The outcome of authentication, once known.
    package var authOutcome: AuthOutcome? { outcome }

    // MARK: events

    /// The socket is connected: send our banner.
    package mutating func start(now: NIODeadline? = nil) -> [Action] {
        switch state {
        case .idle:
            lastHeard = now
            let banner = Banner.encode()
            sentForSignature.writeImmutableBuffer(banner)
            state = .awaitingBanner
            return [.write([banner])]
        case .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .ready, .closed:
            return []
        }
    }

    /// Bytes arrived from the peer (at monotonic time `now`, when the caller tracks it).
    package mutating func received(_ bytes: ByteBuffer, now: NIODeadline? = nil) -> [Action] {
        if let now { lastHeard = now }
        switch state {
        case .closed, .idle:
            return []
        case .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .ready:
            break
        }
        if inbound.readableBytes == 0 {
            // Adopt the read buffer: frames decoded from it are slices, not copies.
            inbound = bytes
        } else {
            var bytes = bytes
            inbound.writeBuffer(&bytes)
        }
        var actions: [Action] = []
        do {
            if case .awaitingBanner = state {
                guard let write = try processBanner() else { return [] }
                actions.append(write)
            }
            while true {
                switch state {
                case .closed, .idle, .awaitingBanner:
                    return actions
                case .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .ready:
                    break
                }
                guard let decoded = try decoder.next(from: &inbound) else { break }
                actions += try handle(decoded)
            }
            if inbound.readableBytes == 0 {
                inbound = ByteBuffer()
            } else if inbound.readerIndex > 0 {
                // Delivered frames may still share this storage: move the partial frame
                // that is left into a buffer of its own, so appending to it later does not
                // copy everything already handed out.
                var rest = ByteBuffer()
                rest.reserveCapacity(inbound.readableBytes)
                rest.writeBuffer(&inbound)
                inbound = rest
            }
            if case .ready = state, inSeq > ackedInSeq {
                ackedInSeq = inSeq
                var p = ByteBuffer()
                p.writeDencU64(inSeq)
                actions.append(.write(encodeFrame(Frame(tag: .ack, payload: p))))
            }
            return actions
        } catch let error as MessengerError {
            return actions + fail(error)
        } catch let error as DencError {
            return actions + fail(.malformed(error))
        } catch let error as RADOSError {
            return actions + fail(.authenticationFailed(error.message))
        } catch {
            return actions + fail(.protocolViolation("\(error)"))
        }
    }

    /// Queue or send a message. Before the session is ready it is held back.
    package mutating func send(_ message: Message) -> [Action] {
        switch state {
        case .closed:
            return []
        case .idle, .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent:
            pending.append(message)
            return []
        case .ready:
            return [.write(encodeMessage(message))]
        }
    }

    /// Send a KEEPALIVE2 stamped with the given wall-clock time.
    package mutating func keepalive(seconds: UInt32, nanoseconds: UInt32) -> [Action] {
        switch state {
        case .ready:
            var p = ByteBuffer()
            p.writeDencU32(seconds)
            p.writeDencU32(nanoseconds)
            return [.write(encodeFrame(Frame(tag: .keepalive2, payload: p)))]
        case .idle, .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .closed:
            return []
        }
    }

    /// The periodic timer: closes the connection when the peer has been silent longer
    /// than `silenceLimit`, otherwise sends a KEEPALIVE2 (stamped with wall-clock time)
    /// on an open session. Keepalive acks count as hearing from the peer.
    package mutating func tick(now: NIODeadline, silenceLimit: TimeAmount, seconds: UInt32, nanoseconds: UInt32) -> [Action] {
        switch state {
        case .closed, .idle:
            return []
        case .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .ready:
            if let lastHeard, now - lastHeard > silenceLimit { return fail(.peerSilent) }
            return keepalive(seconds: seconds, nanoseconds: nanoseconds)
        }
    }

    /// The socket closed under us.
    package mutating func peerClosed() -> [Action] {
        switch state {
        case .closed:
            return []
        case .idle, .awaitingBanner, .awaitingHello, .authenticating, .awaitingSignature, .awaitingServerIdent, .ready:
            return fail(.peerClosed)
        }
    }

    // MARK: internals

    private mutating func fail(_ error: MessengerError) -> [Action] {
        state = .closed
        pending.removeAll()
        inbound.clear()
        return [.close(error)]
    }

    private mutating func encodeFrame(_ frame: Frame) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        encoder.encode(frame, into: &out)
        return out
    }

    private mutating func encodeMessage(_ message: Message) -> [ByteBuffer] {
        var m = message
        outSeq += 1
        m.header.seq = outSeq
        m.header.ackSeq = inSeq
        ackedInSeq = inSeq
        return encodeFrame(m.frame())
    }

    /// Frames sent before AUTH_DONE are part of what the peer signs.
    private mutating func encodeSignedFrame(_ frame: Frame) -> [ByteBuffer] {
        let pieces = encodeFrame(frame)
        for piece in pieces { sentForSignature.writeImmutableBuffer(piece) }
        return pieces
    }

    private mutating func processBanner() throws(MessengerError) -> Action? {
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

    private mutating func handle(_ decoded: DecodedFrame) throws -> [Action] {
        let frame = decoded.frame
        switch state {
        case .idle, .awaitingBanner, .closed:
            return []
        case .awaitingHello:
            guard frame.tag == .hello else { throw MessengerError.protocolViolation("expected HELLO, got \(frame.tag)") }
            if let wire = decoded.wireBytes { receivedForSignature.writeImmutableBuffer(wire) }
            let hello = try HelloFrame.decode(frame.payload)
            guard UInt32(hello.entityType) == configuration.peerType.rawValue else {
                throw MessengerError.protocolViolation("peer is entity type \(hello.entityType), expected \(configuration.peerType)")
            }
            // Our address as the peer sees it, with port 0 and our nonce (as the kernel does).
            var mine = hello.peerAddress
            mine.type = EntityAddress.AddressType.any.rawValue
            mine.nonce = configuration.nonce
            switch mine.endpoint {
            case .ipv4(let a, let b, let c, let d, _): mine.endpoint = .ipv4(a, b, c, d, port: 0)
            case .ipv6(let bytes, _, let flow, let scope): mine.endpoint = .ipv6(bytes, port: 0, flowInfo: flow, scopeID: scope)
            case .unspecified, .other: break
            }
            myAddress = mine
            let payload: ByteBuffer
            switch authenticator {
            case .monitor(var auth):
                payload = auth.initialPayload()
                authenticator = .monitor(auth)
            case .service(var auth):
                payload = try auth.initialPayload()
                authenticator = .service(auth)
            }
            let request = AuthRequestFrame(preferredModes: configuration.modes, payload: payload)
            state = .authenticating
            return [.write(encodeSignedFrame(Frame(tag: .authRequest, payload: request.encode())))]

        case .authenticating:
            if let wire = decoded.wireBytes { receivedForSignature.writeImmutableBuffer(wire) }
            switch frame.tag {
            case .authReplyMore:
                let inner = try frame.payload.decodeExactly("AuthReplyMoreFrame") { try $0.readDencBytes(limit: 1 << 20) }
                var more: ByteBuffer
                switch authenticator {
                case .monitor(var auth):
                    more = try auth.handleReplyMore(inner)
                    authenticator = .monitor(auth)
                case .service(var auth):
                    more = try auth.handleReplyMore(inner)
                    authenticator = .service(auth)
                }
                var p = ByteBuffer()
                p.writeDencBytes(more)
                return [.write(encodeSignedFrame(Frame(tag: .authRequestMore, payload: p)))]
            case .authBadMethod:
                let bad = try AuthBadMethodFrame.decode(frame.payload)
                throw MessengerError.authenticationFailed(
                    "the peer refused method \(bad.method) (result \(bad.result)); it allows methods \(bad.allowedMethods) and modes \(bad.allowedModes)")
            case .authDone:
                let done = try AuthDoneFrame.decode(frame.payload)
                guard let mode = ConnectionMode(rawValue: done.mode), configuration.modes.contains(mode) else {
                    throw MessengerError.protocolViolation("the peer chose connection mode \(done.mode)")
                }
                let result: AuthOutcome
                switch authenticator {
                case .monitor(var auth):
                    result = try auth.handleDone(done.payload, globalID: done.globalID, mode: mode)
                    authenticator = .monitor(auth)
                case .service(var auth):
                    result = try auth.handleDone(done.payload, globalID: done.globalID, mode: mode)
                    authenticator = .service(auth)
                }
                outcome = result
                switch mode {
                case .crc:
                    break
                case .secure:
                    let cipher = try FrameCipher(connectionSecret: result.connectionSecret)
                    encoder.protection = .secure(cipher)
                    decoder.protection = .secure(cipher)
                }
                decoder.recordWireBytes = false
                let key = SymmetricKey(data: result.sessionKey.secret)
                let ours = Array(receivedForSignature.withUnsafeReadableBytes { HMAC<SHA256>.authenticationCode(for: $0, using: key) })
                let expected = Array(sentForSignature.withUnsafeReadableBytes { HMAC<SHA256>.authenticationCode(for: $0, using: key) })
                receivedForSignature = ByteBuffer()
                sentForSignature = ByteBuffer()
                state = .awaitingSignature(expected: expected)
                return [.authenticated(result), .write(encodeFrame(Frame(tag: .authSignature, payload: ByteBuffer(bytes: ours))))]
            case .hello, .authRequest, .authRequestMore, .authSignature, .clientIdent, .serverIdent, .identMissingFeatures,
                 .sessionReconnect, .sessionReset, .sessionRetry, .sessionRetryGlobal, .sessionReconnectOK, .wait, .message,
                 .keepalive2, .keepalive2Ack, .ack:
                throw MessengerError.protocolViolation("unexpected \(frame.tag) during authentication")
            }

        case .awaitingSignature(let expected):
            guard frame.tag == .authSignature else { throw MessengerError.protocolViolation("expected AUTH_SIGNATURE, got \(frame.tag)") }
            let theirs = frame.payload.getBytes(at: frame.payload.readerIndex, length: frame.payload.readableBytes) ?? []
            guard theirs.count == expected.count, zip(theirs, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
                throw MessengerError.badSignature
            }
            let ident = ClientIdentFrame(
                addresses: [myAddress], target: configuration.peerAddress, globalID: outcome?.globalID ?? 0, globalSeq: 1,
                supportedFeatures: configuration.supportedFeatures, requiredFeatures: configuration.requiredFeatures,
                flags: ClientIdentFrame.flagLossy, cookie: configuration.cookie)
            state = .awaitingServerIdent
            return [.write(encodeFrame(Frame(tag: .clientIdent, payload: ident.encode())))]

        case .awaitingServerIdent:
            switch frame.tag {
            case .serverIdent:
                let ident = try ServerIdentFrame.decode(frame.payload)
                // Is this who we meant to reach? (A restarted daemon has a new nonce.)
                guard ident.addresses.contains(configuration.peerAddress) else {
                    throw MessengerError.protocolViolation(
                        "wrong peer at address: wanted \(configuration.peerAddress), it is \(ident.addresses.map(\.description).joined(separator: ","))")
                }
                guard configuration.requiredFeatures & ~ident.features == 0 else {
                    throw MessengerError.unsupportedFeatures("the peer lacks features 0x\(String(configuration.requiredFeatures & ~ident.features, radix: 16))")
                }
                state = .ready(ident)
                var actions: [Action] = [.ready(ident)]
                let queued = pending
                pending.removeAll()
                for message in queued { actions.append(.write(encodeMessage(message))) }
                return actions
            case .identMissingFeatures:
                let missing = try frame.payload.decodeExactly("IdentMissingFeatures") { try $0.readDencU64() }
                throw MessengerError.unsupportedFeatures("the peer requires features 0x\(String(missing, radix: 16))")
            case .wait:
                throw MessengerError.protocolViolation("the peer asked us to wait (a racing connection)")
            case .hello, .authRequest, .authBadMethod, .authReplyMore, .authRequestMore, .authDone, .authSignature, .clientIdent,
                 .sessionReconnect, .sessionReset, .sessionRetry, .sessionRetryGlobal, .sessionReconnectOK, .message,
                 .keepalive2, .keepalive2Ack, .ack:
                throw MessengerError.protocolViolation("unexpected \(frame.tag) before SERVER_IDENT")
            }

        case .ready:
            switch frame.tag {
            case .message:
                let segments = frame.segments
                let header = try MessageHeader2.decode(segments[0])
                if header.seq <= inSeq { return [] }  // an old duplicate
                guard header.seq == inSeq + 1 else {
                    throw MessengerError.protocolViolation("message seq \(header.seq), expected \(inSeq + 1)")
                }
                inSeq = header.seq
                func segment(_ i: Int) -> ByteBuffer { i < segments.count ? segments[i] : ByteBuffer() }
                return [.deliver(Message(header: header, front: segment(1), middle: segment(2), data: segment(3)))]
            case .ack:
                _ = try frame.payload.decodeExactly("AckFrame") { try $0.readDencU64() }
                return []
            case .keepalive2:
                // Answer with the same stamp.
                let stamp = try frame.payload.decodeExactly("Keepalive2Frame") { try $0.readDencFixed(8) }
                return [.write(encodeFrame(Frame(tag: .keepalive2Ack, payload: stamp)))]
            case .keepalive2Ack:
                let (sec, nsec) = try frame.payload.decodeExactly("Keepalive2AckFrame") { (try $0.readDencU32(), try $0.readDencU32()) }
                return [.keepaliveAck(seconds: sec, nanoseconds: nsec)]
            case .hello, .authRequest, .authBadMethod, .authReplyMore, .authRequestMore, .authDone, .authSignature, .clientIdent,
                 .serverIdent, .identMissingFeatures, .sessionReconnect, .sessionReset, .sessionRetry, .sessionRetryGlobal,
                 .sessionReconnectOK, .wait:
                throw MessengerError.protocolViolation("unexpected \(frame.tag) on an open session")
            }
        }
    }
}
