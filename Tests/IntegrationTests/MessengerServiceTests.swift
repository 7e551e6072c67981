import Foundation
import NIOCore
import Testing
@testable import RADOSProto

/// Authorizers (with the challenge round) against a real OSD and the active manager,
/// using the service tickets the monitor handed out.
@Suite(.serialized, .requiresCluster) struct MessengerServiceTests {
    /// The v2 address of `ceph osd dump` / `ceph mgr dump` JSON's addrvec.
    private func v2Address(_ addrvec: Any?) -> EntityAddress? {
        guard let vec = (addrvec as? [String: Any])?["addrvec"] as? [[String: Any]],
              let v2 = vec.first(where: { $0["type"] as? String == "v2" }),
              let addr = v2["addr"] as? String, let nonce = v2["nonce"] as? Int,
              let colon = addr.lastIndex(of: ":"), let port = UInt16(addr[addr.index(after: colon)...])
        else { return nil }
        return EntityAddress.ipv4(String(addr[..<colon]), port: port, type: .msgr2, nonce: UInt32(nonce))
    }

    private func connect(service: CephEntityType, address: EntityAddress, modes: [ConnectionMode], expect: ConnectionMode) async throws {
        let settings = try MessengerClusterSettings.load()
        let mon = try await MonClient.connect(to: .init(host: settings.host, port: settings.port, key: settings.key))
        defer { Task { await mon.close() } }
        let ticket = try #require(mon.authOutcome.tickets.first { $0.service == service.rawValue })
        var configuration = ProtocolV2Client.Configuration(peerAddress: address, peerType: service)
        configuration.modes = modes
        let machine = ProtocolV2Client(
            configuration: configuration,
            authenticator: .service(CephXAuthorizer(ticket: ticket, globalID: mon.authOutcome.globalID)))
        let session = try await MessengerSession.open(host: address.host ?? "", port: Int(address.port ?? 0), machine: machine)
        #expect(session.authOutcome.mode == expect)
        #expect(session.serverIdent.addresses.contains(address))
        try await session.channel.close()
    }

    @Test func osdAuthorizerCRCMode() async throws {
        let dump = try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any]
        let osd = try #require((dump?["osds"] as? [[String: Any]])?.first)
        let address = try #require(v2Address(osd["public_addrs"]))
        try await connect(service: .osd, address: address, modes: [.crc, .secure], expect: .crc)
        try await connect(service: .osd, address: address, modes: [.secure], expect: .secure)
    }

    /// Fresh tickets through MAuth (CEPHX_GET_PRINCIPAL_SESSION_KEY), then used on an OSD.
    @Test func renewedOSDTicketViaMAuth() async throws {
        let settings = try MessengerClusterSettings.load()
        let mon = try await MonClient.connect(to: .init(host: settings.host, port: settings.port, key: settings.key))
        let tickets = try await mon.requestServiceTickets([.osd, .mgr])
        #expect(Set(tickets.map(\.service)) == [CephEntityType.osd.rawValue, CephEntityType.mgr.rawValue])
        let fresh = try #require(tickets.first { $0.service == CephEntityType.osd.rawValue })
        let dump = try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any]
        let osd = try #require((dump?["osds"] as? [[String: Any]])?.last)
        let address = try #require(v2Address(osd["public_addrs"]))
        let session = try await MessengerSession.open(to: address, peerType: .osd, ticket: fresh, globalID: mon.authOutcome.globalID)
        #expect(session.authOutcome.mode == .crc)
        #expect(session.serverIdent.addresses.contains(address))
        try await session.channel.close()
        await mon.close()
    }

    /// AUTH ticket renewal on the same session (GET_AUTH_SESSION_KEY with the old ticket),
    /// then a service ticket request signed with the renewed AUTH ticket.
    @Test func authTicketRenewal() async throws {
        let settings = try MessengerClusterSettings.load()
        let mon = try await MonClient.connect(to: .init(host: settings.host, port: settings.port, key: settings.key))
        let old = try #require(mon.authOutcome.tickets.first { $0.service == CephEntityType.auth.rawValue })
        let renewed = try await mon.renewTickets()
        let services = Set(renewed.map(\.service))
        #expect(services.isSuperset(of: [CephEntityType.auth.rawValue, CephEntityType.mon.rawValue, CephEntityType.osd.rawValue]))
        let auth = try #require(renewed.first { $0.service == CephEntityType.auth.rawValue })
        #expect(auth.sessionKey != old.sessionKey)
        // The renewed tickets replace the old ones where the Objecter reads them.
        #expect(mon.authOutcome.tickets.first { $0.service == CephEntityType.auth.rawValue } == auth)
        let osd = try #require(renewed.first { $0.service == CephEntityType.osd.rawValue })
        let dump = try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any]
        let address = try #require(v2Address((dump?["osds"] as? [[String: Any]])?.first?["public_addrs"]))
        let session = try await MessengerSession.open(to: address, peerType: .osd, ticket: osd, globalID: mon.authOutcome.globalID)
        try await session.channel.close()
        await mon.close()
    }

    @Test func managerAuthorizerSecureMode() async throws {
        let dump = try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["mgr", "dump", "--format", "json"])) as? [String: Any]
        let address = try #require(v2Address(dump?["active_addrs"]))
        try await connect(service: .mgr, address: address, modes: [.secure, .crc], expect: .secure)
    }
}
