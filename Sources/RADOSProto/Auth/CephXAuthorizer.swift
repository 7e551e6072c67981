import NIOCore

/// A cephx authorizer: how a client proves to an OSD or manager that the monitors gave
/// it a ticket for that service.
///
/// Source: kernel `net/ceph/auth_x.c` (`ceph_x_build_authorizer`, `encrypt_authorizer`,
/// `decrypt_authorizer_challenge`, `decrypt_authorizer_reply`), `auth_x_protocol.h`.
/// - AUTH_REQUEST auth payload: part A in the clear (u8 v1, u64 global_id, u32 service,
///   ticket blob), then part B sealed with the ticket's session key (u8 v2, u64 nonce,
///   u8 have_challenge, u64 server_challenge + 1). Its first byte (1) doubles as the
///   "authorizer" auth mode.
/// - AUTH_REPLY_MORE: the server challenge, sealed without a length prefix (u8 v, u64).
/// - AUTH_REQUEST_MORE: the same authorizer, part B re-sealed with the challenge.
/// - AUTH_DONE: sealed reply (u8 v, u64 nonce + 1, from v2 the connection secret).
package struct CephXAuthorizer: Sendable, CustomStringConvertible {
    private enum State: Sendable {
        case initial
        case sent
        case challenged
        case done
    }

    package let ticket: CephXTicket
    package let globalID: UInt64
    package let nonce: UInt64
    private var state: State = .initial

    package init(ticket: CephXTicket, globalID: UInt64, nonce: UInt64 = UInt64.random(in: 0...UInt64.max)) {
        self.ticket = ticket
        self.globalID = globalID
        self.nonce = nonce
    }

    package var description: String { "CephXAuthorizer(service \(ticket.service), secrets redacted)" }

    package func encode(serverChallenge: UInt64?) throws(RADOSError) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeDencU8(1)
        b.writeDencU64(globalID)
        b.writeDencU32(ticket.service)
        ticket.writeBlob(into: &b)
        var partB = ByteBuffer()
        partB.writeDencU8(2)
        partB.writeDencU64(nonce)
        partB.writeDencBool(serverChallenge != nil)
        partB.writeDencU64(serverChallenge.map { $0 &+ 1 } ?? 0)
        try CephXEnvelope.writeSealed(partB, key: ticket.sessionKey, into: &b)
        return b
    }

    package mutating func initialPayload() throws(RADOSError) -> ByteBuffer {
        state = .sent
        return try encode(serverChallenge: nil)
    }

    package mutating func handleReplyMore(_ payload: ByteBuffer) throws -> ByteBuffer {
        switch state {
        case .sent: break
        case .initial, .challenged, .done: throw MessengerError.protocolViolation("unexpected AUTH_REPLY_MORE")
        }
        var opened = try CephXEnvelope.open(payload, key: ticket.sessionKey)
        let challenge = try withRedactedDecodingErrors {
            _ = try opened.readDencU8()
            return try opened.readDencU64()
        }
        state = .challenged
        return try encode(serverChallenge: challenge)
    }

    package mutating func handleDone(_ payload: ByteBuffer, globalID: UInt64, mode: ConnectionMode) throws -> AuthOutcome {
        switch state {
        case .sent, .challenged: break
        case .initial, .done: throw MessengerError.protocolViolation("unexpected AUTH_DONE")
        }
        var b = payload
        var reply = try CephXEnvelope.readSealed(from: &b, key: ticket.sessionKey)
        let (version, noncePlusOne) = try withRedactedDecodingErrors { (try reply.readDencU8(), try reply.readDencU64()) }
        guard noncePlusOne == nonce &+ 1 else { throw RADOSError(.authenticationFailed, "the service did not prove it knows the ticket's session key") }
        var secret: [UInt8] = []
        if version >= 2 {
            var bytes = try withRedactedDecodingErrors { try reply.readDencBytes(limit: 1 << 10) }
            secret = bytes.readBytes(length: bytes.readableBytes) ?? []
        }
        state = .done
        return AuthOutcome(globalID: self.globalID, mode: mode, sessionKey: ticket.sessionKey, connectionSecret: secret, tickets: [])
    }
}
