import NIOCore
import Testing
@testable import RADOSProto

@Suite struct CephXCryptoTests {
    /// u16 type 1, u32 sec 0x5f000000, u32 nsec 7, u16 len 16, key 00…0f.
    static let keyringKey = "AQAAAABfBwAAABAAAAECAwQFBgcICQoLDA0ODw=="

    @Test func decodesKeyringKeyAndRedactsIt() throws {
        let key = try CryptoKey(base64: Self.keyringKey)
        #expect(key.type == 1)
        #expect(key.createdSeconds == 0x5F00_0000)
        #expect(key.secret == Array(0..<16))
        #expect(!"\(key)".contains("0102"))
        #expect("\(key)" == "CryptoKey(redacted)")
        #expect(throws: RADOSError.self) { try CryptoKey(base64: "not base64!") }
        #expect(throws: RADOSError.self) { try CryptoKey(base64: "AQAA") }
    }

    /// Known answer computed with Python `cryptography` (AES-128-CBC, PKCS#7, IV
    /// "cephsageyudagreg") over header v1 + magic + server 0x1122334455667788 + client
    /// 0x0102030405060708, then XOR of the u64 words of `u32 len + ciphertext`.
    @Test func challengeProofKnownAnswer() throws {
        let key = try CryptoKey(base64: Self.keyringKey)
        var payload = ByteBuffer()
        payload.writeDencU64(0x1122_3344_5566_7788)
        payload.writeDencU64(0x0102_0304_0506_0708)
        let ct = try CephXEnvelope.seal(payload, key: key)
        #expect(ByteBuffer(bytes: ct).msgrHex == "5e4c58eba0ea931c02ef662853edc6c2f3f2a82bbd504322c31b1aea04d0c8b0")
        let proof = try CephXMonitorAuth.challengeProof(secret: key, serverChallenge: 0x1122_3344_5566_7788, clientChallenge: 0x0102_0304_0506_0708)
        #expect(proof == 0x028C_4A6C_FC16_576E)
        var opened = try CephXEnvelope.open(ByteBuffer(bytes: ct), key: key)
        #expect(try opened.readDencU64() == 0x1122_3344_5566_7788)
    }

    @Test func wrongKeyIsAnAuthenticationFailure() throws {
        let key = try CryptoKey(base64: Self.keyringKey)
        let other = CryptoKey(secret: Array(repeating: 9, count: 16))
        let ct = try CephXEnvelope.seal(ByteBuffer(string: "payload"), key: key)
        #expect(throws: RADOSError.self) { try CephXEnvelope.open(ByteBuffer(bytes: ct), key: other) }
    }
}
