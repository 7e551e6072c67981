import Crypto
import NIOCore

/// The frames of each phase of a msgr2.1 session, as the client receives them: HELLO,
/// the cephx exchange (AUTH_*), AUTH_SIGNATURE, SERVER_IDENT or the reconnect answers,
/// then messages, acks and keepalives on the open session. Each phase accepts only its
/// own frames; anything else is a protocol violation that ends the connection.
/// Source: ceph/ceph `src/msg/async/ProtocolV2.cc` (the client side).
extension ProtocolV2Client {
    mutating func handle(_ decoded: DecodedFrame) throws -> [Action] {
        let frame = decoded.frame
        switch state {
        case .idle, .awaitingBanner, .closed, .disconnected:
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
            // A session the peer knows is resumed (`finish_client_auth`).
            if !configuration.lossy, serverCookie != 0, let last = lastServerIdent {
                state = .awaitingReconnect(last)
                return [.write(encodeFrame(reconnectFrame()))]
            }
            state = .awaitingServerIdent
            return [.write(encodeFrame(clientIdentFrame()))]

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
                serverCookie = ident.cookie
                lastServerIdent = ident
                backoff = .zero
                return [.ready(ident)] + flushPending()
            case .identMissingFeatures:
                let missing = try frame.payload.decodeExactly("IdentMissingFeatures") { try $0.readDencU64() }
                throw MessengerError.unsupportedFeatures("the peer requires features 0x\(String(missing, radix: 16))")
            case .wait:
                _ = try frame.payload.decodeExactly("WaitFrame") { _ in () }
                // A racing connection from the peer (lossless only): back off the longest.
                guard !configuration.lossy else {
                    throw MessengerError.protocolViolation("the peer asked us to wait (a racing connection)")
                }
                return disconnect(pause: configuration.maxBackoff)
            case .hello, .authRequest, .authBadMethod, .authReplyMore, .authRequestMore, .authDone, .authSignature, .clientIdent,
                 .sessionReconnect, .sessionReset, .sessionRetry, .sessionRetryGlobal, .sessionReconnectOK, .message,
                 .keepalive2, .keepalive2Ack, .ack:
                throw MessengerError.protocolViolation("unexpected \(frame.tag) before SERVER_IDENT")
            }

        case .awaitingReconnect(let ident):
            switch frame.tag {
            case .sessionReconnectOK:
                // The peer has our messages up to msgSeq: send the rest again, with their seqs.
                let msgSeq = try frame.payload.decodeExactly("ReconnectOkFrame") { try $0.readDencU64() }
                acknowledged(upTo: msgSeq)
                state = .ready(ident)
                backoff = .zero
                var actions: [Action] = [.resumed]
                for message in unacknowledged { actions.append(.write(encodeNumbered(message))) }
                if let last = unacknowledged.last { outSeq = last.header.seq } else { outSeq = max(outSeq, msgSeq) }
                return actions + flushPending()
            case .sessionReset:
                let full = try frame.payload.decodeExactly("ResetFrame") { try $0.readDencBool() }
                var actions: [Action] = []
                if full {
                    // The peer forgot us: what it may not have is handed back, not resent.
                    let unsent = unacknowledged.map { m -> Message in
                        var m = m
                        m.header.seq = 0
                        m.header.ackSeq = 0
                        return m
                    } + pending
                    unacknowledged.removeAll()
                    pending.removeAll()
                    outSeq = 0
                    sessionResets += 1
                    clientCookie = Self.nextCookie(configuration.cookie, sessionResets)
                    actions.append(.peerReset(unsent: unsent))
                } else {
                    // It never completed the first session: start it, numbering from 1 again.
                    pending = unacknowledged.map { m -> Message in
                        var m = m
                        m.header.seq = 0
                        return m
                    } + pending
                    unacknowledged.removeAll()
                    outSeq = 0
                }
                serverCookie = 0
                connectSeq = 0
                inSeq = 0
                ackedInSeq = 0
                state = .awaitingServerIdent
                return actions + [.write(encodeFrame(clientIdentFrame()))]
            case .sessionRetry:
                let theirs = try frame.payload.decodeExactly("RetryFrame") { try $0.readDencU64() }
                connectSeq = theirs + 1
                return [.write(encodeFrame(reconnectFrame()))]
            case .sessionRetryGlobal:
                let theirs = try frame.payload.decodeExactly("RetryGlobalFrame") { try $0.readDencU64() }
                globalSeq = max(globalSeq, theirs) + 1
                return [.write(encodeFrame(reconnectFrame()))]
            case .wait:
                _ = try frame.payload.decodeExactly("WaitFrame") { _ in () }
                return disconnect(pause: configuration.maxBackoff)
            case .hello, .authRequest, .authBadMethod, .authReplyMore, .authRequestMore, .authDone, .authSignature, .clientIdent,
                 .serverIdent, .identMissingFeatures, .sessionReconnect, .message, .keepalive2, .keepalive2Ack, .ack:
                throw MessengerError.protocolViolation("unexpected \(frame.tag) after SESSION_RECONNECT")
            }

        case .ready:
            switch frame.tag {
            case .message:
                return try receivedMessage(frame).map { [.deliver($0)] } ?? []
            case .ack:
                acknowledged(upTo: try frame.payload.decodeExactly("AckFrame") { try $0.readDencU64() })
                return []
            case .keepalive2:
                // Answer with the same stamp (later, and only the newest, while the
                // transport is blocked: see `outboundBlocked`).
                let stamp = try frame.payload.decodeExactly("Keepalive2Frame") { try $0.readDencFixed(8) }
                if outboundBlocked {
                    deferredKeepaliveStamp = stamp
                    return []
                }
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
    /// A MESSAGE frame on the open session: the message to deliver, or nil for an old
    /// duplicate (a retransmission).
    mutating func receivedMessage(_ frame: Frame) throws -> Message? {
        let segments = frame.segments
        let header = try MessageHeader2.decode(segments[0])
        acknowledged(upTo: header.ackSeq)
        if header.seq <= inSeq { return nil }
        guard header.seq == inSeq + 1 else {
            throw MessengerError.protocolViolation("message seq \(header.seq), expected \(inSeq + 1)")
        }
        inSeq = header.seq
        func segment(_ i: Int) -> ByteBuffer { i < segments.count ? segments[i] : ByteBuffer() }
        return Message(header: header, front: segment(1), middle: segment(2), data: segment(3))
    }
}
