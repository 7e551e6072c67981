import Foundation
import NIOCore
import Testing
@testable import RADOSProto

/// Replays a real OSD authorizer session (ticket, challenge round, signatures, idents)
/// recorded by `IntegrationTests/MessengerRecordingTests.recordOSDSession`.
@Suite struct OSDSessionReplayTests {
    struct Fixture {
        var ticket: CephXTicket
        var globalID: UInt64
        var osd: EntityAddress
        var client: [UInt8] = []
        var server: [UInt8] = []
    }

    static func load() throws -> Fixture {
        var values: [String: String] = [:]
        var client: [UInt8] = []
        var server: [UInt8] = []
        var section = ""
        for line in osdSessionCRC.split(separator: "\n").map(String.init) {
            if line == "[client]" || line == "[server]" { section = line; continue }
            if line.hasPrefix("# "), section.isEmpty {
                let parts = line.dropFirst(2).split(separator: " ", maxSplits: 1)
                if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
                continue
            }
            if section == "[client]" { client += msgrFixtureBytes(line) }
            if section == "[server]" { server += msgrFixtureBytes(line) }
        }
        let key = try CryptoKey(base64: try #require(values["ticket-key"]))
        let ticket = CephXTicket(
            service: CephEntityType.osd.rawValue, sessionKey: key, secretID: UInt64(try #require(values["ticket-secret-id"])) ?? 0,
            blob: msgrFixtureBytes(try #require(values["ticket-blob"])), validitySeconds: 3600)
        let osd = try #require(values["osd"])
        let hostPort = osd.split(separator: "/")
        let colon = try #require(hostPort[0].lastIndex(of: ":"))
        let address = try #require(EntityAddress.ipv4(
            String(hostPort[0][..<colon]), port: UInt16(hostPort[0][hostPort[0].index(after: colon)...]) ?? 0, nonce: UInt32(hostPort[1]) ?? 0))
        return Fixture(ticket: ticket, globalID: UInt64(try #require(values["global-id"])) ?? 0, osd: address, client: client, server: server)
    }

    /// A client set up as the recorded one was (crc mode, its nonces and cookie), so
    /// that it sends the recorded bytes.
    static func machine(_ fixture: Fixture) -> ProtocolV2Client {
        var configuration = ProtocolV2Client.Configuration(peerAddress: fixture.osd, peerType: .osd)
        configuration.modes = [.crc]
        configuration.nonce = 0x1234_5678
        configuration.cookie = 0x0BAD_C0DE_0BAD_C0DE
        return ProtocolV2Client(
            configuration: configuration,
            authenticator: .service(CephXAuthorizer(ticket: fixture.ticket, globalID: fixture.globalID, nonce: 0x5EED_5EED_5EED_5EED)))
    }

    @Test(arguments: [1, 5, 64, 100_000])
    func replay(chunk: Int) throws {
        let fixture = try Self.load()
        #expect(!fixture.server.isEmpty)
        var machine = Self.machine(fixture)
        var written: [UInt8] = []
        var ready: ServerIdentFrame?
        var outcome: AuthOutcome?
        func apply(_ actions: [ProtocolV2Client.Action]) {
            for action in actions {
                switch action {
                case .write(let buffers): for b in buffers { written += b.getBytes(at: b.readerIndex, length: b.readableBytes) ?? [] }
                case .ready(let ident): ready = ident
                case .authenticated(let o): outcome = o
                case .deliver, .keepaliveAck: break
                case .close(let error): Issue.record("closed: \(error)")
                case .reconnect, .resumed, .peerReset: Issue.record("a lossy session reported \(action)")
                }
            }
        }
        apply(machine.start())
        var offset = 0
        while offset < fixture.server.count {
            let end = min(offset + chunk, fixture.server.count)
            apply(machine.received(ByteBuffer(bytes: fixture.server[offset..<end])))
            offset = end
        }
        #expect(outcome?.mode == .crc)
        #expect(ready?.addresses.contains(fixture.osd) == true)
        // Our authorizer, the re-sealed one after the challenge, the signature and the ident:
        // byte for byte what the real OSD accepted.
        #expect(written == fixture.client)
    }
}
