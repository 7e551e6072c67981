import Foundation
import NIOCore
import RADOSProto
import RBDCore
import Testing

/// A snapshot taken while our own writes are in flight: every write issued before
/// `createSnapshot` is in the snapshot, each write issued while it runs is wholly on one
/// side, later writes are only in the head, nothing is lost or left waiting (the write
/// gate the snapshot closes is released on every path). Ceph's `rbd export` judges both
/// sides.
///
/// What this cannot show is the gate's ordering itself: one client's writes to an object
/// reach its OSD in order over one session, so without a cache a write issued before the
/// snapshot lands in it even ungated (checked: this test passes with the gate removed).
/// `WriteTrackerTests` drives the gate by hand; it matters once a cache or the object
/// map holds state a snapshot must see settled, as in librbd.
@Suite(.requiresCluster, .serialized)
struct ImageSnapshotWriteTests {
    /// Block `index` of a 16 MiB image: 4 KiB at a 64 KiB stride (every object gets
    /// blocks from each group, so writes before and during the snapshot share objects).
    static func offset(_ index: Int) -> Int { index * (64 << 10) }

    @Test func writesBeforeTheSnapshotAreInItAndLaterOnesAreNot() async throws {
        let name = "snap-inflight-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "16M", "--image-feature", "layering"])
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)

        // Blocks 0..<128 are written before the snapshot is asked for, 128..<256 while it
        // runs, then blocks 0..<64 again after it returned.
        func start(_ indices: Range<Int>, byte: @escaping (Int) -> UInt8) -> [IOCompletion] {
            indices.map { index in
                let completion = IOCompletion()
                image.aioWrite(offset: UInt64(Self.offset(index)), data: ByteBuffer(repeating: byte(index), count: 4096), completion: completion)
                return completion
            }
        }
        let before = start(0..<128) { UInt8($0 % 200 + 1) }
        async let snapshot: Void = image.createSnapshot(named: "cut")
        let during = start(128..<256) { UInt8($0 % 200 + 1) }
        try await snapshot
        let after = start(0..<64) { _ in 0xEE }
        try await image.flush()
        for (group, completions) in [("before", before), ("during", during), ("after", after)] {
            #expect(completions.allSatisfy { $0.returnValue == 4096 }, "\(group): \(completions.map { $0.returnValue ?? -1 })")
        }

        let snap = [UInt8](try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)@cut", "-"]))
        let head = [UInt8](try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)", "-"]))
        #expect(snap.count == 16 << 20 && head.count == 16 << 20)
        func block(_ bytes: [UInt8], _ index: Int) -> [UInt8] { Array(bytes[Self.offset(index)..<(Self.offset(index) + 4096)]) }
        let missing = (0..<128).filter { block(snap, $0) != [UInt8](repeating: UInt8($0 % 200 + 1), count: 4096) }
        #expect(missing.isEmpty, "writes issued before the snapshot are not in it: blocks \(missing)")
        // A write issued during the snapshot is wholly on one side: its bytes or zeros.
        let torn = (128..<256).filter { ![[UInt8](repeating: UInt8($0 % 200 + 1), count: 4096), [UInt8](repeating: 0, count: 4096)].contains(block(snap, $0)) }
        #expect(torn.isEmpty, "blocks \(torn)")
        #expect((0..<64).allSatisfy { block(head, $0) == [UInt8](repeating: 0xEE, count: 4096) }, "the head lacks the writes after the snapshot")
        #expect((64..<256).allSatisfy { block(head, $0) == [UInt8](repeating: UInt8($0 % 200 + 1), count: 4096) }, "the head lost writes")
        try await image.close()
    }
}
