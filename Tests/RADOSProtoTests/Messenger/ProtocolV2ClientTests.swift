import NIOCore
import Testing
@testable import RADOSProto

/// The connection state machine against synthetic and replayed peers.
@Suite struct ProtocolV2ClientTests {
    private static let monitor = EntityAddress.ipv4("127.0.0.1", port: 3300)!

    private func client(challenge: UInt64 = 0x0123_4567_89AB_CDEF, key: CryptoKey? = nil, peer: EntityAddress = monitor) throws -> ProtocolV2Client {
        var configuration = ProtocolV2Client.Configuration(peerAddress: peer, peerType: .mon)
        configuration.modes = [.crc]
        configuration.nonce = 0x1234_5678
        configuration.cookie = 0x0BAD_C0DE_0BAD_C0DE
        let secret = try key ?? SessionReplayTests.load(.crc).key
        return ProtocolV2Client(configuration: configuration, authenticator: .monitor(CephXMonitorAuth(entityName: "admin", secret: secret, clientChallenge: challenge)))
    }

    private func closeError(_ actions: [ProtocolV2Client.Action]) -> MessengerError? {
        for action in actions { if case .close(let error) = action { return error } }
        return nil
    }

    /// A server banner and HELLO, then `frame`, in crc mode.
    private func serverBytes(then frame: Frame) -> ByteBuffer {
        var bytes = Banner.encode()
        var encoder = FrameEncoder()
        var hello = encoder.encode(Frame(tag: .hello, payload: HelloFrame(entityType: 1, peerAddress: EntityAddress.ipv4("127.0.0.1", port: 40000, type: .any)!).encode()))
        bytes.writeBuffer(&hello)
        var next = encoder.encode(frame)
        bytes.writeBuffer(&next)
        return bytes
    }

    @Test func startsWithOurBannerAndAnswersHelloWithAuthRequest() throws {
        var machine = try client()
        let first = machine.start()
        guard case .write(let banner) = first.first else { Issue.record("no banner"); return }
        #expect(banner.first?.msgrHex == "636570682076320a" + "1000" + "0100000000000000" + "0100000000000000")
        var input = Banner.encode()
        var encoder = FrameEncoder()
        var hello = encoder.encode(Frame(tag: .hello, payload: HelloFrame(entityType: 1, peerAddress: EntityAddress.ipv4("127.0.0.1", port: 40000, type: .any)!).encode()))
        input.writeBuffer(&hello)
        let actions = machine.received(input)
        // HELLO after the banner, then AUTH_REQUEST after the server's HELLO.
        #expect(actions.count == 2)
        guard case .write(let authRequest) = actions.last else { Issue.record("no auth request"); return }
        var decoder = FrameDecoder()
        var wire = authRequest.first ?? ByteBuffer()
        let frame = try #require(try decoder.next(from: &wire))
        #expect(frame.frame.tag == .authRequest)
        // u32 method 2, modes [1], auth payload: mode 10, client "admin", global_id 0.
        #expect(frame.frame.payload.msgrHex == "02000000" + "0100000001000000" + "16000000" + "0a" + "08000000" + "0500000061646d696e" + "0000000000000000")
    }

    @Test func authBadMethodClosesWithAuthenticationFailure() throws {
        var machine = try client()
        _ = machine.start()
        var bad = ByteBuffer()
        bad.writeDencU32(2)
        bad.writeDencI32(-95)
        bad.writeDencArray([UInt32(2)]) { $0.writeDencU32($1) }
        bad.writeDencArray([UInt32(2)]) { $0.writeDencU32($1) }
        let error = closeError(machine.received(serverBytes(then: Frame(tag: .authBadMethod, payload: bad))))
        guard case .authenticationFailed(let text) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(text.contains("modes [2]"))
        #expect(error?.radosError.code == .authenticationFailed)
    }

    @Test func unexpectedFramesAndTagsClose() throws {
        var machine = try client()
        _ = machine.start()
        let error = closeError(machine.received(serverBytes(then: Frame(tag: .message, payload: ByteBuffer(bytes: [UInt8](repeating: 0, count: 41))))))
        #expect(error == .protocolViolation("unexpected message during authentication"))
        // Nothing happens after close.
        #expect(machine.received(ByteBuffer(bytes: [1, 2, 3])).isEmpty)
        #expect(machine.send(MMonSubscribe(what: [:]).encode()).isEmpty)
    }

    @Test func msgr1PeerIsRefused() throws {
        var machine = try client()
        _ = machine.start()
        let error = closeError(machine.received(ByteBuffer(string: "ceph v027 and more bytes")))
        #expect(error == .badBanner("the peer speaks msgr1 only"))
    }

    @Test func peerRequiringUnknownFeaturesIsRefused() throws {
        var machine = try client()
        _ = machine.start()
        let error = closeError(machine.received(Banner.encode(supported: 3, required: 3)))
        #expect(error == .unsupportedFeatures("the peer requires msgr2 features 0x3"))
    }

    /// Replaying the monitor's bytes with a different client challenge changes what we
    /// sent, so the monitor's AUTH_SIGNATURE no longer matches: the connection must close.
    @Test func signatureOverDifferentBytesIsRejected() throws {
        let fixture = try SessionReplayTests.load(.crc)
        var machine = try client(challenge: 42, key: fixture.key, peer: fixture.monitor)
        _ = machine.start()
        let actions = machine.received(ByteBuffer(bytes: fixture.server.flatMap(\.1)))
        #expect(closeError(actions) == .badSignature)
        #expect(!actions.contains { if case .ready = $0 { return true } else { return false } })
    }

    @Test func wrongKeyFailsToOpenTheTicket() throws {
        let fixture = try SessionReplayTests.load(.crc)
        var machine = try client(key: CryptoKey(secret: Array(repeating: 3, count: 16)), peer: fixture.monitor)
        _ = machine.start()
        let error = closeError(machine.received(ByteBuffer(bytes: fixture.server.flatMap(\.1))))
        guard case .authenticationFailed = error else { Issue.record("got \(String(describing: error))"); return }
    }

    /// Once open, ticks send KEEPALIVE2; a peer silent past the limit is closed.
    @Test func keepaliveTicksAndSilentPeer() throws {
        let fixture = try SessionReplayTests.load(.crc)
        var machine = try client(key: fixture.key, peer: fixture.monitor)
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
        _ = machine.start(now: t0)
        let split = try #require(fixture.server.firstIndex { $0.0.contains("serverIdent") })
        let actions = machine.received(ByteBuffer(bytes: fixture.server[...split].flatMap(\.1)), now: t0)
        #expect(actions.contains { if case .ready = $0 { return true } else { return false } })
        let tick = machine.tick(now: t0 + .seconds(10), silenceLimit: .seconds(30), seconds: 1_700_000_000, nanoseconds: 5)
        guard case .write(let pieces) = tick.first else { Issue.record("no keepalive"); return }
        var wire = pieces.first ?? ByteBuffer()
        var decoder = FrameDecoder()
        let frame = try #require(try decoder.next(from: &wire))
        #expect(frame.frame.tag == .keepalive2)
        #expect(frame.frame.payload.msgrHex == "00f1536505000000")
        #expect(closeError(machine.tick(now: t0 + .seconds(31), silenceLimit: .seconds(30), seconds: 0, nanoseconds: 0)) == .peerSilent)
        #expect(MessengerError.peerSilent.radosError.code == .timedOut)
    }
}
