import NIOCore

/// CEPHX_GET_PRINCIPAL_SESSION_KEY: asking the monitor for (renewed) service tickets
/// with the AUTH ticket, sent inside an `MAuth` message once the session is up.
///
/// Source: kernel `net/ceph/auth_x.c` (`ceph_x_build_request`, `ceph_x_handle_reply`),
/// ceph/ceph `src/auth/cephx/CephxClientHandler.cc`. Request: u16 op 0x0200, an
/// authorizer built on the AUTH ticket (no challenge), then CephXServiceTicketRequest
/// (u8 v1, u32 wanted service bits). Reply: u16 op, s32 result, then a ticket list
/// sealed with the AUTH session key.
package enum CephXServiceTicketRequest {
    package static func encode(authTicket: CephXTicket, globalID: UInt64, services: UInt32, nonce: UInt64 = UInt64.random(in: 0...UInt64.max)) throws(RADOSError) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeDencU16(CephXMonitorAuth.opGetPrincipalSessionKey)
        var authorizer = try CephXAuthorizer(ticket: authTicket, globalID: globalID, nonce: nonce).encode(serverChallenge: nil)
        b.writeBuffer(&authorizer)
        b.writeDencU8(1)
        b.writeDencU32(services)
        return b
    }

    package static func decodeReply(_ payload: ByteBuffer, authTicket: CephXTicket, previous: [CephXTicket] = []) throws -> [CephXTicket] {
        var b = payload
        let op = try b.readDencU16()
        let result = try b.readDencI32()
        guard op == CephXMonitorAuth.opGetPrincipalSessionKey else { throw DencError(.invalidValue("cephx reply op \(op)"), at: b) }
        guard result == 0 else { throw RADOSError(.authenticationFailed, "the monitor refused to issue service tickets", errno: Int32(clamping: abs(Int(result)))) }
        var previousKeys: [UInt32: CryptoKey] = [:]
        for ticket in previous { previousKeys[ticket.service] = ticket.sessionKey }
        return try CephXTicketReply.decode(from: &b, secret: authTicket.sessionKey, previousKeys: previousKeys)
    }
}
