import Foundation
import Testing

/// How many threads a client process uses for I/O: `rbdctl bench` with 16 I/Os in
/// flight runs them all on one event-loop thread (at most 2 are allowed), and in all
/// uses fewer threads than librbd's `rbd bench` doing the same work on the same image.
@Suite(.requiresCluster, .requiresTools("rbd"))
struct BenchThreadTests {
    /// The largest set of threads seen in a process while it ran, by name.
    struct ThreadCensus: Sendable {
        var status: Int32 = -1
        var stderr = ""
        var most: [String] = []
        var ioThreads: Int { most.filter { $0.hasPrefix("NIO-ELT") }.count }
    }

    /// Runs `arguments` and samples `/proc/PID/task` every 20 ms until it exits.
    static func census(_ arguments: [String]) throws -> ThreadCensus {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        var census = ThreadCensus()
        let tasks = "/proc/\(process.processIdentifier)/task"
        while process.isRunning {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).compactMap { id in
                (try? String(contentsOfFile: "\(tasks)/\(id)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if names.count > census.most.count { census.most = names.sorted() }
            Thread.sleep(forTimeInterval: 0.02)
        }
        census.stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        census.status = process.terminationStatus
        return census
    }

    @Test func benchUsesOneIOThreadAndFewerThreadsThanLibrbd() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let name = "bench-threads-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "64M", "--image-feature", "layering"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }
        let work = ["--io-type", "write", "--io-size", "4K", "--io-threads", "16", "--io-total", "8M", "--io-pattern", "rand", "rbd/\(name)"]
        // Off the cooperative pool: the sampling loop blocks its thread.
        let (ours, librbd) = try await ClusterEnvironment.offThreadPool {
            (try Self.census([ClusterEnvironment.rbdctl, "bench", "-c", conf] + work),
             try Self.census(["rbd", "-c", conf, "bench", "--rbd_cache=false"] + work))
        }
        #expect(ours.status == 0, "rbdctl bench failed: \(ours.stderr)")
        #expect(librbd.status == 0, "rbd bench failed: \(librbd.stderr)")
        print("threads at most: rbdctl bench \(ours.most.count) \(ours.most), rbd bench \(librbd.most.count) \(librbd.most)")
        #expect(ours.ioThreads >= 1, "no event-loop thread was seen, so the census proved nothing: \(ours.most)")
        #expect(ours.ioThreads <= 2, "rbdctl bench used \(ours.ioThreads) event-loop threads: \(ours.most)")
        #expect(ours.most.count < librbd.most.count, "rbdctl bench used \(ours.most.count) threads, rbd bench \(librbd.most.count)")
    }
}
