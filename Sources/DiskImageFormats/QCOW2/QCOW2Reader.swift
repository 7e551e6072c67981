import NIOCore

/// Reads a qcow2 file's active image (versions 2 and 3) as the guest sees it: the L1
/// table maps to L2 tables, each L2 entry to a data cluster, a compressed cluster, a
/// zero cluster or nothing. Internal snapshots and refcounts are not needed for that
/// and are not read.
///
/// Bounded for untrusted files: the L1 table is read once (at most 32 MiB, only the
/// entries the virtual size needs), one L2 table (one cluster) is kept, and every offset
/// is checked against the file before it is read.
package struct QCOW2Reader<Source: RandomAccessSource>: DiskImageReader {
    package let header: QCOW2Header
    let source: Source
    /// The L1 entries covering the virtual size.
    let l1: [UInt64]
    /// The last L2 table read, by its host offset.
    var l2Cache: (offset: UInt64, table: ByteBuffer)?

    package var virtualSize: UInt64 { header.virtualSize }

    package init(source: Source) throws(DiskImageError) {
        let header = try QCOW2Header(source: source)
        let count = Int(header.requiredL1Entries)
        var l1: [UInt64] = []
        if count > 0 {
            try source.checkInside(header.l1TableOffset, count * 8, "the qcow2 L1 table")
            let table = try source.read(at: header.l1TableOffset, count: count * 8)
            l1.reserveCapacity(count)
            for index in 0..<count {
                l1.append(table.getInteger(at: table.readerIndex + index * 8, endianness: .big, as: UInt64.self) ?? 0)
            }
        }
        self.header = header
        self.source = source
        self.l1 = l1
    }

    /// Where guest cluster `index` is.
    package mutating func descriptor(ofCluster index: UInt64) throws(DiskImageError) -> QCOW2ClusterDescriptor {
        let perL2 = UInt64(header.l2Entries)
        let l1Index = Int(index / perL2)
        guard l1Index < l1.count else { return .unallocated }
        let l1Entry = l1[l1Index]
        let l2Offset = l1Entry & QCOW2ClusterDescriptor.offsetMask
        guard l2Offset != 0 else { return .unallocated }
        guard l2Offset % UInt64(header.clusterSize) == 0 else {
            throw DiskImageError(.corrupt, "qcow2 L1 entry \(l1Index) points to an L2 table at offset \(l2Offset), which is not aligned to a cluster")
        }
        let table: ByteBuffer
        if let cached = l2Cache, cached.offset == l2Offset {
            table = cached.table
        } else {
            try source.checkInside(l2Offset, header.clusterSize, "the qcow2 L2 table of L1 entry \(l1Index)")
            table = try source.read(at: l2Offset, count: header.clusterSize)
            l2Cache = (l2Offset, table)
        }
        let slot = Int(index % perL2)
        let entry = table.getInteger(at: table.readerIndex + slot * 8, endianness: .big, as: UInt64.self) ?? 0
        return try QCOW2ClusterDescriptor(entry: entry, header: header)
    }

    /// The data clusters in the range; runs of data clusters stored one after the other
    /// in the file are read with one call.
    package mutating func segments(at offset: UInt64, length: UInt64) throws(DiskImageError) -> [DiskImageSegment] {
        guard offset < virtualSize, length > 0 else { return [] }
        let end = min(virtualSize, offset + min(length, virtualSize - offset))
        let clusterSize = UInt64(header.clusterSize)
        var segments: [DiskImageSegment] = []
        // A pending run of uncompressed clusters: guest start, host start, length.
        var run: (guest: UInt64, host: UInt64, length: UInt64)?

        func flush(_ run: inout (guest: UInt64, host: UInt64, length: UInt64)?, into segments: inout [DiskImageSegment]) throws(DiskImageError) {
            guard let pending = run else { return }
            try source.checkInside(pending.host, Int(pending.length), "qcow2 data for guest offset \(pending.guest)")
            segments.append(DiskImageSegment(offset: pending.guest, bytes: try source.read(at: pending.host, count: Int(pending.length))))
            run = nil
        }

        var position = offset
        while position < end {
            let cluster = position / clusterSize
            let within = position % clusterSize
            let count = min(clusterSize - within, end - position)
            switch try descriptor(ofCluster: cluster) {
            case .unallocated, .zero:
                try flush(&run, into: &segments)
            case .data(let hostOffset):
                let host = hostOffset + within
                if let pending = run, pending.host + pending.length == host {
                    run = (pending.guest, pending.host, pending.length + count)
                } else {
                    try flush(&run, into: &segments)
                    run = (position, host, count)
                }
            case .compressed(let hostOffset, let maximumLength):
                try flush(&run, into: &segments)
                guard hostOffset < source.size else {
                    throw DiskImageError(.corrupt, "qcow2 compressed cluster \(cluster) at offset \(hostOffset) lies beyond the end of the file (\(source.size) bytes)")
                }
                // The last compressed cluster may end before its last sector does.
                let available = Int(min(UInt64(maximumLength), source.size - hostOffset))
                let stream = try source.read(at: hostOffset, count: available)
                var bytes = try Inflate.raw(stream, outputCount: header.clusterSize, what: "qcow2 compressed cluster \(cluster) at offset \(hostOffset)")
                if within != 0 || count != clusterSize {
                    bytes = bytes.getSlice(at: bytes.readerIndex + Int(within), length: Int(count)) ?? ByteBuffer()
                }
                segments.append(DiskImageSegment(offset: position, bytes: bytes))
            }
            position += count
        }
        try flush(&run, into: &segments)
        return segments
    }
}
