import Foundation
import NIOCore
import RADOSProto
import RBDCore
import Testing

/// `rbdctl diff` and `rbdctl du` print what `rbd diff` and `rbd du` print, for workloads of both clients between
/// snapshots: exact (list-snaps) and whole-object (fast diff from the object maps, or
/// list-snaps without fast diff), text and JSON, from a snapshot and from the start, at
/// the head and at a snapshot.
@Suite(.requiresCluster, .requiresTools("rbd"), .serialized)
struct ImageDiffInteropTests {
    static func rbd(_ arguments: [String]) throws -> String {
        String(decoding: try ClusterEnvironment.ceph("rbd", arguments), as: UTF8.self)
    }

    static func rbdctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let result = try ClusterEnvironment.run([ClusterEnvironment.rbdctl] + arguments + ["-c", try #require(ClusterEnvironment.cephConf)])
        return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
    }

    /// Random 4 KiB–1 MiB writes and discards through our client.
    static func workload(_ image: Image, seed: inout UInt64, count: Int) async throws {
        for _ in 0..<count {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let offset = (seed >> 20) % (image.size - (1 << 20)) / 4096 * 4096
            let length = 4096 * (1 + (seed >> 8) % 256)
            if seed % 5 == 0 {
                try await image.discard(offset: offset, length: length, granularity: 0)
            } else {
                try await image.write(offset: offset, data: ByteBuffer(repeating: UInt8(truncatingIfNeeded: seed), count: Int(length)))
            }
        }
    }

    @Test(arguments: [("fast-diff", [String]()), ("layering", ["--image-feature", "layering"])])
    func ourDiffIsRbds(label: String, features: [String]) async throws {
        let name = "diff-\(label)-\(UInt32.random(in: 0...UInt32.max))"
        let spec = "rbd/\(name)"
        _ = try Self.rbd(["create", "--size", "40M", spec] + features)
        defer { ClusterEnvironment.removeImage(spec) }
        var seed = UInt64.random(in: 0...UInt64.max)
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        try await Self.workload(image, seed: &seed, count: 12)
        try await image.createSnapshot(named: "s1")
        try await Self.workload(image, seed: &seed, count: 8)
        try await image.close()
        _ = try await ClusterEnvironment.offThreadPool { try Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "1M", "--io-pattern", "rand", spec]) }
        _ = try Self.rbd(["snap", "create", "--no-progress", spec + "@s2"])
        let again = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        try await Self.workload(again, seed: &seed, count: 6)
        try await again.close()

        // rbd du (built on the same whole-object diffs): every row, text and JSON.
        for target in [spec, spec + "@s1", spec + "@s2"] {
            for format in [[], ["--format", "json"]] {
                let arguments = ["du"] + format + [target]
                let theirs = try Self.rbd(arguments)
                let ours = try Self.rbdctl(arguments)
                #expect(ours.status == 0 && ours.stdout == theirs, "rbdctl \(arguments.joined(separator: " ")) (seed \(seed))\nours:\n\(ours.stdout)\(ours.stderr)\nrbd:\n\(theirs)")
            }
        }
        for target in [spec, spec + "@s2"] {
            for from in [[], ["--from-snap", "s1"]] {
                for whole in [[], ["--whole-object"]] {
                    for format in [[], ["--format", "json"]] {
                        let arguments = ["diff"] + from + whole + format + [target]
                        let theirs = try Self.rbd(arguments)
                        let ours = try Self.rbdctl(arguments)
                        #expect(ours.status == 0, "rbdctl \(arguments.joined(separator: " ")): \(ours.stderr) (seed \(seed))")
                        #expect(ours.stdout == theirs, "rbdctl \(arguments.joined(separator: " ")) (seed \(seed))\nours:\n\(ours.stdout)\nrbd:\n\(theirs)")
                    }
                }
            }
        }
    }
}
