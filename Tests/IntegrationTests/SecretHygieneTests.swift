import Foundation
import Testing
@testable import RADOSProto

/// The key never shows: a whole rbdctl session at the highest debug levels Ceph has
/// (the `debug_*` subsystems at 20, logs to stderr), with the key given every way a
/// user can give it and with wrong and malformed keys, is scanned for the key's base64,
/// its raw bytes in hex and its bytes as text. A keyring other users can read is warned
/// of, as ssh warns of an open private key.
@Suite(.requiresCluster, .serialized)
struct SecretHygieneTests {
    static let debug = ["--debug_ms", "20/20", "--debug_auth", "20/20", "--debug_monc", "20/20", "--debug_rbd", "20/20",
                        "--debug_objecter", "20/20", "--debug_rados", "20/20", "--log_to_stderr", "true"]

    /// Runs rbdctl `arguments` (verb first) with the cluster's conf; stdout and stderr together.
    static func rbdctl(_ arguments: [String], conf: String) throws -> (status: Int32, output: String) {
        let result = try ClusterEnvironment.run([ClusterEnvironment.rbdctl] + arguments + ["-c", conf])
        return (result.status, String(decoding: result.stdout, as: UTF8.self) + result.stderr)
    }

    /// The forms of a key that must never appear.
    static func forms(of base64: String) throws -> [String] {
        let key = try CryptoKey(keyringBase64: base64)
        let hex = key.secret.map { String(format: "%02x", $0) }.joined()
        let secretBase64 = Data(key.secret).base64EncodedString()
        return [base64, hex, hex.uppercased(), secretBase64, String(secretBase64.dropLast(2))]
    }

    @Test func noRbdctlOutputContainsTheKey() throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let configuration = try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false)
        let keyringPath = try #require(try configuration.keyringCandidates().first { FileManager.default.fileExists(atPath: $0) })
        let keyring = try Keyring.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: keyringPath))), origin: keyringPath)
        let realKey = try #require(String(decoding: try Data(contentsOf: URL(fileURLWithPath: keyringPath)), as: UTF8.self)
            .split(separator: "\n").compactMap { line -> String? in
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return parts.count == 2 && parts[0] == "key" ? parts[1] : nil
            }.first)
        #expect(keyring[configuration.entity]?.secret != nil)
        let wrongKey = "AQDKTQxrWlBINRAAhz9Zyq4jBEYg/+HMWcYJMQ=="
        let image = "secrets-\(UInt32.random(in: 0...UInt32.max))"
        defer { ClusterEnvironment.removeImage("rbd/\(image)") }

        var transcript = ""
        func run(_ arguments: [String], expectSuccess: Bool? = nil) throws {
            let (status, output) = try Self.rbdctl(arguments + Self.debug, conf: conf)
            if let expectSuccess { #expect((status == 0) == expectSuccess, "rbdctl \(arguments.joined(separator: " ")): exit \(status): \(output)") }
            // Only what rbdctl printed: the command line holds the key on purpose.
            transcript += output + "\n"
        }
        // A full session with the keyring from the conf, then with the key given
        // directly (--key and a key file), in both connection modes.
        try run(["create", "--size", "8M", image], expectSuccess: true)
        try run(["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "64K", image], expectSuccess: true)
        try run(["info", image], expectSuccess: true)
        try run(["ls", "-l"], expectSuccess: true)
        try run(["status", "--ms_mon_client_mode", "secure"], expectSuccess: true)
        try run(["status", "--ms_mon_client_mode", "crc"], expectSuccess: true)
        try run(["config", "show"])
        try run(["info", image, "--key", realKey], expectSuccess: true)
        let keyfile = NSTemporaryDirectory() + "swiftrbd-keyfile-\(UInt32.random(in: 0...UInt32.max))"
        try realKey.write(toFile: keyfile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyfile)
        defer { try? FileManager.default.removeItem(atPath: keyfile) }
        try run(["info", image, "--keyfile", keyfile, "--keyring", "/nonexistent"], expectSuccess: true)
        // Wrong and malformed keys fail, and their failures do not show the key either.
        try run(["info", image, "--key", wrongKey], expectSuccess: false)
        try run(["info", image, "--key", String(realKey.dropLast(4))], expectSuccess: false)
        try run(["info", image, "--key", realKey + "x"], expectSuccess: false)
        try run(["rm", image], expectSuccess: true)

        #expect(transcript.contains("rbd_cache"), "config show printed no options: the transcript is not what this test thinks")
        for (what, key) in [("the real key", realKey), ("the wrong key", wrongKey)] {
            for form in try Self.forms(of: key) {
                #expect(!transcript.contains(form), "\(what) appears in rbdctl's output (as \(form.count)-character form)")
            }
        }
        // The configuration's own descriptions do not show it either.
        var withKey = configuration
        try withKey.set("key", to: realKey)
        let described = "\(withKey) \(String(reflecting: withKey)) \(String(describing: try withKey.secret()))"
        for form in try Self.forms(of: realKey) { #expect(!described.contains(form)) }
    }

    @Test func aKeyringOthersCanReadIsWarnedOf() throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let configuration = try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false)
        let original = try #require(try configuration.keyringCandidates().first { FileManager.default.fileExists(atPath: $0) })
        let copy = NSTemporaryDirectory() + "swiftrbd-keyring-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.copyItem(atPath: original, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: copy)
        let open = try Self.rbdctl(["ls", "--keyring", copy], conf: conf)
        #expect(open.status == 0, "\(open.output)")
        #expect(open.output.contains("rbdctl: warning: keyring \(copy) can be read by other users (mode 0644); chmod 600 it"), "\(open.output)")

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: copy)
        let closed = try Self.rbdctl(["ls", "--keyring", copy], conf: conf)
        #expect(closed.status == 0, "\(closed.output)")
        #expect(!closed.output.contains("warning"), "\(closed.output)")
    }
}
