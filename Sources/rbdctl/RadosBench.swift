import ArgumentParser
import Foundation
import NIOCore
import RADOSProto

/// `rbdctl rados bench SECONDS write|seq|rand -b SIZE -t THREADS`: like `rados bench`,
/// plus the client's CPU time per op (user + system of the whole process), the number that
/// matters against librados.
struct RadosBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark object writes or reads, like rados bench.", discussion: "Example:\n  rbdctl rados bench -p rbd 10 write")

    enum Mode: String, ExpressibleByArgument { case write, seq, rand }

    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }

    @Argument(help: "Seconds to run.") var seconds: Double
    @Argument(help: "write, seq or rand.") var mode: Mode
    @Option(name: .customShort("b"), help: "Object size in bytes.") var blockSize: Int = 4 << 20
    @Option(name: .customShort("t"), help: "Concurrent operations.") var threads: Int = 16
    @Flag(name: .customLong("no-cleanup"), help: "Keep the objects a write benchmark made (for seq/rand).") var noCleanup = false

    static func objectName(_ index: Int) -> String { "swiftrbd_bench_object\(index)" }
    static let metadataObject = "swiftrbd_bench_metadata"

    func run() async throws {
        try await options.run("benchmarking", object: "-") { io in
            let payload = ByteBuffer(bytes: (0..<blockSize).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            // For reads: how many objects a previous `write --no-cleanup` left, as it recorded
            // them (rados bench keeps the same in its benchmark_last_metadata object).
            var available = 0
            if mode != .write {
                let recorded = try? await io.read(Self.metadataObject, length: 64)
                available = recorded.flatMap { Int(String(buffer: $0)) } ?? 0
                guard available > 0 else { throw RADOSError(.notFound, "no benchmark objects: run a write benchmark with --no-cleanup first", errno: 2) }
            }
            let deadline = Date().addingTimeInterval(seconds)
            let cpuStart = Self.cpuSeconds()
            let start = Date()
            let objectCount = available
            let (ops, latency) = try await withThrowingTaskGroup(of: (Int, Double).self) { group in
                let counter = Counter()
                for _ in 0..<threads {
                    group.addTask {
                        var done = 0
                        var latency = 0.0
                        while Date() < deadline {
                            let index = await counter.next()
                            let object = mode == .write ? Self.objectName(index) : Self.objectName(mode == .seq ? index % objectCount : Int.random(in: 0..<objectCount))
                            let began = Date()
                            if mode == .write {
                                try await io.writeFull(object, payload)
                            } else {
                                _ = try await io.read(object, length: UInt64(blockSize))
                            }
                            latency += Date().timeIntervalSince(began)
                            done += 1
                        }
                        return (done, latency)
                    }
                }
                var total = 0, latency = 0.0
                for try await (done, spent) in group { total += done; latency += spent }
                return (total, latency)
            }
            let elapsed = Date().timeIntervalSince(start)
            let cpu = Self.cpuSeconds() - cpuStart
            let verb = mode == .write ? "writes" : "reads"
            print("Total time run:         \(String(format: "%.4f", elapsed))")
            print("Total \(verb) made:      \(ops)")
            print("\(mode == .write ? "Write" : "Read") size:             \(blockSize)")
            print("Bandwidth (MB/sec):     \(String(format: "%.3f", Double(ops * blockSize) / elapsed / 1_048_576))")
            print("Average IOPS:           \(Int((Double(ops) / elapsed).rounded()))")
            print("Average Latency(s):     \(String(format: "%.7f", ops > 0 ? latency / Double(ops) : 0))")
            print("Client CPU seconds:     \(String(format: "%.3f", cpu))")
            print("Client CPU per op (us): \(String(format: "%.1f", ops > 0 ? cpu / Double(ops) * 1e6 : 0))")
            if mode == .write && noCleanup {
                try await io.writeFull(Self.metadataObject, ByteBuffer(string: String(ops)))
            } else if mode == .write {
                // Best effort, as before: a failed removal does not fail the benchmark.
                for index in 0..<ops {
                    try? await io.remove(Self.objectName(index))
                }
            }
        }
    }

    /// CPU time of the whole process (all threads, user + system).
    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Hands out object indexes to the concurrent workers.
    actor Counter {
        private var value = 0
        func next() -> Int {
            defer { value += 1 }
            return value
        }
    }
}
