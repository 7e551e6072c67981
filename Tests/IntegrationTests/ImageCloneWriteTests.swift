import Foundation
import NIOCore
import RADOSProto
import RBDCore
import Testing

/// Writing clones made by `rbd clone` (copy-up), checked with Ceph's own tools: after our
/// writes, zeroings and discards (with no snapshot of the clone, then with one, where
/// copy-up keeps the parent's bytes for the snapshot), `rbd export` of the clone and of
/// its snapshot equals a byte model, the parent snapshot is untouched, and with an object
/// map `rbd object-map check` finds nothing to fix. Clones of clones are written the same
/// way, and librbd's copy-ups and ours mix in one clone.
@Suite(.requiresCluster, .requiresTools("rbd"), .serialized)
struct ImageCloneWriteTests {
    static func rbd(_ arguments: [String]) async throws -> Data {
        try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.ceph("rbd", arguments) }
    }

    /// `rbd export` into a file (reading 16 MiB from its stdout pipe is slow here).
    static func export(_ spec: String) async throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-clone-write-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = try await rbd(["export", "--no-progress", spec, file])
        return Array(try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    static func expectObjectMapValid(_ spec: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await ClusterEnvironment.offThreadPool { try ImageExclusiveLockTests.expectObjectMapValid(spec, sourceLocation: sourceLocation) }
    }

    /// SplitMix64: the workload is the same for a seed, which failures print.
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
    }

    static let objectSize = 1 << 20
    static let imageSize = 16 * objectSize

    /// What one step did, to the image and to the model.
    enum Step {
        case write(offset: Int, bytes: [UInt8])
        case zero(offset: Int, length: Int)
        /// A discard of whole 64 KiB blocks (the default granularity), so exact.
        case discard(offset: Int, length: Int)
    }

    static func apply(_ step: Step, to image: Image, model: inout [UInt8]) async throws {
        switch step {
        case .write(let offset, let bytes):
            try await image.write(offset: UInt64(offset), data: ByteBuffer(bytes: bytes))
            model.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        case .zero(let offset, let length):
            try await image.writeZeroes(offset: UInt64(offset), length: UInt64(length))
            model.replaceSubrange(offset..<offset + length, with: repeatElement(0, count: length))
        case .discard(let offset, let length):
            try await image.discard(offset: UInt64(offset), length: UInt64(length))
            model.replaceSubrange(offset..<offset + length, with: repeatElement(0, count: length))
        }
    }

    /// A mixed workload over `objects`: small and large writes anywhere in them, a whole
    /// object written, one discarded whole, a tail discarded, ranges zeroed.
    static func workload(_ random: inout Random, objects: [Int]) -> [Step] {
        var steps: [Step] = []
        for _ in 0..<24 {
            let object = objects[random.below(objects.count)]
            let length = [512, 4096, 65536, 300_000][random.below(4)]
            let offset = object * objectSize + random.below(objectSize - 4096) / 512 * 512
            steps.append(.write(offset: offset, bytes: random.bytes(min(length, imageSize - offset))))
        }
        steps.append(.write(offset: objects[0] * objectSize, bytes: random.bytes(objectSize)))
        steps.append(.discard(offset: objects[1] * objectSize, length: objectSize))
        steps.append(.discard(offset: objects[2] * objectSize + 8 * 65536, length: objectSize - 8 * 65536))
        steps.append(.zero(offset: objects[3] * objectSize + 1000, length: 70_000))
        steps.append(.zero(offset: objects[2] * objectSize + 4096, length: 8192))
        return steps
    }

    /// The parent image with its snapshot `s`: random bytes in most objects; objects 3
    /// and 7 stay zeros (a copy-up of zeros writes no data), the last two are never
    /// written. Returns its bytes.
    static func makeParent(_ io: IOContext, _ name: String, _ random: inout Random) async throws -> [UInt8] {
        _ = try await rbd(["create", "--size", "\(imageSize >> 20)M", "--object-size", "\(objectSize)", "rbd/\(name)"])
        var model = [UInt8](repeating: 0, count: imageSize)
        let parent = try await Image.open(io, name: name)
        for object in 0..<14 where object != 3 && object != 7 {
            try await apply(.write(offset: object * objectSize, bytes: random.bytes(objectSize)), to: parent, model: &model)
        }
        try await parent.close()
        _ = try await rbd(["snap", "create", "--no-progress", "rbd/\(name)@s"])
        return model
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var cloneFormat: String
        /// `--image-feature` for the clone; nil for rbd's defaults (Pacific's five).
        var features: String?
        var testDescription: String { "v\(cloneFormat) \(features ?? "default features")" }
    }

    @Test(arguments: [
        Case(cloneFormat: "2", features: nil),
        Case(cloneFormat: "1", features: "layering"),
        Case(cloneFormat: "2", features: "layering,exclusive-lock,object-map,fast-diff"),
    ])
    func ourWritesToAnRbdCloneAreWhatRbdExports(_ test: Case) async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = Random(state: seed)
        let tag = UInt32.random(in: 0...UInt32.max)
        let base = "clone-write-base-\(tag)", child = "clone-write-child-\(tag)"
        let client = try await ImageCacheTests.connect()
        defer { Task { await client.shutdown() } }
        do {
            let io = try await client.ioContext(pool: "rbd")
            var model = try await Self.makeParent(io, base, &random)
            let parentModel = model
            if test.cloneFormat == "1" { _ = try await Self.rbd(["snap", "protect", "rbd/\(base)@s"]) }
            _ = try await Self.rbd(["clone", "--rbd-default-clone-format", test.cloneFormat] + (test.features.map { ["--image-feature", $0] } ?? []) + ["rbd/\(base)@s", "rbd/\(child)"])

            // No snapshot of the clone: plain copy-ups (and whole-object writes without).
            let image = try await Image.open(io, name: child)
            for step in Self.workload(&random, objects: [0, 1, 2, 3, 4, 5]) { try await Self.apply(step, to: image, model: &model) }
            try await image.createSnapshot(named: "c1")
            let snapshotModel = model
            // With a snapshot: copy-ups keep the parent's bytes for it (objects 6 to 13,
            // untouched so far, and some already copied up).
            for step in Self.workload(&random, objects: [8, 9, 10, 7, 11, 12, 13, 2]) { try await Self.apply(step, to: image, model: &model) }
            let ours = try await image.read(offset: 0, length: UInt64(Self.imageSize))
            try await image.close()

            #expect(ImageIOInteropTests.firstDifference(Array(ours.readableBytesView), model) == nil, "our read of our clone, seed \(seed)")
            let exported = try await Self.export("rbd/\(child)")
            #expect(ImageIOInteropTests.firstDifference(exported, model) == nil, "rbd export of the clone, seed \(seed)")
            let exportedSnapshot = try await Self.export("rbd/\(child)@c1")
            #expect(ImageIOInteropTests.firstDifference(exportedSnapshot, snapshotModel) == nil, "rbd export of the clone's snapshot, seed \(seed)")
            let exportedParent = try await Self.export("rbd/\(base)@s")
            #expect(exportedParent == parentModel, "the parent snapshot changed, seed \(seed)")
            if test.features?.contains("object-map") ?? true {
                try await Self.expectObjectMapValid("rbd/\(child)")
                try await Self.expectObjectMapValid("rbd/\(child)@c1")
            }
            // librbd's flatten copies up only what does not exist yet: the snapshot keeps
            // the parent's bytes (with deep-flatten it no longer reads through) only if
            // our copy-ups put them there.
            _ = try await Self.rbd(["flatten", "--no-progress", "rbd/\(child)"])
            #expect(ImageIOInteropTests.firstDifference(try await Self.export("rbd/\(child)@c1"), snapshotModel) == nil, "the clone's snapshot after rbd flatten, seed \(seed)")
            #expect(ImageIOInteropTests.firstDifference(try await Self.export("rbd/\(child)"), model) == nil, "the clone after rbd flatten, seed \(seed)")
        } catch {
            Issue.record("seed \(seed): \(error)")
        }
        _ = try? await Self.rbd(["snap", "purge", "--no-progress", "rbd/\(child)"])
        await ImageCacheTests.remove(child)
        _ = try? await Self.rbd(["snap", "unprotect", "rbd/\(base)@s"])
        _ = try? await Self.rbd(["snap", "purge", "--no-progress", "rbd/\(base)"])
        await ImageCacheTests.remove(base)
    }

    /// A clone of a clone (both made by `rbd clone`), with librbd writing into the middle
    /// one first: our copy-ups of the grandchild read through two parents, librbd's and
    /// our copy-ups mix in the middle one, and `rbd export` of every level is the model.
    @Test func clonesOfClonesAreWrittenThroughTwoParents() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = Random(state: seed)
        let tag = UInt32.random(in: 0...UInt32.max)
        let names = ["clone-chain-a-\(tag)", "clone-chain-b-\(tag)", "clone-chain-c-\(tag)"]
        let client = try await ImageCacheTests.connect()
        defer { Task { await client.shutdown() } }
        do {
            let io = try await client.ioContext(pool: "rbd")
            _ = try await Self.rbd(["create", "--size", "\(Self.imageSize >> 20)M", "--object-size", "\(Self.objectSize)", "rbd/\(names[0])"])
            var model = [UInt8](repeating: 0, count: Self.imageSize)
            let top = try await Image.open(io, name: names[0])
            for step in Self.workload(&random, objects: Array(0..<16)) { try await Self.apply(step, to: top, model: &model) }
            try await top.close()
            _ = try await Self.rbd(["snap", "create", "--no-progress", "rbd/\(names[0])@s"])
            _ = try await Self.rbd(["clone", "--rbd-default-clone-format", "2", "rbd/\(names[0])@s", "rbd/\(names[1])"])
            // librbd copies up into the middle image first; its bytes become the model.
            _ = try await Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "1M", "--io-pattern", "rand", "rbd/\(names[1])"])
            model = try await Self.export("rbd/\(names[1])")
            let middle = try await Image.open(io, name: names[1])
            for step in Self.workload(&random, objects: Array(0..<16)) { try await Self.apply(step, to: middle, model: &model) }
            try await middle.close()
            let middleModel = model
            _ = try await Self.rbd(["snap", "create", "--no-progress", "rbd/\(names[1])@s"])
            _ = try await Self.rbd(["clone", "--rbd-default-clone-format", "2", "rbd/\(names[1])@s", "rbd/\(names[2])"])
            let bottom = try await Image.open(io, name: names[2])
            for step in Self.workload(&random, objects: Array(0..<16)) { try await Self.apply(step, to: bottom, model: &model) }
            try await bottom.close()

            #expect(ImageIOInteropTests.firstDifference(try await Self.export("rbd/\(names[1])"), middleModel) == nil, "the middle clone, seed \(seed)")
            #expect(ImageIOInteropTests.firstDifference(try await Self.export("rbd/\(names[2])"), model) == nil, "the bottom clone, seed \(seed)")
            try await Self.expectObjectMapValid("rbd/\(names[1])")
            try await Self.expectObjectMapValid("rbd/\(names[2])")
        } catch {
            Issue.record("seed \(seed): \(error)")
        }
        for name in names.reversed() {
            _ = try? await Self.rbd(["snap", "purge", "--no-progress", "rbd/\(name)"])
            await ImageCacheTests.remove(name)
        }
    }

    /// Our flatten of an `rbd clone` we wrote, with a snapshot: the clone keeps every
    /// byte (`rbd export` of it and of its snapshot equal the models), `rbd info` shows no
    /// parent, and the parent snapshot loses its child, except that without deep-flatten
    /// the snapshot still reads through to the parent, as librbd leaves it.
    @Test(arguments: [true, false]) func flatteningKeepsEveryByteAndDetaches(deepFlatten: Bool) async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = Random(state: seed)
        let tag = UInt32.random(in: 0...UInt32.max)
        let base = "flatten-base-\(tag)", child = "flatten-child-\(tag)"
        let client = try await ImageCacheTests.connect()
        defer { Task { await client.shutdown() } }
        do {
            let io = try await client.ioContext(pool: "rbd")
            var model = try await Self.makeParent(io, base, &random)
            let features = deepFlatten ? [] : ["--image-feature", "layering,exclusive-lock,object-map,fast-diff"]
            _ = try await Self.rbd(["clone", "--rbd-default-clone-format", "2"] + features + ["rbd/\(base)@s", "rbd/\(child)"])

            let image = try await Image.open(io, name: child)
            for step in Self.workload(&random, objects: [0, 1, 2, 3, 4, 5]) { try await Self.apply(step, to: image, model: &model) }
            try await image.createSnapshot(named: "c1")
            let snapshotModel = model
            try await image.flatten()
            for step in Self.workload(&random, objects: [6, 8, 10, 12, 14, 15]) { try await Self.apply(step, to: image, model: &model) }
            try await image.close()

            let info = try #require(try JSONSerialization.jsonObject(with: await Self.rbd(["info", "--format", "json", "rbd/\(child)"])) as? [String: Any])
            #expect(info["parent"] == nil, "rbd info after our flatten: \(info)")
            #expect(ImageIOInteropTests.firstDifference(try await Self.export("rbd/\(child)"), model) == nil, "the flattened clone, seed \(seed)")
            #expect(ImageIOInteropTests.firstDifference(try await Self.export("rbd/\(child)@c1"), snapshotModel) == nil, "its snapshot, seed \(seed)")
            try await Self.expectObjectMapValid("rbd/\(child)")
            try await Self.expectObjectMapValid("rbd/\(child)@c1")
            let children = String(decoding: try await Self.rbd(["children", "rbd/\(base)@s"]), as: UTF8.self)
            if deepFlatten {
                #expect(!children.contains(child), "rbd children after a deep flatten: \(children)")
                _ = try await Self.rbd(["snap", "rm", "--no-progress", "rbd/\(base)@s"])
                let left = String(decoding: try await Self.rbd(["snap", "ls", "--all", "rbd/\(base)"]), as: UTF8.self)
                #expect(left.isEmpty, "the parent snapshot is gone, not in the trash: \(left)")
            } else {
                #expect(children.contains(child), "without deep-flatten the snapshot still uses the parent: \(children)")
            }
        } catch {
            Issue.record("seed \(seed): \(error)")
        }
        _ = try? await Self.rbd(["snap", "purge", "--no-progress", "rbd/\(child)"])
        await ImageCacheTests.remove(child)
        _ = try? await Self.rbd(["snap", "purge", "--no-progress", "rbd/\(base)"])
        await ImageCacheTests.remove(base)
    }
}
