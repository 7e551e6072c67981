import Testing
@testable import RADOSProto

/// Random input never traps: every parser either returns or throws `RADOSError`.
@Suite struct ConfigFuzzTests {
    /// SplitMix64, seeded, so a failure reproduces.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let pieces = ["[", "]", "=", "\"", "'", "\\", "\n", "\r\n", "#", ";", " ", "\t", "global", "client.a", "key", "v2:", "v1:",
                         ":", ",", "1.2.3.4", "::1", "6789", "$", "{", "}", "$name", "caps mon", "AQDKTQxrWlBINRAAhz9Zyq4jBEYg/+HMWcYJMQ==", "é", "\u{0}"]

    func randomText(_ rng: inout Generator) -> String {
        (0..<Int.random(in: 0...24, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
    }

    @Test func parsersNeverTrap() {
        var rng = Generator(state: 0xC0FF_EE)
        for _ in 0..<3000 {
            let text = randomText(&rng)
            _ = try? ConfFile.parse(text)
            _ = try? Keyring.parse(text, origin: "fuzz")
            _ = try? MonitorAddress.parseMonHost(text)
            _ = try? CephArguments.parse(text.split(separator: " ").map(String.init))
            _ = try? CryptoKey(keyringBase64: text)
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? ConfFile.parse(bytes: bytes)
            if var config = try? RADOSConfiguration() {
                try? config.set("log_file", to: text)
                _ = try? config.string("log_file")
            }
        }
    }
}
