import Foundation
import RADOSProto
import Testing
@testable import RBDCore

/// Our striping and object naming against images Ceph's own `rbd import` lays out:
/// fetch every data object with `rados get`, put the image back together with
/// ``Striper``, and compare it with the file that was imported, byte for byte.
@Suite(.requiresCluster)
struct StriperInteropTests {
    static func pattern(count: Int, seed: UInt64) -> Data {
        var state = seed | 1
        var data = Data(count: count)
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            var index = 0
            while index < count {
                // xorshift64: fast, deterministic, good enough to tell bytes apart.
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                let word = state
                for shift in stride(from: 0, to: 64, by: 8) where index < count {
                    raw[index] = UInt8(truncatingIfNeeded: word >> UInt64(shift))
                    index += 1
                }
            }
        }
        // Leave a hole so that one stripe unit is zeros and may be sparse.
        if count > 200_000 { data.replaceSubrange(100_000..<200_000, with: Data(count: 100_000)) }
        return data
    }

    @Test(arguments: [
        ("default", [String](), 3_500_000),
        ("fancy", ["--object-size", "1M", "--stripe-unit", "64K", "--stripe-count", "8"], 3_000_000),
        ("small", ["--object-size", "64K", "--stripe-unit", "4K", "--stripe-count", "3"], 1_000_000),
    ])
    func rbdImportIsReassembledByOurStriper(label: String, options: [String], size: Int) throws {
        let name = "striper-\(label)-\(UInt32.random(in: 0...UInt32.max))"
        let original = Self.pattern(count: size, seed: UInt64(size))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source")
        try original.write(to: source)

        _ = try ClusterEnvironment.ceph("rbd", ["import", "--no-progress"] + options + [source.path, "rbd/\(name)"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }

        let info = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", "rbd/\(name)"])) as? [String: Any])
        let prefix = try #require(info["block_name_prefix"] as? String)
        let imageSize = try #require(info["size"] as? Int)
        let order = try #require(info["order"] as? Int)
        let unit = (info["stripe_unit"] as? Int) ?? (1 << order)
        let count = (info["stripe_count"] as? Int) ?? 1
        #expect(imageSize == size)
        let layout = try StripeLayout(objectSize: UInt64(1) << UInt64(order), stripeUnit: UInt64(unit), stripeCount: UInt64(count))

        // The header and id objects carry the names librbd gives them.
        let imageID = String(prefix.dropFirst("rbd_data.".count))
        #expect(prefix == RBDObjectNames.dataPrefix(imageID: imageID))
        let listing = Set(String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "ls"]), as: UTF8.self).split(separator: "\n").map(String.init))
        #expect(listing.contains(RBDObjectNames.header(imageID: imageID)))
        #expect(listing.contains(RBDObjectNames.id(imageName: name)))

        // Fetch every data object that exists; a missing one reads as zeros.
        var objects: [UInt64: Data] = [:]
        let objectCount = Striper.objectCount(layout, imageSize: UInt64(imageSize))
        for number in 0..<objectCount {
            let objectName = RBDObjectNames.data(prefix: prefix, objectNumber: number)
            guard listing.contains(objectName) else { continue }
            let file = directory.appendingPathComponent("obj-\(number)")
            _ = try ClusterEnvironment.ceph("rados", ["-p", "rbd", "get", objectName, file.path])
            objects[number] = try Data(contentsOf: file)
        }
        #expect(!objects.isEmpty)
        // No data object beyond what the image can reach.
        let stray = listing.filter { $0.hasPrefix(prefix + ".") }.compactMap { UInt64($0.dropFirst(prefix.count + 1), radix: 16) }.filter { $0 >= objectCount }
        #expect(stray.isEmpty)

        var rebuilt = Data(count: imageSize)
        for extent in Striper.objectExtents(layout, offset: 0, length: UInt64(imageSize)) {
            guard let object = objects[extent.objectNumber] else { continue }
            var objectOffset = Int(extent.offset)
            for piece in extent.bufferExtents {
                let available = max(0, min(Int(piece.length), object.count - objectOffset))
                if available > 0 {
                    rebuilt.replaceSubrange(Int(piece.offset)..<(Int(piece.offset) + available), with: object[objectOffset..<(objectOffset + available)])
                }
                objectOffset += Int(piece.length)
            }
        }
        // Compare as a Bool (a failing `==` on megabytes of Data makes the test library diff them for minutes).
        let firstDifference = zip(rebuilt, original).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(rebuilt.count == original.count)
        #expect(firstDifference == nil, "image \(label) reassembled by our Striper differs from what rbd imported, first at byte \(firstDifference ?? -1)")
    }
}
