import Testing
@testable import RADOSProto

/// Random input never traps: every parser either returns or throws `RADOSError`.
@Suite struct ConfigFuzzTests {
    /// Seeded (the target's SplitMix64), so a failure reproduces.
    typealias Generator = SeededGenerator

    static let pieces = ["[", "]", "=", "\"", "'", "\\", "\n", "\r\n", "#", ";", " ", "\t", "global", "client.a", "key", "v2:", "v1:",
                         ":", ",", "1.2.3.4", "::1", "6789", "$", "{", "}", "$name", "caps mon", "AQDKTQxrWlBINRAAhz9Zyq4jBEYg/+HMWcYJMQ==", "é", "\u{0}"]

    func randomText(_ rng: inout Generator) -> String {
        (0..<Int.random(in: 0...24, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
    }

    @Test func parsersNeverTrap() {
        var rng = Generator(seed: 0xC0FF_EE)
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
