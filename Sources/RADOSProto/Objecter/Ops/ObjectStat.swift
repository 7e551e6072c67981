import NIOCore

/// What `CEPH_OSD_OP_STAT` returns: the object's size and modification time.
///
/// Output layout (ceph/ceph `src/osd/PrimaryLogPG.cc`, `do_osd_ops`, case
/// `CEPH_OSD_OP_STAT`; read back by `ObjectOperation::stat` in `src/osdc/Objecter.h`):
/// u64 size, then the object's mtime as a `utime_t` (u32 seconds, u32 nanoseconds).
/// A missing object fails the op with `-ENOENT` and returns no output.
package struct ObjectStat: Hashable, Sendable {
    /// Size of the object in bytes.
    package var size: UInt64
    /// Modification time (kept exactly as sent).
    package var mtime: UTime

    package init(size: UInt64, mtime: UTime) {
        self.size = size
        self.mtime = mtime
    }

    /// Encoded size: 8 + 4 + 4 bytes.
    package static let encodedSize = 16

    /// Decodes a stat op's output; the output must be exactly these 16 bytes.
    package static func decode(_ output: ByteBuffer) throws -> ObjectStat {
        try output.decodeExactly("stat") { buffer in
            let size = try buffer.readDencU64()
            return ObjectStat(size: size, mtime: try buffer.readDencUTime())
        }
    }

    /// Writes the output as an OSD does (for tests and fakes).
    package func encode(into buffer: inout ByteBuffer) {
        buffer.writeDencU64(size)
        buffer.writeDencUTime(mtime)
    }
}
