import Foundation
import NIOCore
import Testing
@testable import RADOSProto

/// The monitor address and client.admin key of the configured cluster, read with the
/// project's own configuration and keyring code (every `mon_host` form Ceph accepts, any
/// keyring spelling). A configured cluster that cannot be used is an error, never a skip.
enum MessengerClusterSettings {
    struct Settings {
        var host: String
        var port: Int
        var key: CryptoKey
        var fsid: String
    }

    static func load(conf: String? = ClusterEnvironment.cephConf) throws -> Settings {
        guard let conf else { throw ClusterEnvironment.ToolFailure(message: ClusterEnvironment.skipMessage) }
        let config = try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false)
        // The first monitor's msgr2 address (a bare address stands for v2 and v1 alike).
        guard let address = try config.monitors().first?.first(where: { $0.kind != .v1 }) else {
            throw ClusterEnvironment.ToolFailure(message: "\(conf): the first monitor in mon_host has no msgr2 address (v2: or unprefixed)")
        }
        return Settings(host: address.host, port: Int(address.port), key: try config.secret(), fsid: try config.string("fsid") ?? "")
    }
}

@Suite(.serialized, .requiresCluster) struct MessengerClusterTests {
    private func fsidFromCephTool() throws -> String {
        String(decoding: try ClusterEnvironment.ceph("ceph", ["fsid"]), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func connectAndReadMonMap(modes: [ConnectionMode], expectMode: ConnectionMode) async throws {
        let settings = try MessengerClusterSettings.load()
        let client = try await MonClient.connect(to: .init(host: settings.host, port: settings.port, key: settings.key, modes: modes))
        #expect(client.authOutcome.mode == expectMode)
        #expect(client.authOutcome.globalID > 0)
        let services = Set(client.authOutcome.tickets.map(\.service))
        #expect(services.isSuperset(of: [CephEntityType.auth.rawValue, CephEntityType.mon.rawValue, CephEntityType.osd.rawValue, CephEntityType.mgr.rawValue]))
        #expect(client.serverIdent.addresses.contains { $0.port == UInt16(settings.port) })
        // Other tests may move the epoch meanwhile: ours must lie between two CLI readings.
        let epochBefore = try #require((try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any])?["epoch"] as? Int)
        try await client.subscribe()
        var monmap: MMonMap?
        var osdmap: MOSDMap?
        while monmap == nil || osdmap == nil, let message = try await client.nextMessage() {
            if message.type == MessageType.monMap { monmap = try MMonMap.decode(message) }
            if message.type == MessageType.osdMap { osdmap = try MOSDMap.decode(message) }
        }
        let fsid = try fsidFromCephTool()
        let map = try #require(monmap)
        #expect(map.fsid.description == fsid)
        #expect(map.epoch >= 1)
        // The newest full OSDMap, as `ceph osd dump` reports its epoch.
        let osd = try #require(osdmap)
        #expect(osd.fsid.description == fsid)
        let dump = try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any]
        let epochAfter = try #require(dump?["epoch"] as? Int)
        let ours = osd.fullMaps.keys.max().map(Int.init) ?? Int(osd.newest)
        #expect(epochBefore <= ours && ours <= epochAfter)
        await client.close()
    }

    @Test func secureModeHandshakeAndMonMap() async throws {
        try await connectAndReadMonMap(modes: [.secure, .crc], expectMode: .secure)
    }

    @Test func crcModeHandshakeAndMonMap() async throws {
        try await connectAndReadMonMap(modes: [.crc], expectMode: .crc)
    }

    @Test func monitorCommandMatchesCephCLI() async throws {
        let settings = try MessengerClusterSettings.load()
        let client = try await MonClient.connect(to: .init(host: settings.host, port: settings.port, key: settings.key))
        try await client.subscribe(["monmap": .init(start: 0)])
        let map = try await client.nextMonMap()
        // The osdmap the monitor sends while we wait for the replies must not be lost.
        try await client.subscribe(["osdmap": .init(start: 0)])
        async let ack = client.command(["{\"prefix\": \"fsid\", \"format\": \"json\"}"], fsid: map.fsid)
        async let status = client.command(["{\"prefix\": \"status\", \"format\": \"json\"}"], fsid: map.fsid)
        let tickets = try await client.requestServiceTickets([.osd])
        #expect(tickets.map(\.service) == [CephEntityType.osd.rawValue])
        let output = String(buffer: try await ack.output)
        #expect(output.contains(try fsidFromCephTool()))
        #expect(String(buffer: try await status.output).contains("\"osdmap\""))
        // Other tests run at the same time and move the epoch (a self-managed snapshot
        // bumps it), so ours must lie between two readings of Ceph's own CLI.
        func cliEpoch() throws -> Int? {
            (try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any])?["epoch"] as? Int
        }
        let before = try #require(try cliEpoch())
        let version = try await client.version(of: "osdmap")
        let after = try #require(try cliEpoch())
        #expect(before <= Int(version.newest) && Int(version.newest) <= after)
        #expect(version.oldest >= 1 && version.oldest <= version.newest)
        let next = try #require(try await client.nextMessage())
        #expect(next.type == MessageType.osdMap)
        await #expect(throws: RADOSError.self) { _ = try await client.command(["{\"prefix\": \"no such command\"}"], fsid: map.fsid) }
        await client.close()
    }

    @Test func keepalive2IsAcknowledgedInSecureMode() async throws {
        let settings = try MessengerClusterSettings.load()
        let machine = ProtocolV2Client(
            configuration: ProtocolV2Client.Configuration(peerAddress: EntityAddress.ipv4(settings.host, port: UInt16(settings.port))!, peerType: .mon),
            authenticator: .monitor(CephXMonitorAuth(entityName: "admin", secret: settings.key)))
        let session = try await MessengerSession.open(host: settings.host, port: settings.port, machine: machine, keepaliveInterval: .milliseconds(100))
        #expect(session.authOutcome.mode == .secure)
        var acks = 0
        for await event in session.events {
            if case .keepaliveAck(let seconds, _) = event {
                #expect(abs(Int(seconds) - Int(Date().timeIntervalSince1970)) < 60)
                acks += 1
                if acks == 2 { break }
            }
        }
        #expect(acks == 2)
        try await session.channel.close()
    }

    /// A `mon_host` without the `v2:` prefix (a bare `host:port`, which Ceph accepts) and a
    /// keyring spelled `key=…` give the same monitor session: the settings come from the
    /// project's configuration and keyring code, not from matching the dev cluster's text.
    @Test func bareMonHostAndTerseKeyringStillConnect() async throws {
        let settings = try MessengerClusterSettings.load()
        let conf = try #require(ClusterEnvironment.cephConf)
        let keyringPath = try #require(try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false).keyringCandidates().first)
        let directory = NSTemporaryDirectory() + "swiftrbd-bare-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let terse = try String(contentsOfFile: keyringPath, encoding: .utf8).replacingOccurrences(of: "key = ", with: "key=")
        try terse.write(toFile: directory + "/keyring", atomically: true, encoding: .utf8)
        try "[global]\nmon_host = \(settings.host):\(settings.port)\nkeyring = \(directory)/keyring\n"
            .write(toFile: directory + "/ceph.conf", atomically: true, encoding: .utf8)
        let bare = try MessengerClusterSettings.load(conf: directory + "/ceph.conf")
        #expect(bare.host == settings.host && bare.port == settings.port && bare.key == settings.key)
        let client = try await MonClient.connect(to: .init(host: bare.host, port: bare.port, key: bare.key))
        #expect(client.authOutcome.globalID > 0)
        #expect(client.serverIdent.addresses.contains { $0.port == UInt16(settings.port) })
        await client.close()
    }

    @Test func huntingSkipsADeadMonitor() async throws {
        let settings = try MessengerClusterSettings.load()
        // Port 1 on localhost refuses connections.
        let client = try await MonClient.connect(toAnyOf: [
            .init(host: "127.0.0.1", port: 1, key: settings.key),
            .init(host: settings.host, port: settings.port, key: settings.key),
        ])
        #expect(client.serverIdent.addresses.contains { $0.port == UInt16(settings.port) })
        await client.close()
    }

    @Test func wrongKeyIsRefused() async throws {
        var settings = try MessengerClusterSettings.load()
        settings.key = CryptoKey(secret: Array(repeating: 7, count: 16))
        do {
            _ = try await MonClient.connect(to: .init(host: settings.host, port: settings.port, key: settings.key))
            Issue.record("a wrong key was accepted")
        } catch let error as RADOSError {
            #expect(error.code == .authenticationFailed, "\(error.debugDescription)")
            #expect(!error.debugDescription.contains("0707070707"))
        }
    }
}
