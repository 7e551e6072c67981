import NIOCore

/// What a successful authentication hands to the messenger.
package struct AuthOutcome: Sendable, CustomStringConvertible {
    package var globalID: UInt64
    package var mode: ConnectionMode
    /// Key for AUTH_SIGNATURE (HMAC-SHA256).
    package var sessionKey: CryptoKey
    /// Secure-mode key material (empty in crc mode).
    package var connectionSecret: [UInt8]
    /// Tickets obtained (monitor authentication only): AUTH plus the requested services.
    package var tickets: [CephXTicket]
    /// The monitor's cephx challenge for this session (not secret); renewing the AUTH
    /// ticket on the same session proves the key against it again.
    package var serverChallenge: UInt64 = 0

    package var description: String { "AuthOutcome(global_id \(globalID), mode \(mode), \(tickets.count) tickets, secrets redacted)" }
}

/// Client side of cephx against a monitor, over msgr2 auth frames.
///
/// Source: kernel `net/ceph/auth.c` (`ceph_auth_get_request`), `net/ceph/auth_x.c`
/// (`ceph_x_build_request`, `handle_auth_session_key`), ceph/ceph `doc/dev/cephx.rst`.
/// 1. AUTH_REQUEST payload: u8 auth mode 10 (monitor), EntityName (u32 type, string id),
///    u64 global_id.
/// 2. AUTH_REPLY_MORE: the server challenge (u8 v1, u64 challenge).
/// 3. AUTH_REQUEST_MORE: u16 op 0x0100 (GET_AUTH_SESSION_KEY), CephXAuthenticate v3 (u64
///    client challenge, u64 proof, previous AUTH ticket blob, u32 other service keys, bool
///    old_ticket_may_be_omitted; ceph/ceph `src/auth/cephx/CephxProtocol.h`). The
///    proof XORs the little-endian u64 words of `u32 length + AES-CBC(secret, header +
///    server challenge + client challenge)`.
/// 4. AUTH_DONE: u16 op, s32 result, the AUTH ticket sealed with our secret, then a byte
///    list holding the connection secret sealed with the new session key, then a byte
///    list holding the service tickets sealed with that session key.
package struct CephXMonitorAuth: Sendable, CustomStringConvertible {
    package static let authModeMonitor: UInt8 = 10
    package static let opGetAuthSessionKey: UInt16 = 0x0100
    package static let opGetPrincipalSessionKey: UInt16 = 0x0200

    private enum State: Sendable {
        case initial
        case requested
        case challenged(serverChallenge: UInt64)
        case done
    }

    package let entityName: String
    private let secret: CryptoKey
    package var wantKeys: UInt32
    package var globalID: UInt64
    private var state: State = .initial
    private var nextChallenge: UInt64?
    /// The AUTH ticket of an earlier session: presenting it with our old global id lets the
    /// monitor hand that id back to us (secure global_id reclaim, `CephxServiceHandler`).
    private let previousAuthTicket: CephXTicket?

    /// - Parameters:
    ///   - entityName: the id after `client.` (e.g. `admin`).
    ///   - clientChallenge: fixed challenge for known-answer tests; random when nil.
    package init(entityName: String, secret: CryptoKey, wantKeys: UInt32 = CephEntityType.mon.rawValue | CephEntityType.osd.rawValue | CephEntityType.mgr.rawValue | CephEntityType.auth.rawValue, globalID: UInt64 = 0, previousAuthTicket: CephXTicket? = nil, clientChallenge: UInt64? = nil) {
        self.entityName = entityName
        self.previousAuthTicket = previousAuthTicket
        self.secret = secret
        self.wantKeys = wantKeys
        self.globalID = globalID
        self.nextChallenge = clientChallenge
    }

    package var description: String { "CephXMonitorAuth(client.\(entityName), key redacted)" }

    /// The auth payload of AUTH_REQUEST.
    package mutating func initialPayload() -> ByteBuffer {
        var b = ByteBuffer()
        b.writeDencU8(Self.authModeMonitor)
        b.writeDencU32(CephEntityType.client.rawValue)
        b.writeDencString(entityName)
        b.writeDencU64(globalID)
        state = .requested
        return b
    }

    /// The cephx proof that we know the secret: XOR of the u64 words of the sealed challenges.
    package static func challengeProof(secret: CryptoKey, serverChallenge: UInt64, clientChallenge: UInt64) throws(RADOSError) -> UInt64 {
        var blob = ByteBuffer()
        blob.writeDencU64(serverChallenge)
        blob.writeDencU64(clientChallenge)
        var sealed = ByteBuffer()
        try CephXEnvelope.writeSealed(blob, key: secret, into: &sealed)
        var proof: UInt64 = 0
        while let word = sealed.readInteger(endianness: .little, as: UInt64.self) { proof ^= word }
        return proof
    }

    /// Handles AUTH_REPLY_MORE's payload (the server challenge); returns AUTH_REQUEST_MORE's payload.
    package mutating func handleReplyMore(_ payload: ByteBuffer) throws -> ByteBuffer {
        switch state {
        case .requested:
            break
        case .initial, .challenged, .done:
            throw MessengerError.protocolViolation("unexpected AUTH_REPLY_MORE from the monitor")
        }
        let serverChallenge: UInt64 = try payload.decodeExactly("CephXServerChallenge") { b in
            _ = try b.readDencU8()
            return try b.readDencU64()
        }
        let clientChallenge = nextChallenge ?? UInt64.random(in: 1...UInt64.max)
        nextChallenge = nil
        let b = try Self.authenticateRequest(
            secret: secret, serverChallenge: serverChallenge, clientChallenge: clientChallenge, previousAuthTicket: previousAuthTicket, wantKeys: wantKeys)
        state = .challenged(serverChallenge: serverChallenge)
        return b
    }

    /// GET_AUTH_SESSION_KEY request: op, then CephXAuthenticate v3. With a previous AUTH
    /// ticket it renews that ticket (and the monitor reclaims our global_id securely).
    package static func authenticateRequest(
        secret: CryptoKey, serverChallenge: UInt64, clientChallenge: UInt64 = UInt64.random(in: 1...UInt64.max),
        previousAuthTicket: CephXTicket?, wantKeys: UInt32
    ) throws(RADOSError) -> ByteBuffer {
        let proof = try challengeProof(secret: secret, serverChallenge: serverChallenge, clientChallenge: clientChallenge)
        var b = ByteBuffer()
        b.writeDencU16(opGetAuthSessionKey)
        b.writeDencU8(3)
        b.writeDencU64(clientChallenge)
        b.writeDencU64(proof)
        if let previousAuthTicket {
            previousAuthTicket.writeBlob(into: &b)
        } else {
            // No previous AUTH ticket: v1, secret_id 0, empty blob.
            b.writeDencU8(1)
            b.writeDencU64(0)
            b.writeDencU32(0)
        }
        b.writeDencU32(wantKeys & ~CephEntityType.auth.rawValue)
        // v3: old_ticket_may_be_omitted. Without it a Pacific monitor treats us as a legacy
        // client (insecure global_id reclaim) and drops the session right after auth.
        b.writeDencBool(true)
        return b
    }

    /// Handles AUTH_DONE's payload.
    package mutating func handleDone(_ payload: ByteBuffer, globalID: UInt64, mode: ConnectionMode) throws -> AuthOutcome {
        let serverChallenge: UInt64
        switch state {
        case .challenged(let challenge):
            serverChallenge = challenge
        case .initial, .requested, .done:
            throw MessengerError.protocolViolation("unexpected AUTH_DONE from the monitor")
        }
        // A reclaimed session's AUTH ticket comes sealed with the previous session key.
        var outcome = try Self.decodeAuthenticateReply(payload, secret: secret, previousTickets: previousAuthTicket.map { [$0] } ?? [])
        outcome.globalID = globalID
        outcome.mode = mode
        outcome.serverChallenge = serverChallenge
        self.globalID = globalID
        state = .done
        return outcome
    }

    /// Decodes a GET_AUTH_SESSION_KEY reply (AUTH_DONE's payload, or an MAuthReply's
    /// when renewing, where the AUTH ticket blob comes sealed with the previous key).
    package static func decodeAuthenticateReply(_ payload: ByteBuffer, secret: CryptoKey, previousTickets: [CephXTicket]) throws -> AuthOutcome {
        var previousKeys: [UInt32: CryptoKey] = [:]
        for ticket in previousTickets { previousKeys[ticket.service] = ticket.sessionKey }
        var b = payload
        let op = try b.readDencU16()
        let result = try b.readDencI32()
        guard op == opGetAuthSessionKey else { throw DencError(.invalidValue("cephx reply op \(op)"), at: b) }
        guard result == 0 else { throw RADOSError(.authenticationFailed, "the monitor refused our key", errno: Int32(clamping: abs(Int(result)))) }
        var tickets = try CephXTicketReply.decode(from: &b, secret: secret, previousKeys: previousKeys)
        guard let auth = tickets.first(where: { $0.service == CephEntityType.auth.rawValue }) else {
            throw RADOSError(.authenticationFailed, "the monitor's reply holds no AUTH ticket")
        }
        var connectionSecret: [UInt8] = []
        try withRedactedDecodingErrors {
            if b.readableBytes > 0 {
                var secretList = try b.readDencBytes(limit: 1 << 16)
                if secretList.readableBytes > 0 {
                    var opened = try CephXEnvelope.readSealed(from: &secretList, key: auth.sessionKey)
                    var bytes = try opened.readDencBytes(limit: 1 << 10)
                    connectionSecret = bytes.readBytes(length: bytes.readableBytes) ?? []
                }
                var serviceList = try b.readDencBytes(limit: 1 << 20)
                if serviceList.readableBytes > 0 {
                    tickets += try CephXTicketReply.decode(from: &serviceList, secret: auth.sessionKey, previousKeys: previousKeys)
                }
            }
        }
        return AuthOutcome(globalID: 0, mode: .crc, sessionKey: auth.sessionKey, connectionSecret: connectionSecret, tickets: tickets)
    }
}
