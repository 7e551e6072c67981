import Foundation
import NIOCore
import RADOSProto
import RBDCore
import Testing

/// Clones made by `rbd clone` (v2, and v1 from a protected snapshot), three levels deep,
/// each written in part by librbd (copy-up) and one shrunk below its parent: what we read
/// of every level, at the head and at a snapshot, is what `rbd export` exports; our own
/// write to the deepest one copies up through both parents.
@Suite(.requiresCluster, .requiresTools("rbd"), .serialized)
struct ImageCloneReadTests {
    static func rbd(_ arguments: [String]) throws {
        _ = try ClusterEnvironment.ceph("rbd", arguments)
    }

    static func export(_ spec: String) throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-clone-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try rbd(["export", "--no-progress", spec, file])
        return Array(try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    @Test(arguments: ["2", "1"]) func weReadWhatRbdExportsAtEveryLevel(cloneFormat: String) async throws {
        let tag = UInt32.random(in: 0...UInt32.max)
        let base = "rbd/clone-base-\(tag)", child = "rbd/clone-child-\(tag)", grandchild = "rbd/clone-grand-\(tag)"
        defer {
            for spec in [grandchild, child, base] {
                _ = try? ClusterEnvironment.ceph("rbd", ["snap", "unprotect", spec + "@s"])
                ClusterEnvironment.removeImage(spec)
            }
        }
        // The base: 12 MiB written by us, in three objects of a 16 MiB image.
        try Self.rbd(["create", "--size", "16M", base])
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let io = try await client.ioContext(pool: "rbd")
        let writer = try await Image.open(io, name: String(base.dropFirst(4)))
        for block in 0..<12 {
            try await writer.write(offset: UInt64(block) << 20, data: ByteBuffer(repeating: UInt8(0x10 + block), count: 1 << 20))
        }
        try await writer.close()
        try Self.rbd(["snap", "create", "--no-progress", base + "@s"])
        if cloneFormat == "1" { try Self.rbd(["snap", "protect", base + "@s"]) }
        try Self.rbd(["clone", "--rbd-default-clone-format", cloneFormat, base + "@s", child])
        // librbd writes into the child (copy-up of object 0), snapshots it, shrinks it below
        // the parent's size, and clones it again.
        try Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "128K", "--io-pattern", "seq", child])
        try Self.rbd(["snap", "create", "--no-progress", child + "@s"])
        try Self.rbd(["resize", "--allow-shrink", "--no-progress", "--size", "10M", child])
        if cloneFormat == "1" { try Self.rbd(["snap", "protect", child + "@s"]) }
        try Self.rbd(["clone", "--rbd-default-clone-format", cloneFormat, child + "@s", grandchild])
        try Self.rbd(["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "8K", "--io-pattern", "rand", grandchild])

        for spec in [child, child + "@s", grandchild] {
            let parts = spec.dropFirst(4).split(separator: "@")
            let image = try await Image.open(io, name: String(parts[0]), snapshot: parts.count > 1 ? String(parts[1]) : nil, readOnly: true)
            let ours = try await image.read(offset: 0, length: image.size)
            try await image.close()
            let theirs = try Self.export(spec)
            #expect(ours.readableBytes == theirs.count, "\(spec): \(ours.readableBytes) bytes vs \(theirs.count)")
            #expect(ImageIOInteropTests.firstDifference(Array(ours.readableBytesView), theirs) == nil, "\(spec) (clone format \(cloneFormat))")
            #expect(theirs.contains { $0 != 0 }, "\(spec) reads data from its parents")
        }
        // Writing the grandchild copies up through both parents: rbd exports what we read.
        let clone = try await Image.open(io, name: String(grandchild.dropFirst(4)))
        var expected = Array(try await clone.read(offset: 0, length: clone.size).readableBytesView)
        try await clone.write(offset: 5 << 20, data: ByteBuffer(repeating: 0xEE, count: 4096))
        try await clone.close()
        expected.replaceSubrange((5 << 20)..<(5 << 20) + 4096, with: repeatElement(0xEE, count: 4096))
        let exported = try Self.export(grandchild)
        #expect(ImageIOInteropTests.firstDifference(exported, expected) == nil, "the written grandchild (clone format \(cloneFormat))")
    }
}
