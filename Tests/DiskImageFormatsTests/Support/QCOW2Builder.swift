import CZlib
import NIOCore
@testable import DiskImageFormats

/// Builds small qcow2 files in memory, laid out as QEMU lays them out: the header in
/// cluster 0, the L1 table in cluster 1, the L2 tables next, then data clusters in the
/// order given. Fields are big-endian, as `docs/interop/qcow2.txt` defines them.
struct QCOW2Builder {
    enum Cluster {
        case data([UInt8])
        case zero
        /// Stored compressed (raw deflate, QEMU's 4 KiB window).
        case compressed([UInt8])
        /// An L2 entry written as is (hostile tests).
        case rawEntry(UInt64)
    }

    var version: UInt32 = 3
    var clusterBits: UInt32 = 16
    var virtualSize: UInt64
    var clusters: [UInt64: Cluster] = [:]
    /// Header overrides, applied last: (offset, bytes).
    var patches: [(Int, [UInt8])] = []
    var incompatibleFeatures: UInt64 = 0
    var l1EntriesOverride: UInt32?

    var clusterSize: Int { 1 << Int(clusterBits) }

    init(virtualSize: UInt64, clusterBits: UInt32 = 16, version: UInt32 = 3) {
        self.virtualSize = virtualSize
        self.clusterBits = clusterBits
        self.version = version
    }

    static func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in file: inout [UInt8]) {
        var big = value.bigEndian
        withUnsafeBytes(of: &big) { bytes in
            for (index, byte) in bytes.enumerated() { file[offset + index] = byte }
        }
    }

    static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        precondition(deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: bytes.count + 1024)
        let produced = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                precondition(CZlib.deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return target.count - Int(stream.avail_out)
            }
        }
        return Array(output[..<produced])
    }

    func build() -> [UInt8] {
        let clusterSize = clusterSize
        let l2Entries = clusterSize / 8
        let perL1 = UInt64(clusterSize * l2Entries)
        let l1Count = Int((virtualSize + perL1 - 1) / perL1)
        // Which L2 tables exist: those covering a described cluster.
        let l2Indexes = Set(clusters.keys.map { Int($0 / UInt64(l2Entries)) }).sorted()
        var file = [UInt8](repeating: 0, count: 2 * clusterSize)
        var l2Offsets: [Int: Int] = [:]
        for index in l2Indexes {
            l2Offsets[index] = file.count
            file += [UInt8](repeating: 0, count: clusterSize)
        }
        for (index, offset) in l2Offsets { Self.put(UInt64(offset) | (1 << 63), at: clusterSize + index * 8, in: &file) }
        for guest in clusters.keys.sorted() {
            let slot = l2Offsets[Int(guest / UInt64(l2Entries))]! + Int(guest % UInt64(l2Entries)) * 8
            switch clusters[guest]! {
            case .data(let bytes):
                file += [UInt8](repeating: 0, count: (clusterSize - file.count % clusterSize) % clusterSize)
                let host = file.count
                file += bytes + [UInt8](repeating: 0, count: clusterSize - bytes.count)
                Self.put(UInt64(host) | (1 << 63), at: slot, in: &file)
            case .zero:
                Self.put(UInt64(1), at: slot, in: &file)
            case .compressed(let bytes):
                let stream = Self.deflate(bytes + [UInt8](repeating: 0, count: clusterSize - bytes.count))
                // QEMU packs compressed clusters at any byte; start one mid-sector.
                file += [0x55, 0x55, 0x55]
                let host = file.count
                file += stream
                let sectors = UInt64((host + stream.count - 1) / 512 - host / 512)
                let x = 62 - (UInt64(clusterBits) - 8)
                Self.put((1 << 62) | (sectors << x) | UInt64(host), at: slot, in: &file)
            case .rawEntry(let entry):
                Self.put(entry, at: slot, in: &file)
            }
        }
        Self.put(QCOW2Header.magic, at: 0, in: &file)
        Self.put(version, at: 4, in: &file)
        Self.put(clusterBits, at: 20, in: &file)
        Self.put(virtualSize, at: 24, in: &file)
        Self.put(l1EntriesOverride ?? UInt32(l1Count), at: 36, in: &file)
        Self.put(UInt64(clusterSize), at: 40, in: &file)
        if version >= 3 {
            Self.put(incompatibleFeatures, at: 72, in: &file)
            Self.put(UInt32(4), at: 96, in: &file)
            Self.put(UInt32(112), at: 100, in: &file)
        }
        for (offset, bytes) in patches { for (index, byte) in bytes.enumerated() { file[offset + index] = byte } }
        return file
    }
}

/// The guest bytes a reader yields for the whole disk (zeros where it returns nothing).
func guestBytes(_ reader: inout some DiskImageReader, chunk: UInt64 = 3 << 16) throws -> [UInt8] {
    var disk = [UInt8](repeating: 0, count: Int(reader.virtualSize))
    var offset: UInt64 = 0
    var last: UInt64 = 0
    while offset < reader.virtualSize {
        for segment in try reader.segments(at: offset, length: chunk) {
            precondition(segment.offset >= last && segment.offset >= offset)
            let bytes = Array(segment.bytes.readableBytesView)
            disk.replaceSubrange(Int(segment.offset)..<Int(segment.offset) + bytes.count, with: bytes)
            last = segment.offset + UInt64(bytes.count)
        }
        offset += chunk
    }
    return disk
}
