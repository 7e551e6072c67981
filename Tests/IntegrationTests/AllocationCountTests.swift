import Foundation
import Testing

/// Heap allocations per 4 KiB image I/O on the release build's path, counted, not timed:
/// `rbdctl bench` (4 KiB random, 16 in flight, no cache, as `rbd bench` runs beside it in
/// `scripts/bench-rbd.sh`) runs N and 3N I/Os under a malloc counter preloaded into it
/// (`scripts/support/alloc-count.c`, the one `scripts/count-allocations.sh` uses), and
/// the difference per I/O is compared with a ceiling, so start-up and shutdown cancel
/// out. The ceilings are today's counts plus a margin for the one or two allocations
/// that the replies' batching and the I/O scheduler's merging move: they make a change
/// that adds allocations to every I/O fail here instead of going unseen until someone
/// runs the benchmark (`scripts/count-allocations.sh` once found writes at 50.7 per I/O
/// where `Docs/IOPath.md` had recorded 38.9). Lower a ceiling when the count drops. The
/// count includes the benchmark's own completion per I/O.
@Suite(.requiresCluster, .requiresTools("rbd", "gcc"), .serialized)
struct AllocationCountTests {
    /// Allocations per I/O allowed, measured at 3.7 (write) and 3.0 (read), the
    /// benchmark's own two (its completion object and the closure it calls) included.
    static let ceilings: [(kind: String, ceiling: Double)] = [("write", 6), ("read", 5)]
    static let smaller = 1000

    /// The release build's `rbdctl` (scripts/test.sh builds it: a debug build's count,
    /// about twice as high, would say little about what users run).
    static let releaseRbdctl = CABIEnvironment.root.appendingPathComponent(".build/release/rbdctl").path

    @Test func fourKiBRandomIOStaysUnderItsAllocationCeiling() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try #require(FileManager.default.isExecutableFile(atPath: Self.releaseRbdctl),
                     "no release rbdctl at \(Self.releaseRbdctl): build it with `swift build -c release --product rbdctl` (scripts/test.sh does)")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-allocs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let spec = "rbd/allocs-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            ClusterEnvironment.removeImage(spec)
            try? FileManager.default.removeItem(atPath: work)
        }
        let counter = "\(work)/alloc-count.so"
        let build = try await ClusterEnvironment.runAwaited([
            "gcc", "-O2", "-shared", "-fPIC", "-o", counter, CABIEnvironment.root.appendingPathComponent("scripts/support/alloc-count.c").path,
        ])
        try #require(build.status == 0, "gcc: \(build.stderr)")
        // Written through first, so reads find data in every object.
        _ = try await ClusterEnvironment.cephAwaited("rbd", ["create", spec, "--size", "64M", "--image-feature", "layering"])
        _ = try await ClusterEnvironment.cephAwaited("rbd", [
            "bench", "--io-type", "write", "--io-size", "4M", "--io-threads", "16", "--io-total", "64M", "--io-pattern", "seq",
            spec, "--rbd_cache=false",
        ])

        /// Allocations of one bench run of `count` I/Os.
        func allocations(_ kind: String, _ count: Int) async throws -> Int {
            let file = "\(work)/\(kind).\(count)"
            let run = try await ClusterEnvironment.runAwaited([
                "ALLOC_COUNT_FILE=\(file)", "LD_PRELOAD=\(counter)", Self.releaseRbdctl, "bench", "-c", conf,
                "--io-type", kind, "--io-size", "4K", "--io-threads", "16", "--io-total", "\(count * 4096)",
                "--io-pattern", "rand", "--rbd_cache=false", spec,
            ])
            try #require(run.status == 0, "rbdctl bench \(kind): \(run.stderr)")
            let text = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            return try #require(Int(text), "the counter wrote '\(text)'")
        }

        for (kind, ceiling) in Self.ceilings {
            let few = try await allocations(kind, Self.smaller)
            let many = try await allocations(kind, 3 * Self.smaller)
            let perIO = Double(many - few) / Double(2 * Self.smaller)
            print("allocations: 4 KiB random \(kind), 16 in flight: \(String(format: "%.1f", perIO)) per I/O (ceiling \(ceiling))")
            #expect(perIO <= ceiling, "4 KiB random \(kind): \(perIO) allocations per I/O, over the ceiling of \(ceiling)")
            #expect(perIO > 0, "4 KiB random \(kind): the counter saw no allocations; is it preloaded?")
        }
    }

    /// Allocations per I/O allowed through the C ABI, as fio's rbd engine (and QEMU) use
    /// it with librbd's default cache (write-around): measured at 11.0–12.1 (write: it
    /// varies from run to run with how the cache's acknowledgements fall across loop
    /// turns) and 4.0 (read), fio's own included.
    static let cabiCeilings: [(kind: String, ceiling: Double)] = [("randwrite", 15), ("randread", 6)]

    /// The release build's C library (scripts/test.sh builds it).
    static let releaseLibrary = CABIEnvironment.root.appendingPathComponent(".build/release/libswiftrbd.so").path

    /// The same count for the librbd C ABI: fio's rbd engine on SwiftRBD's release
    /// library (linked as librbd.so.1 and librados.so.2 in a folder of this test's own),
    /// 4 KiB random writes and reads at 16 in flight, N and 3N I/Os.
    @Test(.requiresTools("rbd", "gcc", "fio")) func theCABIsAioPathStaysUnderItsAllocationCeiling() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try #require(FileManager.default.fileExists(atPath: Self.releaseLibrary),
                     "no release library at \(Self.releaseLibrary): build it with `swift build -c release --product swiftrbd` (scripts/test.sh does)")
        let manager = FileManager.default
        let work = manager.temporaryDirectory.appendingPathComponent("swiftrbd-cabi-allocs-\(UUID().uuidString)").path
        try manager.createDirectory(atPath: work, withIntermediateDirectories: true)
        let name = "cabi-allocs-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
            try? manager.removeItem(atPath: work)
        }
        for link in ["librbd.so.1", "librados.so.2"] {
            try manager.createSymbolicLink(atPath: "\(work)/\(link)", withDestinationPath: Self.releaseLibrary)
        }
        let counter = "\(work)/alloc-count.so"
        let build = try await ClusterEnvironment.runAwaited([
            "gcc", "-O2", "-shared", "-fPIC", "-o", counter, CABIEnvironment.root.appendingPathComponent("scripts/support/alloc-count.c").path,
        ])
        try #require(build.status == 0, "gcc: \(build.stderr)")
        _ = try await ClusterEnvironment.cephAwaited("rbd", ["create", "rbd/\(name)", "--size", "64M", "--image-feature", "layering"])
        _ = try await ClusterEnvironment.cephAwaited("rbd", [
            "bench", "--io-type", "write", "--io-size", "4M", "--io-threads", "16", "--io-total", "64M", "--io-pattern", "seq",
            "rbd/\(name)", "--rbd_cache=false",
        ])

        func allocations(_ kind: String, _ count: Int) async throws -> Int {
            let file = "\(work)/\(kind).\(count)"
            let run = try await ClusterEnvironment.runAwaited([
                "env", "CEPH_CONF=\(conf)", "LD_LIBRARY_PATH=\(work)", "ALLOC_COUNT_FILE=\(file)", "LD_PRELOAD=\(counter)",
                "fio", "--name=allocs", "--ioengine=rbd", "--clientname=admin", "--pool=rbd", "--rbdname=\(name)",
                "--rw=\(kind)", "--bs=4k", "--iodepth=16", "--size=64M", "--number_ios=\(count)", "--output=\(work)/fio.\(kind).\(count)",
            ])
            try #require(run.status == 0, "fio \(kind): \(run.stderr)")
            let text = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            return try #require(Int(text), "the counter wrote '\(text)'")
        }

        for (kind, ceiling) in Self.cabiCeilings {
            let few = try await allocations(kind, 2 * Self.smaller)
            let many = try await allocations(kind, 6 * Self.smaller)
            let perIO = Double(many - few) / Double(4 * Self.smaller)
            print("allocations: C ABI (fio) 4 KiB \(kind), 16 in flight: \(String(format: "%.1f", perIO)) per I/O (ceiling \(ceiling))")
            #expect(perIO <= ceiling, "C ABI 4 KiB \(kind): \(perIO) allocations per I/O, over the ceiling of \(ceiling)")
            #expect(perIO > 0, "C ABI 4 KiB \(kind): the counter saw no allocations; is it preloaded?")
        }
    }
}
