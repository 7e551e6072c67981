import Foundation
import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// Image I/O through `Image` against Ceph's `rbd`: what we write, rbd exports byte for
/// byte (at the head and at snapshots taken in between); what rbd writes, we read.
@Suite(.requiresCluster)
struct ImageIOInteropTests {
    static func connect() async throws -> RADOSClient {
        let conf = try #require(ClusterEnvironment.cephConf)
        return try await RADOSClient.connect(try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false))
    }

    static func rbd(_ arguments: [String]) throws -> Data { try ClusterEnvironment.ceph("rbd", arguments) }

    static func export(_ spec: String) throws -> [UInt8] { Array(try rbd(["export", "--no-progress", spec, "-"])) }

    /// The first index where two byte arrays differ (or the shorter length), nil if equal.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        if a == b { return nil }
        if let index = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset { return index }
        return a.count == b.count ? nil : min(a.count, b.count)
    }

    static func unique(_ label: String) -> String { "io-\(label)-\(UInt32.random(in: 0...UInt32.max))" }


    // MARK: what we write, rbd reads

    @Test(arguments: [
        ("default", ["--size", "22M"], ""),
        ("object-1M", ["--size", "9M", "--object-size", "1M"], ""),
        ("striped", ["--size", "21M", "--object-size", "1M", "--stripe-unit", "64K", "--stripe-count", "8"], ""),
        ("namespace", ["--size", "7M", "--object-size", "1M"], "swiftrbd-io-ns"),
    ])
    func ourWritesEqualTheModel(label: String, options: [String], namespace: String) async throws {
        if !namespace.isEmpty { _ = try? Self.rbd(["namespace", "create", "rbd/\(namespace)"]) }
        let name = Self.unique(label)
        let spec = namespace.isEmpty ? "rbd/\(name)" : "rbd/\(namespace)/\(name)"
        _ = try Self.rbd(["create", spec, "--image-feature", "layering"] + options)
        defer {
            _ = try? Self.rbd(["snap", "purge", "--no-progress", spec])
            _ = try? Self.rbd(["rm", "--no-progress", spec])
        }
        let client = try await Self.connect()
        defer { Task { await client.shutdown() } }
        let io = try await client.ioContext(pool: "rbd", namespace: namespace)
        let image = try await Image.open(io, name: name)
        let size = image.size
        let objectSize = image.layout.objectSize
        var model = [UInt8](repeating: 0, count: Int(size))
        var snapshots: [(String, [UInt8])] = []
        var rng = IOTestRNG(seed: UInt64(label.utf8.reduce(17) { $0 &* 31 &+ UInt64($1) }))

        for step in 0..<48 {
            let offset = UInt64.random(in: 0..<size, using: &rng)
            // Lengths from a byte to a few objects, across object and stripe boundaries;
            // some run past the end and are clipped.
            let length = UInt64.random(in: 1...(objectSize * 2 + 70_000), using: &rng)
            let end = min(offset + length, size)
            switch step % 6 {
            case 0, 1, 2, 3:
                let bytes = IOTestRNG.bytes(Int(length), using: &rng)
                let written = try await image.write(offset: offset, data: ByteBuffer(bytes: bytes))
                #expect(UInt64(written) == end - offset)
                model.replaceSubrange(Int(offset)..<Int(end), with: bytes.prefix(Int(end - offset)))
            case 4:
                let zeroed = try await image.writeZeroes(offset: offset, length: length)
                #expect(zeroed == end - offset)
                model.replaceSubrange(Int(offset)..<Int(end), with: repeatElement(0, count: Int(end - offset)))
            default:
                // Pacific's default discard keeps partial 64 KiB blocks: discard whole
                // blocks (possibly whole objects), which must read back as zeros.
                let block: UInt64 = 64 << 10
                let start = offset / block * block
                let blocks = UInt64.random(in: 1...(objectSize / block * 2), using: &rng)
                let stop = min(start + blocks * block, size / block * block)
                guard stop > start else { continue }
                try await image.discard(offset: start, length: stop - start)
                model.replaceSubrange(Int(start)..<Int(stop), with: repeatElement(0, count: Int(stop - start)))
            }
            if step == 20 || step == 36 {
                let snap = "s\(step)"
                _ = try await ClusterEnvironment.offThreadPool { try Self.rbd(["snap", "create", "--no-progress", "\(spec)@\(snap)"]) }
                // rbd's header-update notify reaches our watch (normally before rbd
                // returns); the next write rereads the header and carries the new snap context.
                #expect(await image.waitForRefreshMark())
                snapshots.append((snap, model))
            }
        }
        try await image.flush()

        let exported = try Self.export(spec)
        #expect(Self.firstDifference(exported, model) == nil, "\(label): rbd export differs from the model")
        let ours = try await image.read(offset: 0, length: size)
        #expect(Self.firstDifference(Array(ours.readableBytesView), model) == nil, "\(label): our read differs from the model")
        for (snap, expected) in snapshots {
            let theirs = try Self.export("\(spec)@\(snap)")
            #expect(Self.firstDifference(theirs, expected) == nil, "\(label)@\(snap): rbd export differs from the model")
            let atSnap = try await Image.open(io, name: name, snapshot: snap)
            let read = try await atSnap.read(offset: 0, length: atSnap.size)
            #expect(Self.firstDifference(Array(read.readableBytesView), expected) == nil, "\(label)@\(snap): our read differs")
        }
        try await image.close()
    }

    // MARK: what rbd writes, we read

    @Test func weReadWhatRbdWroteAtHeadAndSnapshots() async throws {
        let name = Self.unique("rbdwrote")
        let spec = "rbd/\(name)"
        // Random data with zero holes, imported by rbd (default features: reading such an image is fine).
        var rng = IOTestRNG(seed: 0x1a2b3c)
        var source = [UInt8](repeating: 0, count: 13 << 20)
        for block in stride(from: 0, to: source.count, by: 64 << 10) where (block >> 16) % 3 != 1 {
            source.replaceSubrange(block..<(block + (64 << 10)), with: IOTestRNG.bytes(64 << 10, using: &rng))
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try Data(source).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = try Self.rbd(["import", "--no-progress", "--object-size", "1M", "--stripe-unit", "256K", "--stripe-count", "3", file, spec])
        defer {
            _ = try? Self.rbd(["snap", "purge", "--no-progress", spec])
            _ = try? Self.rbd(["rm", "--no-progress", spec])
        }
        _ = try Self.rbd(["snap", "create", "--no-progress", spec + "@imported"])
        _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "12K", "--io-total", "3M", "--io-pattern", "rand", spec])
        _ = try Self.rbd(["snap", "create", "--no-progress", spec + "@benched"])
        _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "1M", "--io-total", "4M", "--io-pattern", "seq", spec])

        let client = try await Self.connect()
        defer { Task { await client.shutdown() } }
        let io = try await client.ioContext(pool: "rbd")
        for snap in [nil, "imported", "benched"] as [String?] {
            let image = try await Image.open(io, name: name, snapshot: snap)
            let theirs = try Self.export(snap.map { "\(spec)@\($0)" } ?? spec)
            let ours = try await image.read(offset: 0, length: image.size)
            #expect(Self.firstDifference(Array(ours.readableBytesView), theirs) == nil, "at \(snap ?? "head")")
            if snap == "imported" { #expect(Self.firstDifference(theirs, source) == nil) }
            // Unaligned reads across stripe units and objects.
            for _ in 0..<20 {
                let offset = UInt64.random(in: 0..<image.size, using: &rng)
                let length = UInt64.random(in: 1...(3 << 20), using: &rng)
                let part = try await image.read(offset: offset, length: length)
                let end = Int(min(offset + length, image.size))
                #expect(Self.firstDifference(Array(part.readableBytesView), Array(theirs[Int(offset)..<end])) == nil, "at \(snap ?? "head") \(offset)+\(length)")
            }
            try await image.close()
        }
    }

    // MARK: refusals and edges

    @Test func writesToJournalingImagesAreRefusedReadsWork() async throws {
        let name = Self.unique("journaling")
        _ = try Self.rbd(["create", "rbd/\(name)", "--size", "8M", "--image-feature", "layering,exclusive-lock,journaling"])
        defer { _ = try? Self.rbd(["rm", "--no-progress", "rbd/\(name)"]) }
        _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "64K", "--io-pattern", "seq", "rbd/\(name)"])
        let client = try await Self.connect()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        let before = try Self.export("rbd/\(name)")
        #expect(before.contains { $0 != 0 }, "rbd bench wrote data")
        do {
            try await image.write(offset: 0, data: ByteBuffer(string: "x"))
            Issue.record("the write was not refused")
        } catch {
            #expect(error.message.contains("journaling"))
            #expect(error.errno == 30, "\(String(reflecting: error))")  // EROFS, before anything is sent
        }
        let discard = await ClusterEnvironment.refusal("a discard") { _ = try await image.discard(offset: 0, length: 1 << 20) }
        #expect(discard?.errno == 30 && discard?.message.contains("journaling") == true, "\(discard.map { String(reflecting: $0) } ?? "")")
        let zeroes = await ClusterEnvironment.refusal("a write-zeroes") { _ = try await image.writeZeroes(offset: 0, length: 4096) }
        #expect(zeroes?.errno == 30 && zeroes?.message.contains("journaling") == true, "\(zeroes.map { String(reflecting: $0) } ?? "")")
        // Reading works, and the refused writes changed nothing.
        let ours = try await image.read(offset: 0, length: image.size)
        #expect(Self.firstDifference(Array(ours.readableBytesView), before) == nil)
        #expect(Self.firstDifference(try Self.export("rbd/\(name)"), before) == nil)
        try await image.close()
    }

    @Test func pastTheEndIsClippedOrRefusedLikeClipIO() async throws {
        let name = Self.unique("edge")
        _ = try Self.rbd(["create", "rbd/\(name)", "--size", "5M", "--image-feature", "layering"])
        defer { _ = try? Self.rbd(["rm", "--no-progress", "rbd/\(name)"]) }
        let client = try await Self.connect()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        let size = image.size
        // Writing across the end writes up to the end.
        let written = try await image.write(offset: size - 100, data: ByteBuffer(repeating: 0x5a, count: 300))
        #expect(written == 100)
        let tail = try await image.read(offset: size - 200, length: 1000)
        #expect(tail.readableBytes == 200)
        #expect(Array(tail.readableBytesView) == [UInt8](repeating: 0, count: 100) + [UInt8](repeating: 0x5a, count: 100))
        // Starting at or past the end: EINVAL; zero length is always fine.
        for offset in [size, size + 1, size + (4 << 20)] {
            do {
                _ = try await image.read(offset: offset, length: 1)
                Issue.record("read at \(offset) was accepted")
            } catch {
                #expect(error.errno == 22)
            }
            let write = await ClusterEnvironment.refusal("a write at \(offset)") { _ = try await image.write(offset: offset, data: ByteBuffer(string: "y")) }
            #expect(write?.errno == 22 && write?.code == .invalidArgument, "write at \(offset): \(write.map { String(reflecting: $0) } ?? "")")
            let discard = await ClusterEnvironment.refusal("a discard at \(offset)") { _ = try await image.discard(offset: offset, length: 1) }
            #expect(discard?.errno == 22 && discard?.code == .invalidArgument, "discard at \(offset): \(discard.map { String(reflecting: $0) } ?? "")")
        }
        #expect(try await image.read(offset: size, length: 0).readableBytes == 0)
        #expect(Self.firstDifference(try Self.export("rbd/\(name)").suffix(100).map { $0 }, [UInt8](repeating: 0x5a, count: 100)) == nil)
        try await image.close()
    }

    @Test func completionFormAndFlush() async throws {
        let name = Self.unique("aio")
        _ = try Self.rbd(["create", "rbd/\(name)", "--size", "16M", "--object-size", "1M", "--image-feature", "layering"])
        defer { _ = try? Self.rbd(["rm", "--no-progress", "rbd/\(name)"]) }
        let client = try await Self.connect()
        defer { Task { await client.shutdown() } }
        let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
        var model = [UInt8](repeating: 0, count: 16 << 20)
        var completions: [IOCompletion] = []
        for index in 0..<32 {
            let offset = UInt64(index) * 500_000
            let bytes = [UInt8](repeating: UInt8(index + 1), count: 70_000)
            model.replaceSubrange(Int(offset)..<Int(offset) + bytes.count, with: bytes)
            let completion = IOCompletion()
            image.aioWrite(offset: offset, data: ByteBuffer(bytes: bytes), completion: completion)
            completions.append(completion)
        }
        // A flush issued after the writes completes only after all of them.
        let issued = completions
        let flushed: Bool = await withCheckedContinuation { continuation in
            image.aioFlush(completion: IOCompletion { _ in
                continuation.resume(returning: issued.allSatisfy { $0.returnValue == 70_000 })
            })
        }
        #expect(flushed)
        // A failing completion reports -errno.
        let failure: Int? = await withCheckedContinuation { continuation in
            image.aioRead(offset: 16 << 20, length: 1, completion: IOCompletion { continuation.resume(returning: $0.returnValue) })
        }
        #expect(failure == -22)
        let read: [UInt8] = await withCheckedContinuation { continuation in
            image.aioRead(offset: 0, length: 16 << 20, completion: IOCompletion { continuation.resume(returning: Array($0.data?.readableBytesView ?? ByteBuffer().readableBytesView)) })
        }
        #expect(Self.firstDifference(read, model) == nil)
        #expect(Self.firstDifference(try Self.export("rbd/\(name)"), model) == nil)
        try await image.close()
    }
}

/// A seeded generator (SplitMix64) so the random I/O sequences are reproducible.
struct IOTestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    /// `count` random bytes, none of them zero (so a lost write cannot pass for a hole).
    static func bytes(_ count: Int, using rng: inout IOTestRNG) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            var index = 0
            while index < count {
                var word = rng.next()
                for _ in 0..<8 where index < count {
                    raw[index] = UInt8(truncatingIfNeeded: word) | 1
                    word >>= 8
                    index += 1
                }
            }
        }
        return out
    }

    mutating func next() -> UInt64 {
        var generator = SplitMix64(seed: state)
        defer { state = generator.state }
        return generator.next()
    }
}
