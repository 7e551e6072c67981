import NIOCore

/// What `CEPH_OSD_OP_GETXATTRS` returns: every user attribute of the object.
///
/// Output layout (ceph/ceph `src/osd/PrimaryLogPG.cc`, case `CEPH_OSD_OP_GETXATTRS`;
/// read back by `ObjectOperation::getxattrs` in `src/osdc/Objecter.h`): a
/// `map<string, bufferlist>` — u32 count, then per entry the name (u32 length, bytes)
/// and the value (u32 length, bytes). Names come without the OSD's internal `_`
/// prefix. Values are slices of the reply, not copies.
package enum ObjectXattrs {
    /// Fewest bytes one entry takes: two empty length prefixes.
    static let minimumEntrySize = 8

    /// Decodes a getxattrs output; it must be consumed exactly.
    package static func decode(_ output: ByteBuffer) throws -> [String: ByteBuffer] {
        try output.decodeExactly("getxattrs") { buffer in
            try buffer.readDencMap(minimumEntrySize: minimumEntrySize) { try $0.readDencString() } value: { try $0.readDencBytes() }
        }
    }

    /// Writes the output as an OSD does (names in order).
    package static func encode(_ attributes: [String: ByteBuffer], into buffer: inout ByteBuffer) {
        buffer.writeDencMap(attributes) { $0.writeDencString($1) } value: { $0.writeDencBytes($1) }
    }
}
