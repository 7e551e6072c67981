import NIOCore
import Testing
@testable import DiskImageFormats

/// The qcow2 reader against files built byte by byte (`QCOW2Builder`): every kind of
/// cluster, both versions, ranges that start and end inside clusters, and hostile files
/// that must fail with a line naming what is wrong.
@Suite struct QCOW2ReaderTests {
    static func pattern(_ seed: UInt8, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ ($0 >> 9)) | 1 }
    }

    static func reader(_ builder: QCOW2Builder) throws -> QCOW2Reader<MemorySource> {
        try QCOW2Reader(source: MemorySource(builder.build()))
    }

    static func failure(_ builder: QCOW2Builder, read: Bool = false) -> DiskImageError? {
        do {
            var reader = try reader(builder)
            if read { _ = try guestBytes(&reader) }
            return nil
        } catch let error as DiskImageError {
            return error
        } catch {
            return nil
        }
    }

    @Test(arguments: [UInt32(2), 3])
    func everyKindOfClusterReadsAsTheGuestWroteIt(version: UInt32) throws {
        // 64 KiB clusters, 10.5 clusters (the last one partial): data, compressed,
        // unallocated and (version 3) zero clusters, and a run of clusters stored
        // one after the other.
        let size = UInt64(10 << 16) + 32768
        var builder = QCOW2Builder(virtualSize: size, version: version)
        var model = [UInt8](repeating: 0, count: Int(size))
        func put(_ cluster: UInt64, _ kind: QCOW2Builder.Cluster, _ bytes: [UInt8]) {
            builder.clusters[cluster] = kind
            model.replaceSubrange(Int(cluster << 16)..<Int(cluster << 16) + bytes.count, with: bytes)
        }
        let a = Self.pattern(1, 1 << 16), b = Self.pattern(2, 1 << 16), c = Self.pattern(3, 1 << 16)
        put(0, .data(a), a)
        put(2, .compressed(b), b)
        put(3, .data(c), c)
        put(4, .data(a), a)
        if version == 3 { put(6, .zero, []) }
        let tail = Self.pattern(9, 32768)
        put(10, .compressed(tail), tail)
        var reader = try Self.reader(builder)
        #expect(reader.virtualSize == size)
        #expect(reader.header.version == version)
        #expect(try guestBytes(&reader) == model)
        // Unaligned ranges give the same bytes.
        #expect(try guestBytes(&reader, chunk: 12345) == model)
        // Clusters 3 and 4 lie one after the other in the file: one segment.
        let segments = try reader.segments(at: 3 << 16, length: 2 << 16)
        #expect(segments.count == 1)
        #expect(segments.first.map { $0.offset == 3 << 16 && $0.bytes.readableBytes == 2 << 16 } == true)
        // Unallocated and zero clusters yield nothing.
        #expect(try reader.segments(at: 5 << 16, length: 2 << 16).isEmpty)
        #expect(try reader.segments(at: size, length: 1 << 16).isEmpty)
        #expect(try reader.descriptor(ofCluster: 1) == .unallocated)
        if version == 3 { #expect(try reader.descriptor(ofCluster: 6) == .zero) }
    }

    @Test func smallClustersAndSeveralL2Tables() throws {
        // 512-byte clusters: one L2 table covers 32 KiB, so 100 KiB needs four.
        let size = UInt64(100 << 10)
        var builder = QCOW2Builder(virtualSize: size, clusterBits: 9)
        var model = [UInt8](repeating: 0, count: Int(size))
        for cluster in stride(from: UInt64(0), to: size / 512, by: 7) {
            let bytes = Self.pattern(UInt8(truncatingIfNeeded: cluster), 512)
            builder.clusters[cluster] = cluster % 3 == 0 ? .compressed(bytes) : .data(bytes)
            model.replaceSubrange(Int(cluster * 512)..<Int(cluster * 512) + 512, with: bytes)
        }
        var reader = try Self.reader(builder)
        #expect(try guestBytes(&reader, chunk: 4096) == model)
    }

    @Test func probeTellsQcow2FromRaw() throws {
        #expect(try DiskImageFormat.probe(MemorySource(QCOW2Builder(virtualSize: 1 << 20).build())) == .qcow2)
        #expect(try DiskImageFormat.probe(MemorySource([0x51, 0x46, 0x49, 0xFA, 0])) == .raw)
        #expect(try DiskImageFormat.probe(MemorySource([0x51])) == .raw)
        var raw = try DiskImageFormat.raw.reader(MemorySource(Array(1...10)))
        #expect(raw.virtualSize == 10)
        #expect(try raw.segments(at: 8, length: 100).map { Array($0.bytes.readableBytesView) } == [[9, 10]])
    }

    @Test func featuresTheReaderDoesNotHaveAreNamed() throws {
        var backing = QCOW2Builder(virtualSize: 1 << 20)
        let name = Array("base.qcow2".utf8)
        backing.patches = [(8, [0, 0, 0, 0, 0, 0, 0x02, 0]), (16, [0, 0, 0, UInt8(name.count)]), (512, name)]
        #expect(Self.failure(backing).map { $0.code == .unsupported && $0.message.contains("backing file 'base.qcow2'") } == true)

        var encrypted = QCOW2Builder(virtualSize: 1 << 20)
        encrypted.patches = [(32, [0, 0, 0, 2])]
        #expect(Self.failure(encrypted).map { $0.code == .unsupported && $0.message.contains("encrypted (LUKS)") } == true)

        var extended = QCOW2Builder(virtualSize: 1 << 20)
        extended.incompatibleFeatures = 1 << 4
        #expect(Self.failure(extended).map { $0.code == .unsupported && $0.message.contains("extended L2") && $0.errno == 95 } == true)

        var zstd = QCOW2Builder(virtualSize: 1 << 20)
        zstd.incompatibleFeatures = 1 << 3
        zstd.patches = [(104, [1])]
        #expect(Self.failure(zstd).map { $0.message.contains("zstd") } == true)

        var external = QCOW2Builder(virtualSize: 1 << 20)
        external.incompatibleFeatures = 1 << 2
        #expect(Self.failure(external).map { $0.message.contains("external data file") } == true)

        var unknown = QCOW2Builder(virtualSize: 1 << 20)
        unknown.incompatibleFeatures = 1 << 9
        #expect(Self.failure(unknown).map { $0.message.contains("unknown incompatible features (0x200)") } == true)

        var corrupt = QCOW2Builder(virtualSize: 1 << 20)
        corrupt.incompatibleFeatures = 1 << 1
        #expect(Self.failure(corrupt).map { $0.code == .corrupt && $0.message.contains("qemu-img check") } == true)

        // The dirty bit only concerns refcounts: such an image reads.
        var dirty = QCOW2Builder(virtualSize: 1 << 20)
        dirty.incompatibleFeatures = 1
        #expect(Self.failure(dirty, read: true) == nil)

        var version4 = QCOW2Builder(virtualSize: 1 << 20)
        version4.patches = [(4, [0, 0, 0, 4])]
        #expect(Self.failure(version4).map { $0.message.contains("version 4") } == true)
    }

    @Test func hostileFilesFailWithTheirFault() throws {
        #expect(throws: DiskImageError.self) { try QCOW2Reader(source: MemorySource([0x51, 0x46, 0x49, 0xFB])) }

        var bigClusters = QCOW2Builder(virtualSize: 1 << 20)
        bigClusters.patches = [(20, [0, 0, 0, 30])]
        #expect(Self.failure(bigClusters).map { $0.message.contains("cluster_bits 30") } == true)

        var shortL1 = QCOW2Builder(virtualSize: 1 << 40)
        shortL1.l1EntriesOverride = 1
        #expect(Self.failure(shortL1).map { $0.message.contains("L1 table has 1 entries") } == true)

        var hugeL1 = QCOW2Builder(virtualSize: 1 << 20)
        hugeL1.l1EntriesOverride = .max
        #expect(Self.failure(hugeL1).map { $0.message.contains("at most") } == true)

        var l1Outside = QCOW2Builder(virtualSize: 1 << 20)
        l1Outside.patches = [(40, [0, 0, 0, 0, 0x10, 0, 0, 0])]
        #expect(Self.failure(l1Outside).map { $0.message.contains("L1 table at offset") } == true)

        // An L2 table beyond the end of the file, and one not aligned.
        var l2Outside = QCOW2Builder(virtualSize: 1 << 20)
        l2Outside.clusters[0] = .data([1])
        l2Outside.patches = [(1 << 16, [0x80, 0, 0, 0, 0x40, 0, 0, 0])]
        #expect(Self.failure(l2Outside, read: true).map { $0.message.contains("L2 table of L1 entry 0") && $0.message.contains("beyond the end") } == true)
        var l2Unaligned = QCOW2Builder(virtualSize: 1 << 20)
        l2Unaligned.clusters[0] = .data([1])
        l2Unaligned.patches = [(1 << 16, [0x80, 0, 0, 0, 0, 0x02, 0x02, 0])]
        #expect(Self.failure(l2Unaligned, read: true).map { $0.message.contains("not aligned") } == true)

        // Data clusters outside the file or not aligned; reserved bits; version 2 zero flag.
        for (entry, words) in [
            (UInt64(1) << 50, "beyond the end"), (UInt64(0x1_0200), "not aligned"),
            (UInt64(0x1_0002), "reserved bits"),
        ] {
            var builder = QCOW2Builder(virtualSize: 1 << 20)
            builder.clusters[1] = .rawEntry(entry)
            #expect(Self.failure(builder, read: true).map { $0.message.contains(words) } == true, "\(words)")
        }
        var v2Zero = QCOW2Builder(virtualSize: 1 << 20, version: 2)
        v2Zero.clusters[1] = .rawEntry(1)
        #expect(Self.failure(v2Zero, read: true).map { $0.message.contains("version 2") } == true)

        // A compressed cluster that is not deflate, or inflates short, or starts past the end.
        var garbage = QCOW2Builder(virtualSize: 1 << 20)
        garbage.clusters[0] = .data([UInt8](repeating: 0xFF, count: 1 << 16))
        garbage.clusters[1] = .rawEntry((1 << 62) | (3 << 54) | (3 << 16))
        #expect(Self.failure(garbage, read: true).map { $0.code == .corrupt && $0.message.contains("compressed cluster 1") } == true)
        var short = QCOW2Builder(virtualSize: 1 << 20)
        short.clusters[0] = .data(QCOW2Builder.deflate([1, 2, 3]))
        short.clusters[1] = .rawEntry((1 << 62) | (3 << 16))
        #expect(Self.failure(short, read: true).map { $0.message.contains("not a whole cluster") || $0.message.contains("does not inflate") } == true)
        var past = QCOW2Builder(virtualSize: 1 << 20)
        past.clusters[1] = .rawEntry((1 << 62) | (1 << 40))
        #expect(Self.failure(past, read: true).map { $0.message.contains("beyond the end") } == true)
    }
}
