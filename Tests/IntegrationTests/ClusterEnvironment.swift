import Foundation
import RADOSProto
import Testing

/// Where the integration tests find the throwaway cluster and Ceph's own tools.
///
/// `make test` starts a cluster with `scripts/dev-cluster.sh` and runs `swift test`
/// with `CEPH_CONF` pointing at it and `SWIFTRBD_REQUIRE_CLUSTER=1`. Without `CEPH_CONF`
/// every cluster test is skipped with a message saying so; tests that need only Ceph's
/// tools (crushtool, osdmaptool) or python3-rados skip with a message naming what is
/// missing. With `SWIFTRBD_REQUIRE_CLUSTER=1` nothing skips: a missing prerequisite
/// fails the tests that need it, and `PrerequisiteTests` says in one line what is missing.
/// A `CEPH_CONF` that is set but names no file is never "no cluster": it is an error.
enum ClusterEnvironment {
    /// The cluster's config file as `CEPH_CONF` names it, or nil when it is unset.
    /// A path that does not exist is returned as it is, so the tests using it fail
    /// (`PrerequisiteTests` names the problem) instead of skipping.
    static let cephConf: String? = {
        guard let path = ProcessInfo.processInfo.environment["CEPH_CONF"], !path.isEmpty else { return nil }
        return path
    }()

    static var hasCluster: Bool { cephConf != nil }

    /// `SWIFTRBD_REQUIRE_CLUSTER=1` (set by `make test`): prerequisites are required, so
    /// a test that would skip runs and fails instead.
    static let required = ProcessInfo.processInfo.environment["SWIFTRBD_REQUIRE_CLUSTER"] == "1"

    static let skipMessage = "no cluster configured: set CEPH_CONF (make test starts one with scripts/dev-cluster.sh)"

    /// Debian's python3 with the rados and rbd modules (the `python3` first on PATH may lack them).
    static let python = "/usr/bin/python3"

    /// Whether `/usr/bin/python3` can import every module named.
    static func pythonHas(_ modules: String...) -> Bool {
        FileManager.default.isExecutableFile(atPath: python)
            && ((try? run([python, "-c", "import " + modules.joined(separator: ", ")]).status) == 0)
    }

    static let hasPythonRados = pythonHas("rados")
    static let hasPythonRBD = pythonHas("rados", "rbd")

    /// Everything that would make a test skip, each as one line naming what is missing.
    static func missingPrerequisites() -> [String] {
        var missing: [String] = []
        if let conf = cephConf {
            if !FileManager.default.isReadableFile(atPath: conf) {
                missing.append("CEPH_CONF=\(conf) names no readable file: start a cluster (scripts/dev-cluster.sh up DIR) and point CEPH_CONF at DIR/ceph.conf")
            }
        } else {
            missing.append(skipMessage)
        }
        for name in ["ceph", "rados", "rbd", "ceph-conf", "ceph-authtool", "crushtool", "osdmaptool", "ceph-mon", "ceph-osd"] where tool(name) == nil {
            missing.append("\(name) is not installed (scripts/install-deps.sh installs Ceph's tools)")
        }
        if !hasPythonRBD {
            missing.append("\(python) cannot import rados and rbd: install python3-rados and python3-rbd (scripts/install-deps.sh)")
        }
        return missing
    }

    /// The `rbdctl` built in this package (scripts/test.sh builds every product before testing).
    static let rbdctl: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/rbdctl").path

    /// The path of a command on PATH, or nil.
    static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a command and returns (status, stdout, stderr).
    @discardableResult
    static func run(_ arguments: [String], input: Data? = nil) throws -> (status: Int32, stdout: Data, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(input) }
        try inPipe.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, outData, String(decoding: errData, as: UTF8.self))
    }

    /// Runs an offline tool (`osdmaptool`, `crushtool`, offline `rbdctl` commands) without
    /// the cluster's `CEPH_CONF`/`CEPH_ARGS`, so the running cluster's options (e.g.
    /// `osd_pool_default_size`) cannot change what it computes.
    @discardableResult
    static func runOffline(_ arguments: [String], input: Data? = nil) throws -> (status: Int32, stdout: Data, stderr: String) {
        try run(["-u", "CEPH_CONF", "-u", "CEPH_ARGS"] + arguments, input: input)
    }

    /// Runs a Ceph CLI (`ceph`, `rbd`, `rados`) against the configured cluster; throws on non-zero exit.
    static func ceph(_ tool: String, _ arguments: [String], input: Data? = nil) throws -> Data {
        guard let conf = cephConf else { throw ToolFailure(message: skipMessage) }
        let result = try run([tool, "-c", conf] + arguments, input: input)
        guard result.status == 0 else {
            throw ToolFailure(message: "\(tool) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    /// Removes a test image with Ceph's own tool, snapshots first; errors are ignored
    /// (for `defer`: the image may be gone already).
    static func removeImage(_ spec: String) {
        _ = try? ceph("rbd", ["snap", "purge", "--no-progress", spec])
        _ = try? ceph("rbd", ["rm", "--no-progress", spec])
    }

    /// Removes an image whose writer was killed and still watches its header (until the
    /// OSD times the watch out): the watchers are blocklisted first.
    static func removeImageAfterKill(_ spec: String) {
        if let info = try? ceph("rbd", ["info", "--format", "json", spec]),
           let object = try? JSONSerialization.jsonObject(with: info) as? [String: Any], let id = object["id"] as? String,
           let watchers = try? watchers("rbd_header.\(id)") {
            for watcher in watchers { _ = try? ceph("ceph", ["osd", "blocklist", "add", watcher.address]) }
        }
        removeImage(spec)
    }

    /// The `RADOSError` a call throws, or nil (recording an issue) when it does not throw
    /// or throws anything else.
    static func refusal(_ what: String, _ body: () async throws -> Void) async -> RADOSError? {
        do {
            try await body()
            Issue.record("\(what) was not refused")
        } catch let error as RADOSError {
            return error
        } catch {
            Issue.record("\(what) failed with \(error), not a RADOSError")
        }
        return nil
    }

    /// One line of `rados listwatchers`.
    struct RadosWatcher: Equatable, Sendable, CustomStringConvertible {
        var address: String
        var gid: UInt64
        var cookie: UInt64
        var description: String { "client.\(gid) cookie=\(cookie)" }
    }

    /// The watchers Ceph's `rados listwatchers` lists for `object` in pool `rbd`. It
    /// blocks: from an async test, run it with ``offThreadPool(_:)``.
    static func watchers(_ object: String, namespace: String = "") throws -> [RadosWatcher] {
        let arguments = ["-p", "rbd"] + (namespace.isEmpty ? [] : ["-N", namespace]) + ["listwatchers", object]
        return try String(decoding: try ceph("rados", arguments), as: UTF8.self).split(separator: "\n").map { line in
            let match = try #require(line.wholeMatch(of: /watcher=(\S+) client\.(\d+) cookie=(\d+)/), "rados listwatchers printed: \(line)")
            return RadosWatcher(address: String(match.1), gid: try #require(UInt64(match.2)), cookie: try #require(UInt64(match.3)))
        }
    }

    struct ToolFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

extension Trait where Self == ConditionTrait {
    /// The suite needs the cluster `CEPH_CONF` names (skips without one unless required).
    static var requiresCluster: Self {
        .enabled(if: ClusterEnvironment.hasCluster || ClusterEnvironment.required, Comment(rawValue: ClusterEnvironment.skipMessage))
    }

    /// The suite needs these programs on PATH (Ceph's offline tools, say).
    static func requiresTools(_ names: String...) -> Self {
        let missing = names.filter { ClusterEnvironment.tool($0) == nil }
        return .enabled(
            if: missing.isEmpty || ClusterEnvironment.required,
            Comment(rawValue: "\(missing.joined(separator: ", ")) not installed (scripts/install-deps.sh installs them)"))
    }

    /// The suite drives librados through Debian's python3-rados.
    static var requiresPythonRados: Self {
        .enabled(
            if: ClusterEnvironment.hasPythonRados || ClusterEnvironment.required,
            Comment(rawValue: "\(ClusterEnvironment.python) cannot import rados: install python3-rados (scripts/install-deps.sh)"))
    }

    /// The suite drives librbd through Debian's python3-rbd.
    static var requiresPythonRBD: Self {
        .enabled(
            if: ClusterEnvironment.hasPythonRBD || ClusterEnvironment.required,
            Comment(rawValue: "\(ClusterEnvironment.python) cannot import rados and rbd: install python3-rados and python3-rbd (scripts/install-deps.sh)"))
    }
}

/// With `SWIFTRBD_REQUIRE_CLUSTER=1` every prerequisite of the integration tests must be
/// there; this says in one line each what is not, instead of leaving it to the failures
/// it causes elsewhere. Without it, only a `CEPH_CONF` naming a missing file is an error.
@Suite struct PrerequisiteTests {
    @Test func theConfiguredClusterAndToolsAreUsable() {
        let missing = ClusterEnvironment.missingPrerequisites()
        if ClusterEnvironment.required {
            for line in missing { Issue.record(Comment(rawValue: line)) }
        } else if let conf = ClusterEnvironment.cephConf, !FileManager.default.isReadableFile(atPath: conf) {
            Issue.record(Comment(rawValue: "CEPH_CONF=\(conf) names no readable file: unset it to skip the cluster tests, or point it at a running cluster's ceph.conf"))
        }
    }
}

/// A python3 client (librados/librbd through python3-rados/python3-rbd) run from a
/// script: started with its arguments, talked to line by line over stdin/stdout, its
/// stderr dropped. ``finish()`` ends it (closing stdin) and removes the script.
final class PythonClient: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    let script: URL

    init(_ source: String, arguments: [String]) throws {
        script = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-client-\(UUID().uuidString).py")
        try Data(source.utf8).write(to: script)
        process.executableURL = URL(fileURLWithPath: ClusterEnvironment.python)
        process.arguments = [script.path] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The next line the script prints (nil once it exits), read off the cooperative pool.
    func readLine() async throws -> String? {
        try await ClusterEnvironment.offThreadPool { ImageHeaderWatchTests.readLine(self.output.fileHandleForReading) }
    }

    func send(_ line: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data("\(line)\n".utf8))
    }

    func finish() {
        try? input.fileHandleForWriting.write(contentsOf: Data("\n".utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: script)
    }
}

extension ClusterEnvironment {
    /// ``run(_:input:)`` awaited: the child runs and is waited for on a Dispatch thread,
    /// not on a Swift concurrency thread (used by the newer tests; the older ones call
    /// the tools directly).
    @discardableResult
    static func runAwaited(_ arguments: [String], input: Data? = nil) async throws -> (status: Int32, stdout: Data, stderr: String) {
        try await offThreadPool { try run(arguments, input: input) }
    }

    /// ``ceph(_:_:input:)`` awaited off the cooperative pool.
    static func cephAwaited(_ tool: String, _ arguments: [String], input: Data? = nil) async throws -> Data {
        try await offThreadPool { try ceph(tool, arguments, input: input) }
    }
}
