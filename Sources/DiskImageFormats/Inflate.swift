import CZlib
import NIOCore

/// zlib's raw inflate (no zlib or gzip wrapper), the form qcow2 stores compressed
/// clusters in (QEMU's `qcow2_zlib_decompress`).
enum Inflate {
    /// Inflates `input` into exactly `outputCount` bytes. The stream may end there or
    /// run on (QEMU pads the last sector); fewer bytes, or bytes that are not a deflate
    /// stream, fail with `what` in the message.
    static func raw(_ input: ByteBuffer, outputCount: Int, what: @autoclosure () -> String) throws(DiskImageError) -> ByteBuffer {
        var output = ByteBufferAllocator().buffer(capacity: outputCount)
        var stream = z_stream()
        // windowBits -15: raw deflate with the largest window, which also inflates
        // QEMU's streams (written with a 4 KiB window, -12).
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DiskImageError(.io, "zlib could not start inflating \(what())")
        }
        defer { inflateEnd(&stream) }
        var status: Int32 = Z_OK
        _ = input.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: outputCount) { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(outputCount)
                status = inflate(&stream, Z_FINISH)
                return outputCount - Int(stream.avail_out)
            }
        }
        // Z_BUF_ERROR with a full output is QEMU's accepted case: the cluster is
        // complete and the input carries padding.
        guard status == Z_STREAM_END || (status == Z_BUF_ERROR && stream.avail_out == 0) || (status == Z_OK && stream.avail_out == 0) else {
            throw DiskImageError(.corrupt, "\(what()) does not inflate (zlib status \(status), \(output.readableBytes) of \(outputCount) bytes)")
        }
        guard output.readableBytes == outputCount else {
            throw DiskImageError(.corrupt, "\(what()) inflates to \(output.readableBytes) bytes, not a whole cluster (\(outputCount))")
        }
        return output
    }
}
