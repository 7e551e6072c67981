import Foundation
import NIOCore
import RADOSProto
import RBDCache
import Testing
@testable import RBDCore

/// The image cache against a real cluster, checked with Ceph's own `rbd export`:
/// writethrough has every acknowledged write on the OSDs; writeback holds writes until a
/// flush (and close) writes them; writethrough-until-flush switches at the first flush;
/// write-around never answers a read from the cache; another client's snapshot (through
/// the exclusive-lock handover) holds every write the cache acknowledged.
@Suite(.requiresCluster, .requiresTools("rbd"))
struct ImageCacheTests {
    static func connect() async throws -> RADOSClient {
        let conf = try #require(ClusterEnvironment.cephConf)
        return try await RADOSClient.connect(try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false))
    }

    static func rbd(_ arguments: [String]) async throws -> Data {
        try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.ceph("rbd", arguments) }
    }

    static func export(_ spec: String) async throws -> [UInt8] { Array(try await rbd(["export", "--no-progress", spec, "-"])) }

    static func unique(_ label: String) -> String { "cache-\(label)-\(UInt32.random(in: 0...UInt32.max))" }

    static func create(_ name: String, features: [String] = ["--image-feature", "layering"], size: String = "8M") async throws {
        _ = try await rbd(["create", "rbd/\(name)", "--size", size] + features)
    }

    static func remove(_ name: String) async {
        _ = try? await ClusterEnvironment.offThreadPool { ClusterEnvironment.removeImage("rbd/\(name)") }
    }

    static func fill(_ value: UInt8, _ count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeRepeatingByte(value, count: count)
        return buffer
    }

    /// Creates an image, opens it with `cache` (and librbd's default I/O scheduler, which
    /// merges writes waiting behind one in flight) on a client of its own, runs `body` with
    /// the image, its name and the I/O context, then closes the image (closing twice does
    /// nothing) and removes it, also when `body` throws.
    static func withCachedImage(
        _ label: String, features: [String] = ["--image-feature", "layering"], size: String = "8M", cache: CachePolicy,
        scheduler: IOScheduler = .simple(maxDelayMilliseconds: 0), _ body: (Image, String, IOContext) async throws -> Void
    ) async throws {
        let name = unique(label)
        try await create(name, features: features, size: size)
        let client = try await connect()
        var failure: (any Error)?
        do {
            let io = try await client.ioContext(pool: "rbd")
            let image = try await Image.open(io, name: name, cache: cache, scheduler: scheduler)
            do {
                try await body(image, name, io)
            } catch {
                failure = error
            }
            try await image.close()
        } catch {
            failure = failure ?? error
        }
        await client.shutdown()
        await remove(name)
        if let failure { throw failure }
    }

    /// Writeback that only a flush (or close) writes back: no age-out during the test.
    static let holdingWriteback = CachePolicy(kind: .writeback, maxDirtyAge: 600, writethroughUntilFlush: false)

    // MARK: writethrough

    /// The guide's writethrough (`rbd_cache_max_dirty = 0`) and the writethrough policy:
    /// once a write returns, `rbd export` has it.
    @Test(arguments: [
        ("max-dirty-0", CachePolicy(kind: .writeback, maxDirtyBytes: 0, writethroughUntilFlush: false)),
        ("policy", CachePolicy(kind: .writethrough, writethroughUntilFlush: false)),
    ])
    func writethroughHasEveryWriteOnTheOSDsWhenItReturns(label: String, policy: CachePolicy) async throws {
        try await Self.withCachedImage("wt-\(label)", cache: policy) { image, name, _ in
            var model = [UInt8](repeating: 0, count: 8 << 20)
            for (step, offset) in [0, 70_000, 4 << 20, (4 << 20) - 5000].enumerated() {
                let value = UInt8(0x30 + step)
                try await image.write(offset: UInt64(offset), data: Self.fill(value, 20_000))
                model.replaceSubrange(offset..<offset + 20_000, with: repeatElement(value, count: 20_000))
                let exported = try await Self.export("rbd/\(name)")
                #expect(exported == model, "after write \(step), rbd export does not have it")
                // Reads see it too (from the cache).
                let back = try await image.read(offset: UInt64(offset), length: 20_000)
                #expect(back == Self.fill(value, 20_000))
            }
        }
    }

    // MARK: writeback

    @Test func writebackHoldsWritesUntilAFlush() async throws {
        try await Self.withCachedImage("wb", cache: Self.holdingWriteback) { image, name, _ in
            try await image.write(offset: 4096, data: Self.fill(0x41, 8192))
            try await image.write(offset: 12288, data: Self.fill(0x42, 4096))
            try await image.write(offset: (6 << 20) + 100, data: Self.fill(0x43, 300))
            // Acknowledged, readable here, not yet on the OSDs.
            #expect(try await image.read(offset: 4096, length: 12288) == { var b = Self.fill(0x41, 8192); b.writeRepeatingByte(0x42, count: 4096); return b }())
            let before = try await Self.export("rbd/\(name)")
            #expect(before.allSatisfy { $0 == 0 }, "writeback wrote before any flush")
            try await image.flush()
            let after = try await Self.export("rbd/\(name)")
            #expect(after[4096..<12288].allSatisfy { $0 == 0x41 })
            #expect(after[12288..<16384].allSatisfy { $0 == 0x42 })
            #expect(after[(6 << 20) + 100..<(6 << 20) + 400].allSatisfy { $0 == 0x43 })
            #expect(after[0..<4096].allSatisfy { $0 == 0 } && after[16384..<(6 << 20) + 100].allSatisfy { $0 == 0 })
            // Close writes back too.
            try await image.write(offset: 0, data: Self.fill(0x44, 4096))
            try await image.close()
            let closed = try await Self.export("rbd/\(name)")
            #expect(closed[0..<4096].allSatisfy { $0 == 0x44 }, "close did not write the cache back")
        }
    }

    @Test func writethroughUntilTheFirstFlushThenWriteback() async throws {
        var policy = Self.holdingWriteback
        policy.writethroughUntilFlush = true
        try await Self.withCachedImage("wtuf", cache: policy) { image, name, _ in
            try await image.write(offset: 0, data: Self.fill(0x51, 4096))
            #expect(try await Self.export("rbd/\(name)")[0..<4096].allSatisfy { $0 == 0x51 }, "before the first flush a write must be on the OSDs when it returns")
            try await image.flush()
            try await image.write(offset: 8192, data: Self.fill(0x52, 4096))
            #expect(try await Self.export("rbd/\(name)")[8192..<12288].allSatisfy { $0 == 0 }, "after the first flush writes are held (writeback)")
            try await image.flush()
            #expect(try await Self.export("rbd/\(name)")[8192..<12288].allSatisfy { $0 == 0x52 })
        }
    }

    /// Random writes, discards, write-zeroes and reads through a writeback cache that
    /// never ages out: reads match the model throughout, and after a flush `rbd export`
    /// matches it byte for byte.
    @Test(arguments: [CachePolicy.Kind.writeback, .writethrough, .writearound])
    func mixedRequestsMatchTheModel(kind: CachePolicy.Kind) async throws {
        var policy = Self.holdingWriteback
        policy.kind = kind
        policy.sizeBytes = 2 << 20  // small, so evictions happen
        policy.maxDirtyBytes = 1 << 20
        policy.targetDirtyBytes = 512 << 10
        try await Self.withCachedImage("mix-\(kind.rawValue)", size: "12M", cache: policy) { image, name, _ in
            let size = Int(image.size)
            var model = [UInt8](repeating: 0, count: size)
            var random = SystemRandomNumberGenerator()
            for step in 0..<120 {
                let offset = Int.random(in: 0..<size - 1, using: &random)
                let length = min(Int.random(in: 1...300_000, using: &random), size - offset)
                switch step % 5 {
                case 0, 1:
                    let value = UInt8(truncatingIfNeeded: step + 1)
                    try await image.write(offset: UInt64(offset), data: Self.fill(value, length))
                    model.replaceSubrange(offset..<offset + length, with: repeatElement(value, count: length))
                case 2:
                    try await image.discard(offset: UInt64(offset), length: UInt64(length), granularity: 0)
                    model.replaceSubrange(offset..<offset + length, with: repeatElement(0, count: length))
                case 3:
                    try await image.writeZeroes(offset: UInt64(offset), length: UInt64(length))
                    model.replaceSubrange(offset..<offset + length, with: repeatElement(0, count: length))
                default:
                    let back = try await image.read(offset: UInt64(offset), length: UInt64(length))
                    let bytes = back.getBytes(at: back.readerIndex, length: back.readableBytes) ?? []
                    #expect(bytes == Array(model[offset..<offset + length]), "step \(step): a read does not see the writes before it")
                }
            }
            try await image.flush()
            #expect(try await Self.export("rbd/\(name)") == model, "after a flush rbd export differs from what was written")
        }
    }

    /// A caller that issues its next write from the previous one's completion (as fio
    /// and QEMU's coroutines do): a cache acknowledges at once, yet the completion never
    /// runs inside the write call, so thousands of chained writes do not nest (they did,
    /// until the stack overflowed). Every write lands in order.
    @Test(arguments: [CachePolicy.Kind.writearound, .writeback])
    func writesChainedFromCompletionsDoNotNest(kind: CachePolicy.Kind) async throws {
        var policy = Self.holdingWriteback
        policy.kind = kind
        try await Self.withCachedImage("chain-\(kind.rawValue)", size: "16M", cache: policy) { image, name, _ in
            try await image.flush()
            let count = 3000
            let size = 4096
            let done: Int = try await withCheckedThrowingContinuation { continuation in
                @Sendable func issue(_ index: Int) {
                    guard index < count else { return continuation.resume(returning: index) }
                    image.aioWrite(offset: UInt64(index * size), data: Self.fill(UInt8(truncatingIfNeeded: index + 1), size), completion: IOCompletion { completion in
                        guard completion.returnValue == size else {
                            return continuation.resume(throwing: completion.error ?? RADOSError(.clusterError, "write \(index) returned \(completion.returnValue ?? -1)"))
                        }
                        issue(index + 1)
                    })
                }
                issue(0)
            }
            #expect(done == count)
            try await image.flush()
            let exported = try await Self.export("rbd/\(name)")
            for index in 0..<count where !exported[index * size..<(index + 1) * size].allSatisfy({ $0 == UInt8(truncatingIfNeeded: index + 1) }) {
                Issue.record("write \(index) is not on the OSDs")
                break
            }
        }
    }

    // MARK: write-around

    /// Another handle changes bytes behind the cached one's back: write-around reads
    /// them from the OSDs; the writeback object cache answers from itself (which shows
    /// the test can tell the two apart).
    @Test(arguments: [(CachePolicy.Kind.writearound, true), (.writeback, false)])
    func writeAroundNeverServesAReadFromTheCache(kind: CachePolicy.Kind, seesOtherWriter: Bool) async throws {
        var policy = Self.holdingWriteback
        policy.kind = kind
        try await Self.withCachedImage("wa-\(kind.rawValue)", cache: policy) { cached, name, io in
            let plain = try await Image.open(io, name: name)
            try await cached.write(offset: 0, data: Self.fill(0x61, 4096))
            try await cached.flush()
            #expect(try await cached.read(offset: 0, length: 4096) == Self.fill(0x61, 4096))
            try await plain.write(offset: 0, data: Self.fill(0x62, 4096))
            let seen = try await cached.read(offset: 0, length: 4096)
            #expect(seen == Self.fill(seesOtherWriter ? 0x62 : 0x61, 4096))
            try await plain.close()
        }
    }

    // MARK: readahead

    /// Sequential reads through the object cache read ahead: bytes another handle
    /// changes after they were read ahead still read as they were (proof they came from
    /// the cache); with `rbd_readahead_max_bytes = 0`, or write-around (no object
    /// cache), they read as changed.
    @Test(arguments: [("readahead", CachePolicy.Kind.writeback, UInt64(512 << 10), true), ("off", .writeback, 0, false), ("write-around", .writearound, 512 << 10, false)])
    func sequentialReadsReadAhead(_ label: String, kind: CachePolicy.Kind, maxBytes: UInt64, cached: Bool) async throws {
        var policy = Self.holdingWriteback
        policy.kind = kind
        policy.readaheadMaxBytes = maxBytes
        try await Self.withCachedImage("ra-\(label)", cache: policy) { image, name, io in
            let plain = try await Image.open(io, name: name)
            try await plain.write(offset: 0, data: Self.fill(0x91, 1 << 20))
            // Ten 4 KiB reads in a row trigger readahead (rbd_readahead_trigger_requests =
            // 10): 40 KiB from 40 KiB on. Its read goes out before the tenth read's, to
            // the same object, so the OSD has answered it when the tenth read returns.
            for index in 0..<10 {
                _ = try await image.read(offset: UInt64(index * 4096), length: 4096)
            }
            try await plain.write(offset: 0, data: Self.fill(0x92, 1 << 20))
            let ahead = try await image.read(offset: 53248, length: 4096)
            #expect(ahead == Self.fill(cached ? 0x91 : 0x92, 4096), "\(label): the bytes read ahead \(cached ? "were not" : "were") served from the cache")
            try await plain.close()
        }
    }

    // MARK: exclusive-lock handover

    /// On Pacific's default features, `rbd snap create` from another client asks us for
    /// the exclusive lock; we write the cache back before releasing it, so the snapshot
    /// holds every write we acknowledged. Afterwards our handle takes the lock back.
    @Test func anotherClientsSnapshotHoldsEveryAcknowledgedWrite() async throws {
        try await Self.withCachedImage("handover", features: [], cache: Self.holdingWriteback) { image, name, _ in
            try await image.write(offset: 1 << 20, data: Self.fill(0x71, 65536))
            #expect(try await Self.export("rbd/\(name)")[(1 << 20)..<(1 << 20) + 65536].allSatisfy { $0 == 0 }, "the write was not held in the cache")
            _ = try await Self.rbd(["snap", "create", "rbd/\(name)@s1"])
            let snapshot = try await Self.export("rbd/\(name)@s1")
            #expect(snapshot[(1 << 20)..<(1 << 20) + 65536].allSatisfy { $0 == 0x71 }, "the snapshot lacks a write the cache had acknowledged")
            try await image.write(offset: 0, data: Self.fill(0x72, 4096))
            try await image.close()
            let head = try await Self.export("rbd/\(name)")
            #expect(head[0..<4096].allSatisfy { $0 == 0x72 })
            #expect(try await Self.export("rbd/\(name)@s1")[0..<4096].allSatisfy { $0 == 0 })
        }
    }

    /// Our own snapshot, resize and rollback see the cache's acknowledged writes.
    @Test func ourSnapshotAndRollbackSeeTheCache() async throws {
        try await Self.withCachedImage("own-snap", features: [], cache: Self.holdingWriteback) { image, name, _ in
            try await image.write(offset: 0, data: Self.fill(0x81, 8192))
            try await image.createSnapshot(named: "s1")
            #expect(try await Self.export("rbd/\(name)@s1")[0..<8192].allSatisfy { $0 == 0x81 })
            try await image.write(offset: 0, data: Self.fill(0x82, 8192))
            #expect(try await image.read(offset: 0, length: 8192) == Self.fill(0x82, 8192))
            try await image.rollback(toSnapshot: "s1")
            // The cache forgot the head's bytes: the rolled-back data is read.
            #expect(try await image.read(offset: 0, length: 8192) == Self.fill(0x81, 8192))
            try await image.close()
            #expect(try await Self.export("rbd/\(name)")[0..<8192].allSatisfy { $0 == 0x81 })
        }
    }
}
