import Foundation
import Testing

/// Where the integration tests find the throwaway cluster and Ceph's own tools.
///
/// `make test` starts a cluster with `scripts/dev-cluster.sh` and runs `swift test`
/// with `CEPH_CONF` pointing at it. Without `CEPH_CONF` every cluster test is skipped
/// with a message saying so; tests that need only Ceph's tools (crushtool, osdmaptool)
/// skip when the tool is not installed.
enum ClusterEnvironment {
    /// The cluster's config file, or nil when no cluster is configured.
    static let cephConf: String? = {
        guard let path = ProcessInfo.processInfo.environment["CEPH_CONF"], !path.isEmpty else { return nil }
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    static var hasCluster: Bool { cephConf != nil }

    static let skipMessage = "no cluster configured: set CEPH_CONF (make test starts one with scripts/dev-cluster.sh)"

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

    struct ToolFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
