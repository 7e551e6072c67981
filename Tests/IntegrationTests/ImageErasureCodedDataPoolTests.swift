import Foundation
import NIOCore
import RADOSProto
import RBDCore
import Testing

/// Images whose data lives in an erasure-coded pool: the header, id and directory stay in
/// the replicated `rbd` pool, the data objects go to the EC pool named as `data_pool`
/// (`rbd create --data-pool`). Memstore OSDs refuse EC overwrites, so this suite starts a
/// bluestore cluster of its own.
@Suite(.requiresTools("ceph-mon", "ceph-osd", "ceph-mgr"), .serialized)
struct ImageErasureCodedDataPoolTests {
    /// Random bytes with a few all-zero holes, from a seeded generator.
    static func content(size: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 8) {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            mixed ^= mixed >> 31
            for byte in 0..<min(8, size - index) { bytes[index + byte] = UInt8(truncatingIfNeeded: mixed >> (8 * UInt64(byte))) }
        }
        for hole in stride(from: size / 5, to: size, by: size / 3) { bytes.replaceSubrange(hole..<min(size, hole + 300_000), with: repeatElement(0, count: min(size, hole + 300_000) - hole)) }
        return bytes
    }

    @Test(.timeLimit(.minutes(5))) func dataGoesToTheErasureCodedPoolBothWays() async throws {
        let cluster = try ThrowawayCluster.start(objectStore: "bluestore")
        defer { cluster.stop() }
        _ = try cluster.tool("ceph", ["osd", "erasure-code-profile", "set", "swiftrbd-ec", "k=2", "m=1", "crush-failure-domain=osd"])
        _ = try cluster.tool("ceph", ["osd", "pool", "create", "ecdata", "8", "8", "erasure", "swiftrbd-ec"])
        _ = try cluster.tool("ceph", ["osd", "pool", "set", "ecdata", "allow_ec_overwrites", "true"])
        _ = try cluster.tool("ceph", ["osd", "pool", "application", "enable", "ecdata", "rbd"])

        let client = try await RADOSClient.connect(try cluster.configuration())
        let io = try await client.ioContext(pool: "rbd")
        let dataPool = try #require(await client.poolID(named: "ecdata"))

        // Ours → rbd: create with the EC data pool, write, and rbd exports our bytes.
        let size = 12 << 20
        let ours = Self.content(size: size, seed: 11)
        _ = try await Image.create(io, name: "ec-ours", size: UInt64(size), options: ImageCreateOptions(order: 20, features: [.layering], dataPoolID: dataPool))
        let image = try await Image.open(io, name: "ec-ours")
        // Uneven pieces, so writes cross object boundaries and land partly in objects.
        var offset = 0
        for length in [700_001, 1 << 20, 3_333_333, 64 << 10, size] where offset < size {
            let end = min(size, offset + length)
            _ = try await image.write(offset: UInt64(offset), data: ByteBuffer(bytes: ours[offset..<end]))
            offset = end
        }
        try await image.close()
        let info = try await ImageInfo.load(io, image: "ec-ours")
        #expect(info.dataPoolID == dataPool)
        #expect(info.features.contains(.dataPool))
        let rbdInfo = try cluster.tool("rbd", ["info", "rbd/ec-ours"])
        #expect(rbdInfo.contains("data_pool: ecdata"))
        let exported = cluster.directory + "/ec-ours.out"
        _ = try cluster.tool("rbd", ["export", "--no-progress", "rbd/ec-ours", exported])
        let theirRead = try [UInt8](Data(contentsOf: URL(fileURLWithPath: exported)))
        #expect(theirRead.count == size)
        let exportMatches = theirRead == ours  // compared outside #expect: a failing 12 MB diff would hang it
        #expect(exportMatches, "rbd export of our EC-backed image differs from what we wrote")
        // The data objects are in the EC pool, none in the metadata pool.
        let prefix = info.blockNamePrefix
        #expect(try cluster.tool("rados", ["-p", "ecdata", "ls"]).contains(prefix))
        #expect(try !cluster.tool("rados", ["-p", "rbd", "ls"]).contains(prefix + "."))

        // rbd → ours: rbd imports into an EC-backed image; we read the same bytes.
        let theirs = Self.content(size: size, seed: 12)
        let source = cluster.directory + "/ec-theirs.in"
        try Data(theirs).write(to: URL(fileURLWithPath: source))
        _ = try cluster.tool("rbd", ["import", "--no-progress", "--data-pool", "ecdata", "--image-feature", "layering", "--object-size", "1M", source, "rbd/ec-theirs"])
        let imported = try await Image.open(io, name: "ec-theirs", readOnly: true)
        let readBack = try await imported.read(offset: 0, length: UInt64(size))
        #expect(readBack.readableBytes == size)
        let readMatches = Array(readBack.readableBytesView) == theirs
        #expect(readMatches, "our read of rbd's EC-backed image differs from the imported file")
        try await imported.close()

        try await Image.remove(io, name: "ec-ours")
        #expect(try !cluster.tool("rados", ["-p", "ecdata", "ls"]).contains(prefix))
        await client.shutdown()
    }
}
