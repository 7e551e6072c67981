import NIOCore

/// What `CEPH_OSD_OP_OMAPGETKEYS` returns: a page of keys and whether more follow.
///
/// Output layout (ceph/ceph `src/osd/PrimaryLogPG.cc`, case `CEPH_OSD_OP_OMAPGETKEYS`;
/// read back by `ObjectOperation::omap_get_keys` / `CB_ObjectOperation_decodekeys` in
/// `src/osdc/Objecter.h`): a `set<string>` (u32 count, strings ascending byte-wise),
/// then a bool "truncated" (more keys follow). OSDs older than Jewel leave the bool
/// out; librados then infers it from a full page, and so do we. The OSD may stop
/// early (it caps entries and bytes per request), with the bool set.
package struct OmapKeysPage: Hashable, Sendable {
    /// Keys in wire order (ascending byte-wise).
    package var keys: [String]
    /// Whether keys after the last one remain: ask again with `startAfter: keys.last`.
    package var more: Bool

    package init(keys: [String], more: Bool) {
        self.keys = keys
        self.more = more
    }

    /// Decodes the output of a request for `maxReturn` keys.
    package static func decode(_ output: ByteBuffer, maxReturn: UInt64) throws -> OmapKeysPage {
        try output.decodeExactly("omap_get_keys") { buffer in
            let keys = try buffer.readDencArray(minimumElementSize: 4) { try $0.readDencString() }
            let more = buffer.readableBytes > 0 ? try buffer.readDencBool() : UInt64(keys.count) == maxReturn
            return OmapKeysPage(keys: keys, more: more)
        }
    }

    /// Writes the output as a current OSD does.
    package func encode(into buffer: inout ByteBuffer) {
        buffer.writeDencArray(keys) { $0.writeDencString($1) }
        buffer.writeDencBool(more)
    }
}

/// What `CEPH_OSD_OP_OMAPGETVALS` returns: a page of key/value pairs and whether more
/// follow.
///
/// Output layout (ceph/ceph `src/osd/PrimaryLogPG.cc`, case `CEPH_OSD_OP_OMAPGETVALS`;
/// read back by `CB_ObjectOperation_decodevals` in `src/osdc/Objecter.h`): a
/// `map<string, bufferlist>` (see ``OmapValues``), then a bool "truncated", which
/// pre-Jewel OSDs leave out (then a full page means more may follow, as librados
/// infers).
package struct OmapValuesPage: Hashable, Sendable {
    package var values: [String: ByteBuffer]
    /// The last (greatest) key of the page: where the next page starts after.
    package var lastKey: String?
    /// Whether pairs after ``lastKey`` remain.
    package var more: Bool

    package init(values: [String: ByteBuffer], lastKey: String?, more: Bool) {
        self.values = values
        self.lastKey = lastKey
        self.more = more
    }

    /// Decodes the output of a request for `maxReturn` pairs.
    package static func decode(_ output: ByteBuffer, maxReturn: UInt64) throws -> OmapValuesPage {
        try output.decodeExactly("omap_get_vals") { buffer in
            let (values, lastKey) = try OmapValues.readMap(&buffer)
            let more = buffer.readableBytes > 0 ? try buffer.readDencBool() : UInt64(values.count) == maxReturn
            return OmapValuesPage(values: values, lastKey: lastKey, more: more)
        }
    }

    /// Writes the output as a current OSD does.
    package func encode(into buffer: inout ByteBuffer) {
        OmapValues.encode(values, into: &buffer)
        buffer.writeDencBool(more)
    }
}
