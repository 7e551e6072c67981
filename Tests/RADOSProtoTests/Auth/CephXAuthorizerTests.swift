import NIOCore
import Testing
@testable import RADOSProto

/// The authorizer exchange against a synthetic service that holds the ticket's session key.
@Suite struct CephXAuthorizerTests {
    static let sessionKey = CryptoKey(secret: Array(100..<116))
    static let ticket = CephXTicket(service: CephEntityType.osd.rawValue, sessionKey: sessionKey, secretID: 9, blob: [1, 2, 3], validitySeconds: 3600)

    /// Part A in the clear, then part B sealed with the session key.
    private func partB(_ authorizer: ByteBuffer) throws -> (nonce: UInt64, challenged: Bool, answer: UInt64) {
        var b = authorizer
        #expect(try b.readDencU8() == 1)
        #expect(try b.readDencU64() == 4242)
        #expect(try b.readDencU32() == CephEntityType.osd.rawValue)
        #expect(try b.readDencU8() == 1)
        #expect(try b.readDencU64() == 9)
        var blob = try b.readDencBytes()
        #expect(blob.readBytes(length: 3) == [1, 2, 3])
        var inner = try CephXEnvelope.readSealed(from: &b, key: Self.sessionKey)
        #expect(b.readableBytes == 0)
        #expect(try inner.readDencU8() == 2)
        return (try inner.readDencU64(), try inner.readDencBool(), try inner.readDencU64())
    }

    @Test func challengeRoundAndReply() throws {
        var authorizer = CephXAuthorizer(ticket: Self.ticket, globalID: 4242, nonce: 77)
        let first = try partB(try authorizer.initialPayload())
        #expect(first == (77, false, 0))

        var challenge = ByteBuffer()
        challenge.writeDencU8(1)
        challenge.writeDencU64(1000)
        let sealedChallenge = ByteBuffer(bytes: try CephXEnvelope.seal(challenge, key: Self.sessionKey))
        let second = try partB(try authorizer.handleReplyMore(sealedChallenge))
        #expect(second == (77, true, 1001))

        var reply = ByteBuffer()
        reply.writeDencU8(2)
        reply.writeDencU64(78)
        reply.writeDencBytes(Array(0..<40) as [UInt8])
        var done = ByteBuffer()
        try CephXEnvelope.writeSealed(reply, key: Self.sessionKey, into: &done)
        let outcome = try authorizer.handleDone(done, globalID: 0, mode: .secure)
        #expect(outcome.connectionSecret == Array(0..<40))
        #expect(outcome.sessionKey == Self.sessionKey)
        #expect(!"\(outcome)".contains("100"))
    }

    @Test func serviceThatDoesNotKnowTheKeyIsRejected() throws {
        var authorizer = CephXAuthorizer(ticket: Self.ticket, globalID: 4242, nonce: 77)
        _ = try authorizer.initialPayload()
        var reply = ByteBuffer()
        reply.writeDencU8(1)
        reply.writeDencU64(77)  // not nonce + 1
        var done = ByteBuffer()
        try CephXEnvelope.writeSealed(reply, key: Self.sessionKey, into: &done)
        #expect(throws: RADOSError.self) { try authorizer.handleDone(done, globalID: 0, mode: .crc) }
    }

    /// A ticket list as the monitor builds it, including a ticket blob sealed with the
    /// previous session key (renewal), decoded with the right keys.
    @Test func ticketReplyWithEncryptedBlob() throws {
        let secret = CryptoKey(secret: Array(0..<16))
        let previous = CryptoKey(secret: Array(50..<66))
        let newKey = CryptoKey(createdSeconds: 5, secret: Array(200..<216))
        var reply = ByteBuffer()
        reply.writeDencU8(1)
        reply.writeDencU32(1)
        reply.writeDencU32(CephEntityType.mon.rawValue)
        reply.writeDencU8(1)
        var serviceTicket = ByteBuffer()
        serviceTicket.writeDencU8(1)
        serviceTicket.writeCryptoKey(newKey)
        serviceTicket.writeDencU32(3600)
        serviceTicket.writeDencU32(0)
        try CephXEnvelope.writeSealed(serviceTicket, key: secret, into: &reply)
        reply.writeDencBool(true)
        var blob = ByteBuffer()
        blob.writeDencU8(1)
        blob.writeDencU64(12)
        blob.writeDencBytes([9, 9] as [UInt8])
        var wrapped = ByteBuffer()
        wrapped.writeDencBytes(blob)
        try CephXEnvelope.writeSealed(wrapped, key: previous, into: &reply)

        var input = reply
        let tickets = try CephXTicketReply.decode(from: &input, secret: secret, previousKeys: [CephEntityType.mon.rawValue: previous])
        #expect(input.readableBytes == 0)
        #expect(tickets.count == 1)
        #expect(tickets[0].sessionKey == newKey)
        #expect(tickets[0].secretID == 12)
        #expect(tickets[0].blob == [9, 9])
        #expect(tickets[0].validitySeconds == 3600)
        #expect("\(tickets[0])" == "CephXTicket(service 1, secret_id 12, key redacted)")

        input = reply
        #expect(throws: (any Error).self) { try CephXTicketReply.decode(from: &input, secret: secret) }
        input = reply
        #expect(throws: (any Error).self) { try CephXTicketReply.decode(from: &input, secret: previous) }
    }

    /// A decrypted payload that does not decode must not leak its bytes into the error.
    @Test func decodingErrorsInsideDecryptedDataCarryNoBytes() throws {
        let secret = CryptoKey(secret: Array(0..<16))
        var reply = ByteBuffer()
        reply.writeDencU8(1)
        reply.writeDencU32(1)
        reply.writeDencU32(CephEntityType.mon.rawValue)
        reply.writeDencU8(1)
        var inner = ByteBuffer()
        inner.writeDencU8(1)
        inner.writeBytes([0x01, 0x00, 0xAB, 0xCD, 0xEF])  // a truncated CryptoKey
        try CephXEnvelope.writeSealed(inner, key: secret, into: &reply)
        do {
            _ = try CephXTicketReply.decode(from: &reply, secret: secret)
            Issue.record("decoded a truncated key")
        } catch let error as DencError {
            #expect(error.bytes.isEmpty)
            #expect(!error.radosError.debugDescription.lowercased().contains("ab cd"))
        }
    }
}
