import NIOCore

/// Ceph entity types as used for cephx services (`CEPH_ENTITY_TYPE_*`).
package enum CephEntityType: UInt32, Sendable, CaseIterable {
    case mon = 0x01
    case mds = 0x02
    case osd = 0x04
    case client = 0x08
    case mgr = 0x10
    case auth = 0x20
}

/// A ticket for one service: the session key we share with it and the opaque blob
/// (encrypted with the service's rotating secret) we present in authorizers.
///
/// Source: kernel `net/ceph/auth_x.c` (`process_one_ticket`), ceph/ceph
/// `src/auth/cephx/CephxProtocol.cc` (`CephXTicketHandler::verify_service_ticket_reply`).
/// Never printed: `description` names the service and secret id only.
package struct CephXTicket: Sendable, Hashable, CustomStringConvertible {
    package var service: UInt32
    package var sessionKey: CryptoKey
    package var secretID: UInt64
    package var blob: [UInt8]
    /// Validity in seconds as granted by the monitor.
    package var validitySeconds: UInt32

    package var description: String { "CephXTicket(service \(service), secret_id \(secretID), key redacted)" }

    /// `CephXTicketBlob`: u8 v1, u64 secret_id, byte list blob.
    package func writeBlob(into buffer: inout ByteBuffer) {
        buffer.writeDencU8(1)
        buffer.writeDencU64(secretID)
        buffer.writeDencBytes(blob)
    }
}

/// Decoding of `CephXServiceTicketReply` lists.
package enum CephXTicketReply {
    /// u8 v1, u32 count, then per ticket: u32 service, u8 v1, sealed(secret){u8 v1,
    /// CryptoKey session_key, utime validity}, u8 ticket_enc, then the ticket blob as a
    /// byte list, sealed with the service's previous session key when `ticket_enc` is set.
    package static func decode(
        from buffer: inout ByteBuffer,
        secret: CryptoKey,
        previousKeys: [UInt32: CryptoKey] = [:]
    ) throws -> [CephXTicket] {
        try withRedactedDecodingErrors { try decodeTickets(from: &buffer, secret: secret, previousKeys: previousKeys) }
    }

    private static func decodeTickets(from buffer: inout ByteBuffer, secret: CryptoKey, previousKeys: [UInt32: CryptoKey]) throws -> [CephXTicket] {
        let version = try buffer.readDencU8()
        guard version == 1 else { throw DencError(.invalidValue("ticket reply version \(version)"), at: buffer) }
        return try buffer.readDencArray(limit: 32, minimumElementSize: 10) { b in
            let service = try b.readDencU32()
            let ticketVersion = try b.readDencU8()
            guard ticketVersion == 1 else { throw DencError(.invalidValue("service ticket version \(ticketVersion)"), at: b) }
            var inner = try CephXEnvelope.readSealed(from: &b, key: secret)
            let innerVersion = try inner.readDencU8()
            guard innerVersion == 1 else { throw DencError(.invalidValue("service ticket version \(innerVersion)"), at: inner) }
            let sessionKey = try inner.readCryptoKey()
            let validity = try inner.readDencU32()
            _ = try inner.readDencU32()  // validity nanoseconds
            let encrypted = try b.readDencBool()
            var blobBytes: ByteBuffer
            if encrypted {
                guard let previous = previousKeys[service] else {
                    throw RADOSError(.authenticationFailed, "an encrypted ticket arrived for a service we hold no key for")
                }
                var opened = try CephXEnvelope.readSealed(from: &b, key: previous)
                blobBytes = try opened.readDencBytes(limit: 1 << 20)
            } else {
                blobBytes = try b.readDencBytes(limit: 1 << 20)
            }
            let blobVersion = try blobBytes.readDencU8()
            guard blobVersion == 1 else { throw DencError(.invalidValue("ticket blob version \(blobVersion)"), at: blobBytes) }
            let secretID = try blobBytes.readDencU64()
            var blob = try blobBytes.readDencBytes(limit: 1 << 20)
            return CephXTicket(
                service: service, sessionKey: sessionKey, secretID: secretID,
                blob: blob.readBytes(length: blob.readableBytes) ?? [], validitySeconds: validity)
        }
    }
}
