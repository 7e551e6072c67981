import Foundation
import Testing

/// `rbdctl status` and `rbdctl mon-command` against Ceph's own `ceph` CLI.
@Suite(.requiresCluster)
struct RbdctlClusterTests {
    static func rbdctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let conf = try #require(ClusterEnvironment.cephConf)
        let result = try ClusterEnvironment.run([ClusterEnvironment.rbdctl] + [arguments[0], "-c", conf] + arguments.dropFirst())
        return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
    }

    static func cliEpoch() throws -> Int {
        let dump = try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any]
        return try #require(dump?["epoch"] as? Int)
    }

    @Test(arguments: ["secure", "crc"])
    func statusMatchesCephInBothModes(mode: String) throws {
        let fsid = String(decoding: try ClusterEnvironment.ceph("ceph", ["fsid"]), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let before = try Self.cliEpoch()
        let ours = try Self.rbdctl(["status", "--format", "json", "--ms_mon_client_mode", mode])
        let after = try Self.cliEpoch()
        #expect(ours.status == 0, "\(ours.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ours.stdout.utf8)) as? [String: Any])
        #expect(object["fsid"] as? String == fsid)
        #expect(object["mode"] as? String == mode)
        let epoch = try #require(object["osdmap_epoch"] as? Int)
        #expect(before <= epoch && epoch <= after)
        let quorum = try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["quorum_status", "--format", "json"])) as? [String: Any]
        #expect(object["quorum_names"] as? [String] == quorum?["quorum_names"] as? [String])
    }

    @Test func monCommandOutputEqualsTheCLIs() throws {
        let ours = try Self.rbdctl(["mon-command", "{\"prefix\": \"osd pool ls\", \"format\": \"json\"}"])
        #expect(ours.status == 0)
        let theirs = try ClusterEnvironment.ceph("ceph", ["osd", "pool", "ls", "--format", "json"])
        let ourPools = try JSONSerialization.jsonObject(with: Data(ours.stdout.utf8)) as? [String]
        let theirPools = try JSONSerialization.jsonObject(with: theirs) as? [String]
        #expect(ourPools != nil && ourPools == theirPools)
        let failing = try Self.rbdctl(["mon-command", "{\"prefix\": \"osd pool get\", \"pool\": \"no-such-pool\", \"var\": \"size\"}"])
        #expect(failing.status == 2)  // ENOENT, as `ceph osd pool get` exits
        #expect(failing.stderr.contains("no-such-pool"))
    }

    /// A refused key ends the attempt at once (EACCES, exit 13) instead of hunting on
    /// until `client_mount_timeout`. The clock bound only tells the two apart (it is
    /// 300 s, a machine under load may take seconds to start the process): what the
    /// test judges is the status, which would be ETIMEDOUT (110) after a hunt.
    @Test func aWrongKeyFailsWithEACCESWithoutHunting() throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let start = ContinuousClock.now
        let result = try ClusterEnvironment.run([
            ClusterEnvironment.rbdctl, "status", "-c", conf, "--client_mount_timeout", "300",
            "--key", "AQBkLGplAAAAABAAn8vbIi0hBd2X3WTnc6uH+w==",
        ])
        let elapsed = ContinuousClock.now - start
        #expect(result.status == 13, "\(result.stderr)")
        #expect(elapsed < .seconds(120), "a refused key took \(elapsed): the client hunted on instead of giving up")
        #expect(!result.stderr.contains("AQBkLGpl"))
    }
}
