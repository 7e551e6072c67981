import NIOCore

/// Guest bytes that hold data, at their guest offset. What a reader does not return
/// reads as zeros (unallocated or zero clusters, holes).
package struct DiskImageSegment: Equatable {
    package let offset: UInt64
    package let bytes: ByteBuffer

    package init(offset: UInt64, bytes: ByteBuffer) {
        self.offset = offset
        self.bytes = bytes
    }
}

/// A disk image file read as the guest sees it, whatever its format: what `rbdctl
/// convert` copies from. Readers skip what they know to be zeros; their data may still
/// contain zero blocks, which the converter skips as `qemu-img convert -S` does.
package protocol DiskImageReader {
    /// The guest disk's size in bytes.
    var virtualSize: UInt64 { get }
    /// The data segments in `offset ..< offset + length` (clipped to the virtual size),
    /// in order and not overlapping.
    mutating func segments(at offset: UInt64, length: UInt64) throws(DiskImageError) -> [DiskImageSegment]
}

/// The disk image formats `rbdctl convert` reads (qemu-img's `-f` names).
package enum DiskImageFormat: String, Sendable, CaseIterable {
    case raw
    case qcow2

    /// qcow2 when the source starts with qcow2's magic, raw otherwise, as qemu-img
    /// probes (raw has no signature of its own).
    package static func probe(_ source: some RandomAccessSource) throws(DiskImageError) -> DiskImageFormat {
        guard source.size >= 4 else { return .raw }
        let magic = try source.read(at: 0, count: 4)
        return magic.getInteger(at: magic.readerIndex, endianness: .big, as: UInt32.self) == QCOW2Header.magic ? .qcow2 : .raw
    }

    /// A reader of `source` in this format.
    package func reader<Source: RandomAccessSource>(_ source: Source) throws(DiskImageError) -> any DiskImageReader {
        switch self {
        case .raw: return RawImageReader(source: source)
        case .qcow2: return try QCOW2Reader(source: source)
        }
    }
}

/// A raw image: the file's bytes are the guest's bytes.
package struct RawImageReader<Source: RandomAccessSource>: DiskImageReader {
    package let source: Source
    package var virtualSize: UInt64 { source.size }

    package init(source: Source) { self.source = source }

    package func segments(at offset: UInt64, length: UInt64) throws(DiskImageError) -> [DiskImageSegment] {
        guard offset < virtualSize else { return [] }
        let count = Int(min(length, virtualSize - offset))
        guard count > 0 else { return [] }
        return [DiskImageSegment(offset: offset, bytes: try source.read(at: offset, count: count))]
    }
}
