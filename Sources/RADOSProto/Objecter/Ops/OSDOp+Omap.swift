import NIOCore

// Builders for the omap ops (an object's sorted key/value store).
//
// Inputs as librados encodes them: ceph/ceph `src/osdc/Objecter.h`
// (`ObjectOperation::omap_get_keys`, `omap_get_vals`, `omap_get_vals_by_keys`,
// `omap_set`, `omap_rm_keys`, `omap_clear`, `omap_set_header`, `omap_get_header`), as
// the OSD decodes them in `src/osd/PrimaryLogPG.cc` (`do_osd_ops`, cases
// `CEPH_OSD_OP_OMAP*`). Every op that has an input also puts offset 0 and the input's
// length in `ceph_osd_op.extent`, as librados does; the OSD reads the input itself.

extension OSDOp {
    /// `CEPH_OSD_OP_OMAPGETKEYS`: up to `maxReturn` keys after `startAfter` ("" from
    /// the start). Input: string start_after, u64 max_return. Output: ``OmapKeysPage``.
    package static func omapGetKeys(startAfter: String = "", maxReturn: UInt64) -> OSDOp {
        var input = ByteBuffer()
        input.writeDencString(startAfter)
        input.writeDencU64(maxReturn)
        return omapOp(.omapGetKeys, input: input)
    }

    /// `CEPH_OSD_OP_OMAPGETVALS`: up to `maxReturn` pairs after `startAfter` whose keys
    /// start with `filterPrefix`. Input: string start_after, u64 max_return, string
    /// filter_prefix. Output: ``OmapValuesPage``.
    package static func omapGetValues(startAfter: String = "", filterPrefix: String = "", maxReturn: UInt64) -> OSDOp {
        var input = ByteBuffer()
        input.writeDencString(startAfter)
        input.writeDencU64(maxReturn)
        input.writeDencString(filterPrefix)
        return omapOp(.omapGetValues, input: input)
    }

    /// `CEPH_OSD_OP_OMAPGETVALSBYKEYS`: the values of `keys` that exist. Input:
    /// `set<string>` (u32 count, strings in byte order, no duplicates). Output:
    /// ``OmapValues/decode(_:)``.
    package static func omapGetValues<Keys: Sequence<String>>(forKeys keys: Keys) -> OSDOp {
        var input = ByteBuffer()
        input.writeDencStringSet(keys)
        return omapOp(.omapGetValuesByKeys, input: input)
    }

    /// `CEPH_OSD_OP_OMAPSETVALS`: sets `values`. Input: `map<string, bufferlist>` in key
    /// byte order. No output.
    package static func omapSetValues(_ values: [String: ByteBuffer]) -> OSDOp {
        var input = ByteBuffer()
        OmapValues.encode(values, into: &input)
        return omapOp(.omapSetValues, input: input)
    }

    /// `CEPH_OSD_OP_OMAPRMKEYS`: removes `keys` (missing keys are not an error). Input:
    /// `set<string>`. No output.
    package static func omapRemoveKeys<Keys: Sequence<String>>(_ keys: Keys) -> OSDOp {
        var input = ByteBuffer()
        input.writeDencStringSet(keys)
        return omapOp(.omapRemoveKeys, input: input)
    }

    /// `CEPH_OSD_OP_OMAPCLEAR`: removes every key and the header. No input, no output.
    package static var omapClear: OSDOp { OSDOp(.omapClear) }

    /// `CEPH_OSD_OP_OMAPSETHEADER`: replaces the omap header. Input: the header's raw
    /// bytes (no length prefix), carried without a copy. No output.
    package static func omapSetHeader(_ header: ByteBuffer) -> OSDOp {
        omapOp(.omapSetHeader, input: header)
    }

    /// `CEPH_OSD_OP_OMAPGETHEADER`: no input; the output is the header's raw bytes
    /// (no length prefix), empty when there is none.
    package static var omapGetHeader: OSDOp { OSDOp(.omapGetHeader) }

    private static func omapOp(_ code: OSDOpCode, input: ByteBuffer) -> OSDOp {
        OSDOp(code, arguments: .extent(offset: 0, length: UInt64(input.readableBytes)), input: input)
    }
}

extension ByteBuffer {
    /// A `std::set<std::string>`: u32 count, then the distinct strings in byte order
    /// (the order `std::string` compares in, which differs from Swift's `String` order
    /// outside ASCII).
    package mutating func writeDencStringSet<Keys: Sequence<String>>(_ keys: Keys) {
        let sorted = OmapValues.byteOrdered(keys)
        writeDencU32(UInt32(truncatingIfNeeded: sorted.count))
        for key in sorted { writeDencString(key) }
    }
}
