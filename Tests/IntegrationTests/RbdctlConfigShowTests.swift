import Foundation
import Testing

/// `rbdctl config show --image rbd:…` prints each effective value and the layer it came
/// from, in the order Ceph's "QEMU and RBD" guide gives: the cache mode (`--cache`, as
/// QEMU's `cache=`) beats the default, the configuration file beats the mode, the
/// options of the `rbd:` name beat the file. Offline: no cluster is contacted.
@Suite struct RbdctlConfigShowTests {
    /// Runs `rbdctl config show --format json` off Swift's cooperative pool.
    static func show(_ arguments: [String]) async throws -> (status: Int32, json: [String: Any], stderr: String) {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let result = try await ClusterEnvironment.offThreadPool {
            try ClusterEnvironment.runOffline([ClusterEnvironment.rbdctl, "config", "show", "--format", "json"] + arguments)
        }
        let json = (try? JSONSerialization.jsonObject(with: result.stdout)) as? [String: Any] ?? [:]
        return (result.status, json, result.stderr)
    }

    static func option(_ json: [String: Any], _ name: String) -> (value: String, source: String)? {
        guard let options = json["options"] as? [[String: String]], let row = options.first(where: { $0["name"] == name }) else { return nil }
        return (row["value"] ?? "", row["source"] ?? "")
    }

    @Test(arguments: [
        ("default", nil, nil, nil, "true", "default", "writeback"),
        ("the mode beats the default", nil, "none", nil, "false", "application", "none"),
        ("the file beats the mode", "rbd cache = true", "none", nil, "true", "file", "writeback"),
        ("the name beats the file", "rbd cache = false", "writeback", "rbd_cache=true", "true", "override", "writeback"),
        ("writethrough is max dirty 0", nil, "writethrough", nil, "true", "application", "writethrough"),
        ("a policy in the name", nil, "writeback", "rbd_cache_policy=writeback:rbd_cache_writethrough_until_flush=false", "true", "application", "writeback"),
    ] as [(String, String?, String?, String?, String, String, String)])
    /// `mode` is the cache mode after the first flush (before it, writethrough-until-flush
    /// makes every enabled cache writethrough).
    func theGuidesOrder(rule: String, file: String?, cache: String?, key: String?, value: String, source: String, mode: String) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let conf = folder.appendingPathComponent("ceph.conf").path
        try Data("[global]\nmon_host = 127.0.0.1\n[client]\n\(file ?? "")\n".utf8).write(to: URL(fileURLWithPath: conf))
        var name = "rbd:rbd/vm:conf=\(conf)"
        if let key { name += ":\(key)" }
        let result = try await Self.show((cache.map { ["--cache", $0] } ?? []) + ["--image", name])
        try #require(result.status == 0, "\(rule): \(result.stderr)")
        let setting = try #require(Self.option(result.json, "rbd_cache"))
        #expect(setting.value == value && setting.source == source, "\(rule): rbd_cache is \(setting.value) from \(setting.source)")
        #expect(result.json["cache_mode"] as? String == mode, "\(rule): \(result.json["cache_mode"] ?? "none")")
        #expect(result.json["conf"] as? String == conf)
    }

    @Test func aBadPolicyIsRefusedNamingIt() async throws {
        let result = try await Self.show(["--image", "rbd:rbd/vm:rbd_cache_policy=fast"])
        #expect(result.status == 22)
        #expect(result.stderr.contains("rbd_cache_policy") && result.stderr.contains("'fast'") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
