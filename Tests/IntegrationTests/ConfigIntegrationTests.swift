import Foundation
@testable import RADOSProto
import Testing

/// Our configuration parser against Ceph's own: `ceph-conf` (always, when installed) and a
/// running cluster (when `CEPH_CONF` is set). Keys are compared in memory, never printed.
@Suite struct ConfigIntegrationTests {

    static let fixture = """
        ; fixture for the ceph-conf cross-check
        [global]
        \tmon host = 1.2.3.4 # trailing comment
          keyring   =   "/x/$id y"   ; after a quoted value
        some_thing = a\\
           b
        esc = a\\#b
        log file = /var/log/$cluster-$name.log
        run dir = /run/$host/${type}.$num
        admin socket = $log_file.asok
        rbd_cache_size = 1000
        [client]
        rbd cache size = 100
        [ client.admin ]
        rbd_cache_size = 200
        [client.foo]
        rbd_cache_size = 300
        rbd_cache_size = 301
        [osd]
        rbd_cache_max_dirty = 7

        """

    func withFile<T>(_ name: String, _ text: String, _ body: (String) throws -> T) throws -> T {
        let dir = NSTemporaryDirectory() + "swiftrbd-cephconf-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return try body(path)
    }

    func cephConf(_ arguments: [String], env: [String] = []) throws -> (status: Int32, out: String, err: String) {
        let result = try ClusterEnvironment.run(env + ["ceph-conf"] + arguments)
        let out = String(decoding: result.stdout, as: UTF8.self)
        return (result.status, out.hasSuffix("\n") ? String(out.dropLast()) : out, result.stderr)
    }

    @Test(.requiresTools("ceph-conf"))
    func lookupsMatchCephConf() throws {
        try withFile("fix.conf", Self.fixture) { path in
            for name in ["client.admin", "client.foo", "client.bar", "osd.1", "mon.a"] {
                let ours = try RADOSConfiguration.load(configFile: path, arguments: ["--name", name], environment: [:])
                for key in ["mon_host", "keyring", "some_thing", "esc", "log_file", "run_dir", "admin_socket", "rbd_cache_size", "rbd_cache_max_dirty"] {
                    // Options: the value in force; other keys: the file's value (`--lookup`).
                    let isOption = key != "some_thing" && key != "esc"
                    let theirs = try cephConf(["-c", path, "--name", name, isOption ? "--show-config-value" : "--lookup", key])
                    #expect(theirs.status == 0, "\(theirs.err)")
                    #expect(try ours.string(key) == theirs.out, "\(name) \(key)")
                }
            }
        }
    }

    @Test(.requiresTools("ceph-conf"))
    func defaultsMatchCephConf() throws {
        let ours = try RADOSConfiguration.load(configFile: "/dev/null", environment: [:])
        for name in ours.optionNames where !ours.isSecret(name) {
            let theirs = try cephConf(["-c", "/dev/null", "--show-config-value", name])
            #expect(theirs.status == 0, "\(name)")
            #expect(try ours.string(name) == theirs.out, "\(name)")
        }
    }

    @Test(.requiresTools("ceph-conf"))
    func dashesAndCommandLineMatchCephConf() throws {
        try withFile("ceph.conf", "[global]\nrbd-cache = false\nrbd   cache size = 1000\n") { path in
            let env = ["/usr/bin/env", "CEPH_ARGS=--rbd-cache-max-dirty 5 --rbd_cache_target_dirty=6 --rbd-cache-writethrough-until-flush false"]
            let args = ["--rbd-cache-target-dirty", "7"]
            let ours = try RADOSConfiguration.load(
                configFile: path, arguments: args,
                environment: ["CEPH_ARGS": String(env[1].dropFirst("CEPH_ARGS=".count))])
            for key in ["rbd_cache", "rbd_cache_size", "rbd_cache_max_dirty", "rbd_cache_target_dirty", "rbd_cache_writethrough_until_flush"] {
                let theirs = try cephConf(["-c", path] + args + ["--show-config-value", key], env: env)
                #expect(theirs.status == 0)
                #expect(try ours.string(key) == theirs.out, "\(key)")
            }
        }
    }

    /// One divergence on purpose: Ceph 16.2 rejects a file whose last line has no newline;
    /// we accept it.
    @Test(.requiresTools("ceph-conf"))
    func missingFinalNewlineIsTheOneDivergence() throws {
        try withFile("nl.conf", "[global]\nmon_host = 1.2.3.4") { path in
            #expect(try cephConf(["-c", path, "--show-config-value", "mon_host"]).status != 0)
            let ours = try RADOSConfiguration.load(configFile: path, environment: [:])
            #expect(try ours.string("mon_host") == "1.2.3.4")
        }
    }

    @Test(.requiresTools("ceph-conf"), arguments: [
        "[global]\nkeyring = \"/x ; y\"\n",
        "[global]\nfoo bar\n",
        "[global\nfoo = bar\n",
        "[global]\nfoo = \"bar\n",
        "a = 1\nb = 2\n[global]\n",
    ])
    func parseErrorsMatchCephConf(text: String) throws {
        try withFile("bad.conf", text) { path in
            let theirs = try cephConf(["-c", path, "--show-config-value", "mon_host"])
            #expect(theirs.status != 0)
            #expect(throws: RADOSError.self) { try RADOSConfiguration.load(configFile: path, environment: [:]) }
        }
    }

    @Test(.requiresTools("ceph-authtool"))
    func keyringFromCephAuthtool() throws {
        let dir = NSTemporaryDirectory() + "swiftrbd-keyring-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/test.keyring"
        let created = try ClusterEnvironment.run([
            "ceph-authtool", "--create-keyring", path, "--gen-key", "-n", "client.swift",
            "--cap", "mon", "allow r", "--cap", "osd", "allow rwx pool=rbd",
        ])
        #expect(created.status == 0)
        let printed = try ClusterEnvironment.run(["ceph-authtool", path, "-p", "-n", "client.swift"])
        let theirs = String(decoding: printed.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)

        var config = try RADOSConfiguration(name: "client.swift")
        try config.set("keyring", to: path)
        let secret = try config.secret()
        let same = secret.base64 == theirs
        #expect(same, "decoded key differs from ceph-authtool -p (not shown)")
        #expect(secret.secret.count == 16)
        let keyring = try Keyring.parse(String(contentsOfFile: path, encoding: .utf8), origin: path)
        #expect(keyring[ConfEntityName(type: "client", id: "swift")]?.caps == ["mon": "allow r", "osd": "allow rwx pool=rbd"])
    }

    @Test(.requiresCluster)
    func clusterMonitorsAndKeyMatch() throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let config = try RADOSConfiguration.load(configFile: conf, environment: ProcessInfo.processInfo.environment)
        let ours = Set(try config.monitors().flatMap { $0 }.map(\.description))

        let dump = try ClusterEnvironment.ceph("ceph", ["mon", "dump", "-f", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: dump) as? [String: Any])
        var theirs: Set<String> = []
        for mon in object["mons"] as? [[String: Any]] ?? [] {
            let vector = (mon["public_addrs"] as? [String: Any])?["addrvec"] as? [[String: Any]] ?? []
            for addr in vector {
                guard let type = addr["type"] as? String, let text = addr["addr"] as? String else { continue }
                theirs.insert("\(type):\(text)")
            }
        }
        #expect(!theirs.isEmpty)
        #expect(ours == theirs)

        let secret = try config.secret()
        let key = try ClusterEnvironment.ceph("ceph", ["auth", "get-key", config.name])
        let theirsKey = String(decoding: key, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let same = secret.base64 == theirsKey
        #expect(same, "the keyring's key for \(config.name) differs from the cluster's (not shown)")
    }
}
