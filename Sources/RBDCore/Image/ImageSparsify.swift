import NIOCore
import RADOSProto

/// `rbd sparsify` (ceph/ceph `src/librbd/operation/SparsifyRequest.cc`): the zeros an
/// image stores are given back. Every allocated range of the head is read, and each
/// run of all-zero `sparseSize`-aligned blocks is discarded, so the OSDs punch it out
/// (or drop an object that becomes all zeros). The bytes the image reads do not change;
/// snapshots keep their data (the OSD clones an object before changing it).
extension Image {
    /// Discards the all-zero `sparseSize` blocks (a power of two, 4 KiB up to the object
    /// size) of the head; returns the bytes discarded.
    @discardableResult
    public func sparsify(sparseSize: UInt64 = 4096, progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws(RADOSError) -> UInt64 {
        try checkWritable()
        guard sparseSize >= 4096, sparseSize <= layout.objectSize, sparseSize & (sparseSize - 1) == 0 else {
            throw RADOSError(.invalidArgument, "sparse size must be a power of two from 4 KiB up to the object size (\(layout.objectSize))", errno: 22)
        }
        let extents = try await diff().filter(\.exists)
        let total = extents.reduce(0) { $0 + $1.length }
        var done: UInt64 = 0
        var discarded: UInt64 = 0
        let chunk = layout.objectSize
        for extent in extents {
            // Whole blocks only: the extent rounded inwards to the sparse size.
            var offset = (extent.offset + sparseSize - 1) / sparseSize * sparseSize
            let end = (extent.offset + extent.length) / sparseSize * sparseSize
            while offset < end {
                let length = min(chunk - offset % chunk, end - offset)
                let data = try await read(offset: offset, length: length)
                let zeroRuns = Self.zeroRuns(data, block: Int(sparseSize))
                for run in zeroRuns {
                    discarded += try await discard(offset: offset + UInt64(run.lowerBound), length: UInt64(run.count), granularity: sparseSize)
                }
                offset += length
            }
            done += extent.length
            progress?(done, total)
        }
        return discarded
    }

    /// The byte ranges of `buffer` made of whole `block`-sized pieces that are all zeros.
    static func zeroRuns(_ buffer: ByteBuffer, block: Int) -> [Range<Int>] {
        let data = nonZeroRuns(buffer, block: block)
        var runs: [Range<Int>] = []
        var start = 0
        for run in data {
            if run.lowerBound > start { runs.append(start..<run.lowerBound) }
            start = run.upperBound
        }
        let end = buffer.readableBytes / block * block
        if end > start { runs.append(start..<end) }
        return runs
    }
}
