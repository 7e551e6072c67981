import CheckedBlocks
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import RADOSProto
@testable import RBDCore

/// The writeback cache loses nothing a completed flush acknowledged: a writer process
/// (`swiftrbd-crash-writer`: writeback cache, a flush every few writes, `flushed G`
/// printed after each) is killed with SIGKILL at random moments, again and again, and
/// after each kill every block holds the last generation flushed to it or a later one,
/// whole, read by us and at the end by Ceph's `rbd export`.
@Suite(.requiresCluster, .serialized)
struct WritebackCrashTests {
    static let writer: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/swiftrbd-crash-writer").path
    static let imageSize: UInt64 = 8 << 20
    static var blocks: UInt64 { imageSize / UInt64(CheckedBlocks.blockSize) }

    /// One writer run: generations from `first` on; `flushed` the last generation it said
    /// was flushed (nil: none).
    struct Run { var first: UInt64; var flushed: UInt64? }

    /// Every block's lowest acceptable generation after `runs`: the last generation
    /// assigned to it among those a completed flush covered (nil: never flushed).
    static func floors(_ runs: [Run]) -> [UInt64?] {
        var floor = [UInt64?](repeating: nil, count: Int(blocks))
        for run in runs {
            guard let flushed = run.flushed, flushed >= run.first else { continue }
            for generation in run.first...flushed {
                floor[Int(CheckedBlocks.index(of: generation, blocks: blocks))] = generation
            }
        }
        return floor
    }

    /// What is wrong with the image's bytes given the runs so far (empty: nothing).
    static func violations(_ bytes: [UInt8], runs: [Run], by reader: String) -> [String] {
        let floor = floors(runs)
        var found: [String] = []
        for index in 0..<Int(blocks) {
            let range = index * CheckedBlocks.blockSize..<(index + 1) * CheckedBlocks.blockSize
            let reading = CheckedBlocks.read(bytes[range])
            switch reading {
            case .zeros:
                if let want = floor[index] { found.append("\(reader): block \(index) is zeros, generation \(want) was flushed to it") }
            case .broken:
                found.append("\(reader): block \(index) is \(reading)")
            case .intact(let offset, let generation):
                let assigned = CheckedBlocks.index(of: generation, blocks: blocks) == UInt64(index) && offset == UInt64(range.lowerBound)
                if !assigned { found.append("\(reader): block \(index) holds \(reading), which the writer never wrote there") }
                if let want = floor[index], generation < want {
                    found.append("\(reader): block \(index) holds generation \(generation), older than the flushed \(want)")
                }
            }
        }
        return found
    }

    @Test(.timeLimit(.minutes(10))) func flushedWritesSurviveKillNine() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try #require(FileManager.default.isExecutableFile(atPath: Self.writer), "build the package first (swift build --build-tests builds \(Self.writer))")
        let kills = Int(ProcessInfo.processInfo.environment["SWIFTRBD_CRASH_KILLS"] ?? "") ?? 6
        let client = try await RADOSClient.connect(try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false))
        let io = try await client.ioContext(pool: "rbd")
        let name = "crash-\(UInt32.random(in: 0...UInt32.max))"
        // No exclusive lock: each new writer must not wait for the killed one's lock.
        _ = try await Image.create(io, name: name, size: Self.imageSize, options: ImageCreateOptions(features: [.layering]))
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }

        var runs: [Run] = []
        var rng = SystemRandomNumberGenerator()
        var flushesSeen = 0
        for round in 0..<kills {
            let first = UInt64(round + 1) * 1_000_000_000
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.writer)
            process.arguments = [conf, "rbd", name, "\(first)", "\(Int.random(in: 1...16, using: &rng))"]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            let lastFlushed = NIOLockedValueBox<(UInt64?, Int)>((nil, 0))
            let pending = NIOLockedValueBox("")
            out.fileHandleForReading.readabilityHandler = { handle in
                let text = String(decoding: handle.availableData, as: UTF8.self)
                let complete = pending.withLockedValue { buffer -> [Substring] in
                    buffer += text
                    var lines = buffer.split(separator: "\n", omittingEmptySubsequences: false)
                    buffer = String(lines.removeLast())
                    return lines
                }
                for line in complete where line.hasPrefix("flushed ") {
                    if let generation = UInt64(line.dropFirst(8)) {
                        lastFlushed.withLockedValue { $0 = (generation, $0.1 + 1) }
                    }
                }
            }
            try process.run()
            // Killed at a random moment once it has connected and written for a while:
            // after 0 to 8 flushes, some mid-write, some right after a flush.
            let flushesBeforeKill = Int.random(in: 0...8, using: &rng)
            let started = try await pollUntil(seconds: 120, every: .milliseconds(5)) {
                lastFlushed.withLockedValue { $0.1 } >= flushesBeforeKill || !process.isRunning
            }
            try #require(started && process.isRunning, "the writer did not get to \(flushesBeforeKill) flushes (exit \(process.isRunning ? -1 : process.terminationStatus))")
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...300, using: &rng)))
            kill(process.processIdentifier, SIGKILL)
            let gone = try await pollUntil(seconds: 60, every: .milliseconds(20)) { !process.isRunning }
            try #require(gone, "the writer survived SIGKILL")
            out.fileHandleForReading.readabilityHandler = nil
            // What it printed before dying is what a completed flush acknowledged.
            let rest = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            var flushed = lastFlushed.withLockedValue { $0.0 }
            for line in (pending.withLockedValue { $0 } + rest).split(separator: "\n") where line.hasPrefix("flushed ") {
                if let generation = UInt64(line.dropFirst(8)) { flushed = max(flushed ?? 0, generation) }
            }
            flushesSeen += lastFlushed.withLockedValue { $0.1 }
            runs.append(Run(first: first, flushed: flushed))

            // A fresh image handle (no cache) reads what the cluster holds.
            let reader = try await Image.open(io, name: name, readOnly: true)
            let bytes = Array(try await reader.read(offset: 0, length: Self.imageSize).readableBytesView)
            try await reader.close()
            let wrong = Self.violations(bytes, runs: runs, by: "us after kill \(round + 1)")
            #expect(wrong.isEmpty, "\(wrong.count) blocks lost or broken, first: \(wrong.prefix(5))")
        }
        // Ceph's own reader agrees.
        let exported = NSTemporaryDirectory() + "\(name).raw"
        _ = try ClusterEnvironment.ceph("rbd", ["export", "rbd/\(name)", exported])
        let theirs = [UInt8](try Data(contentsOf: URL(fileURLWithPath: exported)))
        try? FileManager.default.removeItem(atPath: exported)
        try #require(theirs.count == Int(Self.imageSize))
        let wrong = Self.violations(theirs, runs: runs, by: "rbd export")
        #expect(wrong.isEmpty, "\(wrong.count) blocks lost or broken, first: \(wrong.prefix(5))")
        let verified = Self.floors(runs).compactMap { $0 }.count
        #expect(verified > 0, "no flush completed in \(kills) runs: nothing was tested")
        print("writeback crash: \(kills) kill -9s, \(flushesSeen) flushes acknowledged, \(verified) flushed blocks intact (us and rbd export)")
        await client.shutdown()
    }
}
