import Testing
@testable import RADOSProto

@Suite struct KeyringTests {
    // A key as `ceph-authtool --gen-print-key` prints it: type 1, created, len 16, AES key.
    static let key = "AQDKTQxrWlBINRAAhz9Zyq4jBEYg/+HMWcYJMQ=="

    @Test func decodesCryptoKey() throws {
        let secret = try CryptoKey(keyringBase64: Self.key)
        #expect(secret.type == 1)
        #expect(secret.secret.count == 16)
        #expect(secret.secret.first == 0x87)
        #expect(secret.createdSeconds == 0x6b0c_4dca)
        #expect(secret.base64 == Self.key)
    }

    @Test func secretIsRedactedEverywhere() throws {
        let secret = try CryptoKey(keyringBase64: Self.key)
        #expect(secret.description == "CryptoKey(redacted)")
        #expect(String(describing: secret) == "CryptoKey(redacted)")
        #expect(!secret.description.contains("AQD") && !secret.debugDescription.contains("AQD"))
        #expect(!String(reflecting: secret).contains("135"))
        #expect(Mirror(reflecting: secret).children.isEmpty)
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("135") && !dumped.contains("AQD"))
    }

    @Test func parsesKeyringWithCaps() throws {
        let text = """
            [client.admin]
            \tkey = \(Self.key)
            \tcaps mds = "allow *"
            \tcaps mon = "allow *"
            \tcaps osd = "allow *"
            [client.foo]
            \tkey = \(Self.key)
            \tauid = 0
            """
        let keyring = try Keyring.parse(text, origin: "k")
        let admin = try #require(keyring[ConfEntityName(type: "client", id: "admin")])
        #expect(admin.secret == (try CryptoKey(keyringBase64: Self.key)))
        #expect(admin.caps == ["mds": "allow *", "mon": "allow *", "osd": "allow *"])
        #expect(keyring[ConfEntityName(type: "client", id: "foo")]?.secret != nil)
    }

    @Test(arguments: [
        ("[client.admin]\nkey = AQDKTQxrWlBINRAAhz9Zyq4jBEYg\n", 2),  // truncated
        ("[client.admin]\nkey = !!!notbase64!!!\n", 2),
        ("[client.admin]\nkey = \(key)\nbogus = 1\n", 3),
        ("[nobody]\nkey = \(key)\n", 1),
    ])
    func errorsNameFileAndLineNotKey(text: String, line: Int) {
        do {
            _ = try Keyring.parse(text, origin: "/etc/ceph/ceph.client.admin.keyring")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("/etc/ceph/ceph.client.admin.keyring:\(line): "), "\(error.message)")
            #expect(!error.description.contains("AQD"))
            #expect(!error.debugDescription.contains("AQD"))
        }
    }

    @Test func wrongKeyTypeAndLength() {
        // type 2, len 16
        let bytes: [UInt8] = [2, 0] + [UInt8](repeating: 0, count: 8) + [16, 0] + [UInt8](repeating: 7, count: 16)
        let b64 = CryptoKey(type: 2, secret: Array(bytes[12...])).base64
        #expect(throws: CryptoKey.DecodeFailure.unsupportedType) { try CryptoKey(keyringBase64: b64) }
        let short = CryptoKey(secret: [1, 2, 3]).base64
        #expect(throws: CryptoKey.DecodeFailure.badLength) { try CryptoKey(keyringBase64: short) }
    }
}
