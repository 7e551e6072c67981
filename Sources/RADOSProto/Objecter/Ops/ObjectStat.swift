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
    /// Modification time: seconds since the Unix epoch.
    package var mtimeSeconds: UInt32
    /// Modification time: nanoseconds within the second (kept as sent).
    package var mtimeNanoseconds: UInt32

    package init(size: UInt64, mtimeSeconds: UInt32, mtimeNanoseconds: UInt32) {
        self.size = size
        self.mtimeSeconds = mtimeSeconds
        self.mtimeNanoseconds = mtimeNanoseconds
    }

    /// Encoded size: 8 + 4 + 4 bytes.
    package static let encodedSize = 16

    /// Decodes a stat op's output; the output must be exactly these 16 bytes.
    package static func decode(_ output: ByteBuffer) throws -> ObjectStat {
        try output.decodeExactly("stat") { buffer in
            let size = try buffer.readDencU64()
            let seconds = try buffer.readDencU32()
            let nanoseconds = try buffer.readDencU32()
            return ObjectStat(size: size, mtimeSeconds: seconds, mtimeNanoseconds: nanoseconds)
        }
    }

    /// Writes the output as an OSD does (for tests and fakes).
    package func encode(into buffer: inout ByteBuffer) {
        buffer.writeDencU64(size)
        buffer.writeDencU32(mtimeSeconds)
        buffer.writeDencU32(mtimeNanoseconds)
    }
}
