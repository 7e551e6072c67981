import Foundation
import NIOCore
import Testing
@testable import RADOSProto

/// Replays real monitor sessions (recorded by `IntegrationTests/MessengerRecordingTests`)
/// through ``ProtocolV2Client``: our bytes must match what the real monitor accepted, and
/// the monitor's bytes, fed in any fragmentation, must authenticate and deliver the monmap.
@Suite struct SessionReplayTests {
    struct Fixture {
        var key: CryptoKey
        var fsid: String
        var monitor: EntityAddress
        /// (annotation, bytes) per banner or frame.
        var client: [(String, [UInt8])] = []
        var server: [(String, [UInt8])] = []
    }

    static func load(_ mode: ConnectionMode) throws -> Fixture {
        let text = mode == .crc ? monSessionCRC : monSessionSecure
        var key: CryptoKey?
        var fsid = ""
        var monitor: EntityAddress?
        var client: [(String, [UInt8])] = []
        var server: [(String, [UInt8])] = []
        var section = ""
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# key ") { key = try CryptoKey(base64: String(line.dropFirst(6))) }
            if line.hasPrefix("# fsid ") { fsid = String(line.dropFirst(7)) }
            if line.hasPrefix("# mon v2:") {
                let hostPort = line.dropFirst(9).split(separator: "/")[0]
                let parts = hostPort.split(separator: ":")
                monitor = EntityAddress.ipv4(String(parts[0]), port: UInt16(parts[1]) ?? 0)
            }
            if line == "[client]" || line == "[server]" { section = line; continue }
            guard !section.isEmpty else { continue }
            if line.hasPrefix("#") {
                if section == "[client]" { client.append((line, [])) } else { server.append((line, [])) }
            } else if section == "[client]", !client.isEmpty {
                client[client.count - 1].1 += msgrFixtureBytes(line)
            } else if section == "[server]", !server.isEmpty {
                server[server.count - 1].1 += msgrFixtureBytes(line)
            }
        }
        return Fixture(key: try #require(key), fsid: fsid, monitor: try #require(monitor), client: client, server: server)
    }

    /// The recorded session's client side, with its random values pinned.
    static func machine(_ fixture: Fixture, mode: ConnectionMode) -> ProtocolV2Client {
        var configuration = ProtocolV2Client.Configuration(peerAddress: fixture.monitor, peerType: .mon)
        configuration.modes = [mode]
        configuration.nonce = 0x1234_5678
        configuration.cookie = 0x0BAD_C0DE_0BAD_C0DE
        return ProtocolV2Client(
            configuration: configuration,
            authenticator: .monitor(CephXMonitorAuth(entityName: "admin", secret: fixture.key, clientChallenge: 0x0123_4567_89AB_CDEF)))
    }

    @Test(arguments: [(ConnectionMode.crc, 1), (.crc, 7), (.crc, 100_000), (.secure, 1), (.secure, 13), (.secure, 100_000)])
    func replay(mode: ConnectionMode, chunk: Int) throws {
        let fixture = try Self.load(mode)
        var machine = Self.machine(fixture, mode: mode)
        var written: [UInt8] = []
        var outcome: AuthOutcome?
        var ready = false
        var monmaps: [MMonMap] = []
        func apply(_ actions: [ProtocolV2Client.Action]) throws {
            for action in actions {
                switch action {
                case .write(let buffers):
                    for b in buffers { written += b.getBytes(at: b.readerIndex, length: b.readableBytes) ?? [] }
                case .authenticated(let o): outcome = o
                case .ready: ready = true
                case .deliver(let m): if m.type == MessageType.monMap { monmaps.append(try MMonMap.decode(m)) }
                case .keepaliveAck: break
                case .close(let error): Issue.record("closed: \(error)")
                case .reconnect, .resumed, .peerReset: Issue.record("a lossy session reported \(action)")
                }
            }
        }
        try apply(machine.start())
        // The monitor's bytes up to SERVER_IDENT, then (after we subscribe) the rest, each in `chunk`-sized pieces.
        let split = try #require(fixture.server.firstIndex { $0.0.contains("serverIdent") })
        let handshake = fixture.server[...split].flatMap(\.1)
        let rest = fixture.server[(split + 1)...].flatMap(\.1)
        func feed(_ bytes: [UInt8]) throws {
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + chunk, bytes.count)
                try apply(machine.received(ByteBuffer(bytes: bytes[offset..<end])))
                offset = end
            }
        }
        try feed(handshake)
        #expect(ready)
        try apply(machine.send(MMonSubscribe(what: ["monmap": .init(start: 0)], hostname: "fixture").encode()))
        try feed(rest)
        #expect(outcome?.mode == mode)
        #expect(outcome?.tickets.count == 4)
        #expect(ready)
        #expect(monmaps.first?.fsid.description == fixture.fsid)
        // The recorded Pacific monmap (v9) names its one monitor with both addresses; the
        // msgr2 one is where we connected (a lost session would hunt through these).
        #expect(monmaps.first?.monitors.map(\.name) == ["a"])
        let addresses = monmaps.first?.monitors.first?.addresses ?? []
        #expect(addresses.map(\.type) == [EntityAddress.AddressType.msgr2.rawValue, EntityAddress.AddressType.legacy.rawValue])
        #expect(addresses.first?.host == fixture.monitor.host && addresses.first?.port == fixture.monitor.port)
        // Everything we wrote up to and including the subscribe is what the monitor accepted.
        let expected = fixture.client.filter { !$0.0.contains("ack tag 20") }.flatMap(\.1)
        #expect(written.count >= expected.count)
        #expect(Array(written.prefix(expected.count)) == expected)
        #expect(!"\(outcome.map { "\($0)" } ?? "")".contains(fixture.key.secret.map { String(format: "%02x", $0) }.joined()))
    }

    @Test func corruptedServerByteClosesWithTypedError() throws {
        let fixture = try Self.load(.secure)
        for position in [5, 30, 60, 200, 900, 1100] {
            var machine = Self.machine(fixture, mode: .secure)
            _ = machine.start()
            var bytes = fixture.server.flatMap(\.1)
            guard position < bytes.count else { continue }
            bytes[position] ^= 0x40
            let actions = machine.received(ByteBuffer(bytes: bytes))
            let closed = actions.contains { if case .close = $0 { return true } else { return false } }
            #expect(closed, "flipping byte \(position) must close the connection")
        }
    }

    /// Random corruptions of real sessions, fed in random pieces: the machine must close
    /// (or wait for more bytes), never trap, and never become ready on corrupted auth data.
    ///
    /// "Auth data" is every frame from the monitor's HELLO through its SERVER_IDENT: all of
    /// it is covered by a CRC or the GCM tag, and all of it feeds the handshake. (The
    /// banner's feature bits are not checked that way, and a corruption after SERVER_IDENT
    /// may legitimately come after `.ready`.) Seeded: see ``TestSeed``.
    @Test(arguments: [ConnectionMode.crc, .secure])
    func randomCorruptionNeverTraps(mode: ConnectionMode) throws {
        let fixture = try Self.load(mode)
        let clean = fixture.server.flatMap(\.1)
        // Byte ranges of the monitor's banner and of each frame up to SERVER_IDENT.
        let serverIdent = try #require(fixture.server.firstIndex { $0.0.contains("serverIdent") })
        var frames: [Range<Int>] = []
        var start = 0
        for (_, bytes) in fixture.server[...serverIdent] {
            frames.append(start..<(start + bytes.count))
            start += bytes.count
        }
        let banner = frames.removeFirst()
        let seed = TestSeed(Self.self)
        var rng = seed.generator()
        var corruptedAuth = 0
        for round in 0..<150 {
            var bytes = clean
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] ^= UInt8.random(in: 1...255, using: &rng)
            }
            if Bool.random(using: &rng) { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng))) }
            // What reaches the machine differs from the real session here.
            let changed = bytes.indices.filter { bytes[$0] != clean[$0] }
            let firstAuthChange = changed.first { $0 >= banner.upperBound && $0 < start }
            var machine = Self.machine(fixture, mode: mode)
            _ = machine.start()
            var ready = false
            var closed = false
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + Int.random(in: 1...300, using: &rng))
                for action in machine.received(ByteBuffer(bytes: bytes[offset..<end])) {
                    switch action {
                    case .ready: ready = true
                    case .close: closed = true
                    default: break
                    }
                }
                offset = end
            }
            guard let firstAuthChange else { continue }
            corruptedAuth += 1
            let context = "\(mode) round \(round): bytes \(changed) of \(clean.count) changed, \(bytes.count) fed; \(seed)"
            #expect(!ready, "became ready on corrupted auth data: \(context)")
            // With the banner intact, the corrupted frame, once complete, must end the session.
            let frame = try #require(frames.first { $0.contains(firstAuthChange) })
            if !changed.contains(where: banner.contains), frame.upperBound <= bytes.count {
                #expect(closed, "a corrupted, complete handshake frame did not close the session: \(context)")
            }
        }
        // The handshake is most of a session's bytes: 150 rounds always hit it (else the check above checked nothing).
        #expect(corruptedAuth > 0, "no round corrupted the handshake: \(seed)")
    }
}
