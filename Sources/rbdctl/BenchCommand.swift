import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RADOSProto
import RBDCore

/// `rbdctl bench --io-type read|write|readwrite SPEC`: image I/O benchmark with the
/// output of `rbd bench` (ceph/ceph `src/tools/rbd/action/Bench.cc`): a header line,
/// per-second lines (ops so far, ops/s and bytes/s over the last five seconds), and the
/// `elapsed: … ops: … ops/sec: … bytes/sec: …` summary, with read/write lines for
/// readwrite. `--io-threads` asynchronous I/Os are kept in flight (``BenchWorkload``).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark image I/O, like rbd bench.", discussion: "Example:\n  rbdctl bench --io-type write --io-size 4K --io-threads 16 --io-total 1G rbd/vm1")

    enum IOType: String, ExpressibleByArgument { case read, write, readwrite, rw }
    enum Pattern: String, ExpressibleByArgument { case seq, rand }

    @Argument(help: "pool/[namespace/]image[@snap] or rbd:….") var spec: String
    @Option(name: .customLong("io-type"), help: "read, write or readwrite.") var ioType: IOType
    @Option(name: .customLong("io-size"), help: "I/O size (B/K/M/G), default 4K.") var ioSize: String = "4K"
    @Option(name: .customLong("io-threads"), help: "I/Os in flight, default 16.") var ioThreads: Int = 16
    @Option(name: .customLong("io-total"), help: "Total bytes (B/K/M/G), default 1G.") var ioTotal: String = "1G"
    @Option(name: .customLong("io-pattern"), help: "seq or rand, default seq.") var ioPattern: Pattern = .seq
    @Option(name: .customLong("rw-mix-read"), help: "Read share of readwrite in percent, default 50.") var rwMixRead: Int = 50
    @Flag(name: .customLong("exclusive"), help: "Take the exclusive lock first and keep it: other clients' requests for it are refused (like rbd device map -o exclusive).") var exclusive = false
    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var encryption: EncryptionOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        guard let size = ImageCommandSupport.parseBytes(ioSize) else { throw ImageCommandSupport.invalid(ioSize, for: "--io-size") }
        guard size > 0 else { throw ImageCommandSupport.usage("--io-size should be greater than zero.") }
        guard let total = ImageCommandSupport.parseBytes(ioTotal) else { throw ImageCommandSupport.invalid(ioTotal, for: "--io-total") }
        guard ioThreads > 0 else { throw ImageCommandSupport.usage("--io-threads should be greater than zero.") }
        guard (0...100).contains(rwMixRead) else { throw ImageCommandSupport.usage("--rw-mix-read should be between 0 and 100.") }
        let type = ioType == .rw ? .readwrite : ioType
        let readShare = type == .read ? 100 : type == .write ? 0 : rwMixRead
        try await ImageCommandSupport.run("bench", spec: spec, cluster: cluster) { _, io, configuration in
            // The cache and I/O scheduler librbd's `rbd bench` would use: the configuration's.
            let cache = try configuration.cachePolicy()
            let scheduler = try configuration.ioScheduler()
            try await ImageCommandSupport.withImage(io, name: spec.image, snapshot: spec.snapshot, readOnly: type == .read, cache: cache, scheduler: scheduler, encryption: encryption) { image in
                let imageSize = image.size
                guard size <= imageSize else {
                    throw RADOSError(.invalidArgument, "io-size \(ByteCount.format(size)) larger than image size \(ByteCount.format(imageSize))", errno: 22)
                }
                if exclusive { try await image.acquireExclusiveLock() }
                // A flush first, as rbd bench does: it also ends writethrough-until-flush,
                // so the cache runs in the mode it is configured for.
                try await image.flush()
                var header = "bench  type \(type.rawValue)"
                if type == .readwrite { header += " read:write=\(readShare):\(100 - readShare)" }
                header += " io_size \(size) io_threads \(ioThreads) bytes \(total) pattern \(ioPattern == .rand ? "random" : "sequential")"
                print(header)
                print("  SEC       OPS   OPS/SEC   BYTES/SEC")
                fflush(nil)

                let workload = BenchWorkload(image: image, ioSize: size, total: total, random: ioPattern == .rand, readShare: readShare)
                let counters = workload.counters
                let start = DispatchTime.now().uptimeNanoseconds
                let reporter = Task { await Self.report(counters, start: start) }
                do {
                    try await workload.run(depth: ioThreads)
                } catch {
                    reporter.cancel()
                    throw error
                }
                try await image.flush()
                reporter.cancel()
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let final = counters.withLockedValue { $0 }
                let ops = final.reads + final.writes
                print("elapsed: \(Int(elapsed))   ops: \(ops)   ops/sec: \(Self.g(Double(ops) / elapsed))   bytes/sec: \(ByteCount.format(UInt64(Double(ops * size) / elapsed)))/s")
                if type == .readwrite {
                    print("read_ops: \(final.reads)   read_ops/sec: \(Self.g(Double(final.reads) / elapsed))   read_bytes/sec: \(ByteCount.format(UInt64(Double(final.reads * size) / elapsed)))/s")
                    print("write_ops: \(final.writes)   write_ops/sec: \(Self.g(Double(final.writes) / elapsed))   write_bytes/sec: \(ByteCount.format(UInt64(Double(final.writes * size) / elapsed)))/s")
                }
            }
        }
    }

    /// Once a second: ops so far, and ops/s and bytes/s over the last five seconds.
    static func report(_ counters: NIOLockedValueBox<BenchWorkload.Counters>, start: UInt64) async {
        var window: [(seconds: Double, ops: UInt64, bytes: UInt64)] = []
        var last = (time: start, ops: UInt64(0), bytes: UInt64(0))
        var second = 1
        while !Task.isCancelled {
            let wake = start + UInt64(second) * 1_000_000_000
            let now = DispatchTime.now().uptimeNanoseconds
            if wake > now { try? await Task.sleep(nanoseconds: wake - now) }
            if Task.isCancelled { return }
            let snapshot = counters.withLockedValue { $0 }
            let time = DispatchTime.now().uptimeNanoseconds
            let ops = snapshot.reads + snapshot.writes
            window.append((Double(time - last.time) / 1e9, ops - last.ops, snapshot.bytes - last.bytes))
            if window.count > 5 { window.removeFirst() }
            last = (time, ops, snapshot.bytes)
            let seconds = window.reduce(0) { $0 + $1.seconds }
            let opsRate = Double(window.reduce(0) { $0 + $1.ops }) / seconds
            let bytesRate = Double(window.reduce(0) { $0 + $1.bytes }) / seconds
            print(pad(String(second), 5) + pad(String(ops), 10) + pad(String(Int(opsRate)), 10) + pad(ByteCount.format(UInt64(bytesRate)), 10) + "/s")
            fflush(nil)
            second += 1
        }
    }

    static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// A double as iostream prints it by default (6 significant digits, like %g).
    static func g(_ value: Double) -> String { String(format: "%g", value) }
}

/// Byte counts as Ceph's `byte_u_t` prints them ("31 MiB", "9.3 MiB", "512 B"): the
/// largest binary unit, with as many of two decimals as fit in seven characters, and
/// none for exact multiples (ceph/ceph `src/include/types.h`, `format_u`).
enum ByteCount {
    static func format(_ value: UInt64) -> String {
        let units = [" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB"]
        var n = value
        var index = 0
        while n >= 1024, index < units.count - 1 {
            n /= 1024
            index += 1
        }
        let multiplier = UInt64(1) << UInt64(10 * index)
        if index == 0 || value % multiplier == 0 { return "\(n)\(units[index])" }
        var text = ""
        for precision in stride(from: 2, through: 0, by: -1) {
            text = String(format: "%.*f%@", precision, Double(value) / Double(multiplier), units[index])
            if text.count <= 7 { break }
        }
        return text
    }
}
