import NIOCore

/// What `CEPH_OSD_OP_SPARSE_READ` returns: the allocated extents inside the range that
/// was asked for, and their bytes.
///
/// Output layout (ceph/ceph `src/osd/PrimaryLogPG.cc`, `do_sparse_read`; read back by
/// `ObjectOperation::sparse_read` in `src/osdc/Objecter.h`): a `map<u64, u64>` of
/// extents — u32 count, then per extent the object offset and the length — followed by
/// one bufferlist (u32 length, bytes) holding the extents' data back to back, in
/// extent order. Offsets are positions in the object, not in the request. Anything
/// between extents, and past the last one, is a hole that reads as zeros.
///
/// Decoding is stricter than librados, which trusts the OSD: offsets must ascend
/// without overlap, no extent may run past 2^64, and the data must be exactly as long
/// as the extents together; otherwise it throws `DencError.invalidValue`.
package struct SparseReadResult: Hashable, Sendable {
    /// One allocated range of the object.
    package struct Extent: Hashable, Sendable {
        package var offset: UInt64
        package var length: UInt64

        package init(offset: UInt64, length: UInt64) {
            self.offset = offset
            self.length = length
        }
    }

    /// Extents in ascending offset order.
    package var extents: [Extent]
    /// The extents' bytes, back to back (a slice of the reply, not a copy).
    package var data: ByteBuffer

    package init(extents: [Extent], data: ByteBuffer) {
        self.extents = extents
        self.data = data
    }

    /// Decodes a sparse-read output; it must be consumed exactly.
    package static func decode(_ output: ByteBuffer) throws -> SparseReadResult {
        try output.decodeExactly("sparse_read") { buffer in
            let extentsStart = buffer
            let extents = try buffer.readDencArray(minimumElementSize: 16) { entry in
                Extent(offset: try entry.readDencU64(), length: try entry.readDencU64())
            }
            let data = try buffer.readDencBytes()
            var total: UInt64 = 0
            var end: UInt64 = 0
            for (index, extent) in extents.enumerated() {
                let (extentEnd, overflow) = extent.offset.addingReportingOverflow(extent.length)
                guard !overflow else {
                    throw DencError(.invalidValue("extent \(index) runs past 2^64"), at: extentsStart)
                }
                guard index == 0 || extent.offset >= end else {
                    throw DencError(.invalidValue("extent \(index) at \(extent.offset) overlaps or precedes the previous one"), at: extentsStart)
                }
                end = extentEnd
                total = total.addingReportingOverflow(extent.length).partialValue
            }
            guard total == UInt64(data.readableBytes) else {
                throw DencError(.invalidValue("extents cover \(total) bytes but \(data.readableBytes) bytes of data follow"), at: extentsStart)
            }
            return SparseReadResult(extents: extents, data: data)
        }
    }

    /// Writes the output as an OSD does (for tests and fakes).
    package func encode(into buffer: inout ByteBuffer) {
        buffer.writeDencArray(extents) { out, extent in
            out.writeDencU64(extent.offset)
            out.writeDencU64(extent.length)
        }
        buffer.writeDencBytes(data)
    }

    /// The object range `[offset, offset + length)` as one dense buffer: extent bytes
    /// where the object has data, zeros in holes and past the end of the object.
    /// Extent parts outside the range are ignored.
    package func dense(offset: UInt64, length: Int) -> ByteBuffer {
        let length = max(length, 0)
        var result = ByteBuffer()
        result.reserveCapacity(length)
        result.writeRepeatingByte(0, count: length)
        let (rangeEnd, overflow) = offset.addingReportingOverflow(UInt64(length))
        let end = overflow ? UInt64.max : rangeEnd
        var dataIndex = data.readerIndex
        for extent in extents {
            // Decoding proved the lengths add up to the data's size; a hand-built value
            // that breaks this only loses the pieces that are not there.
            let extentLength = Int(truncatingIfNeeded: extent.length)
            defer { dataIndex = dataIndex &+ extentLength }
            let extentEnd = extent.offset &+ extent.length
            let start = Swift.max(extent.offset, offset)
            let stop = Swift.min(extentEnd, end)
            guard start < stop else { continue }
            let skip = Int(truncatingIfNeeded: start - extent.offset)
            let count = Int(truncatingIfNeeded: stop - start)
            guard skip >= 0, count > 0, dataIndex >= 0 else { continue }
            if let piece = data.getSlice(at: dataIndex &+ skip, length: count) {
                result.setBuffer(piece, at: Int(truncatingIfNeeded: start - offset))
            }
        }
        return result
    }
}
