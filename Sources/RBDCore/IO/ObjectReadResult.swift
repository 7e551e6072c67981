import NIOCore
import RADOSProto

extension Image {
    /// One object's answer to a read of an image: its bytes in object space, placed into
    /// the image request's buffer by ``Image`` (librbd's `ReadResult`,
    /// ceph/ceph `src/librbd/io/ReadResult.cc`).
    enum ObjectReadResult: Sendable {
        /// The object (or the snapshot's clone) does not exist: all zeros.
        case absent
        /// `read`'s output: the bytes from the extent's start (short at the object's end).
        case dense(ByteBuffer)
        /// `sparse-read`'s allocated extents.
        case sparse(SparseReadResult)

        /// The object range as exactly `length` bytes, zeros where nothing was read.
        func bytes(offset: UInt64, length: UInt64) -> ByteBuffer {
            switch self {
            case .dense(let bytes) where bytes.readableBytes == Int(length):
                return bytes
            case .dense(var bytes):
                bytes.writeRepeatingByte(0, count: Int(length) - bytes.readableBytes)
                return bytes
            case .sparse(let result):
                // Fully allocated (the common case for written data, whether the OSD reports
                // one extent or many adjacent ones): the reply's bytes as they are.
                if let first = result.extents.first, let last = result.extents.last, first.offset == offset,
                   last.offset &+ last.length == offset &+ length, result.data.readableBytes == Int(length) {
                    return result.data
                }
                return result.dense(offset: offset, length: Int(length))
            case .absent:
                var zeros = ByteBuffer()
                zeros.writeRepeatingByte(0, count: Int(length))
                return zeros
            }
        }

        /// Copies the bytes into `out` where the extent's pieces belong (`out` is zeroed).
        func scatter(into out: inout ByteBuffer, extent: ObjectExtent) {
            switch self {
            case .absent:
                return
            case .dense(let bytes):
                Self.place(bytes, at: extent.offset, into: &out, extent: extent)
            case .sparse(let result):
                var dataIndex = result.data.readerIndex
                for run in result.extents {
                    if let bytes = result.data.getSlice(at: dataIndex, length: Int(run.length)) {
                        Self.place(bytes, at: run.offset, into: &out, extent: extent)
                    }
                    dataIndex += Int(run.length)
                }
            }
        }

        /// Places object bytes starting at object offset `start` into the buffer pieces
        /// of `extent` that they overlap.
        static func place(_ bytes: ByteBuffer, at start: UInt64, into out: inout ByteBuffer, extent: ObjectExtent) {
            let end = start + UInt64(bytes.readableBytes)
            var pieceStart = extent.offset
            for piece in extent.bufferExtents {
                let pieceEnd = pieceStart + piece.length
                let from = max(start, pieceStart), to = min(end, pieceEnd)
                if from < to, let slice = bytes.getSlice(at: bytes.readerIndex + Int(from - start), length: Int(to - from)) {
                    out.setBuffer(slice, at: out.readerIndex + Int(piece.offset + (from - pieceStart)))
                }
                pieceStart = pieceEnd
            }
        }
    }
}
