import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes read by offset: an image file on disk, or memory in tests. Reads past the end
/// are refused, so a table or cluster offset beyond the file is an error, not a short
/// buffer.
package protocol RandomAccessSource {
    /// The number of bytes in the source.
    var size: UInt64 { get }
    /// Exactly `count` bytes at `offset`; fails when they are not all there.
    func read(at offset: UInt64, count: Int) throws(DiskImageError) -> ByteBuffer
}

extension RandomAccessSource {
    /// Fails unless `count` bytes at `offset` lie inside the source; `what` names them.
    func checkInside(_ offset: UInt64, _ count: Int, _ what: @autoclosure () -> String) throws(DiskImageError) {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= size else {
            throw DiskImageError(.corrupt, "\(what()) at offset \(offset) (\(count) bytes) lies beyond the end of the file (\(size) bytes)")
        }
    }
}

/// A file read with `pread`; the descriptor stays the caller's.
package struct FileSource: RandomAccessSource {
    package let descriptor: Int32
    package let size: UInt64
    /// Names the file in errors.
    package let path: String

    /// Reads `descriptor` (open for reading); its size is taken now.
    package init(descriptor: Int32, path: String) throws(DiskImageError) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            throw DiskImageError(.io, "cannot stat \(path): \(String(cString: strerror(code)))", errno: code)
        }
        self.descriptor = descriptor
        self.size = UInt64(max(0, info.st_size))
        self.path = path
    }

    package func read(at offset: UInt64, count: Int) throws(DiskImageError) -> ByteBuffer {
        try checkInside(offset, count, "data")
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var failure: Int32 = 0
        while buffer.readableBytes < count, failure == 0 {
            let want = count - buffer.readableBytes
            let position = off_t(offset) + off_t(buffer.readableBytes)
            let descriptor = self.descriptor
            var readError: Int32 = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { target in
                let got = pread(descriptor, target.baseAddress!, want, position)
                if got < 0 { readError = errno == EINTR ? 0 : errno; return 0 }
                if got == 0 { readError = EIO }
                return got
            }
            failure = readError
        }
        guard buffer.readableBytes == count else {
            throw DiskImageError(.io, "cannot read \(path) at offset \(offset): \(String(cString: strerror(failure)))", errno: failure)
        }
        return buffer
    }
}

/// Bytes in memory (unit tests, small fixtures).
package struct MemorySource: RandomAccessSource {
    package let bytes: [UInt8]
    package var size: UInt64 { UInt64(bytes.count) }

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package func read(at offset: UInt64, count: Int) throws(DiskImageError) -> ByteBuffer {
        try checkInside(offset, count, "data")
        return ByteBuffer(bytes: bytes[Int(offset)..<Int(offset) + count])
    }
}
