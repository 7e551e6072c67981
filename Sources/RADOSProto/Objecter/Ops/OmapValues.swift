import NIOCore

/// A `map<string, bufferlist>` of omap keys and values, as `CEPH_OSD_OP_OMAPGETVALSBYKEYS`
/// returns it and `CEPH_OSD_OP_OMAPSETVALS` takes it.
///
/// Layout (ceph/ceph `src/include/encoding.h` for `std::map`; `src/osd/PrimaryLogPG.cc`
/// case `CEPH_OSD_OP_OMAPGETVALSBYKEYS`): u32 count, then per entry the key (u32
/// length, bytes) and the value (u32 length, bytes), keys ascending byte-wise. Values
/// are slices of the reply, not copies.
package enum OmapValues {
    /// Fewest bytes one entry takes: two empty length prefixes.
    static let minimumEntrySize = 8

    /// Decodes a get-values-by-keys output; it must be consumed exactly.
    package static func decode(_ output: ByteBuffer) throws -> [String: ByteBuffer] {
        try output.decodeExactly("omap_get_vals_by_keys") { buffer in
            try readMap(&buffer).values
        }
    }

    /// Writes the map with keys in byte order, as `std::map<std::string, …>` does.
    package static func encode(_ values: [String: ByteBuffer], into buffer: inout ByteBuffer) {
        let keys = byteOrdered(values.keys)
        buffer.writeDencU32(UInt32(truncatingIfNeeded: keys.count))
        for key in keys {
            buffer.writeDencString(key)
            buffer.writeDencBytes(values[key] ?? ByteBuffer())
        }
    }

    /// Reads the map, and the last key on the wire (the greatest, since Ceph sorts).
    static func readMap(_ buffer: inout ByteBuffer) throws -> (values: [String: ByteBuffer], lastKey: String?) {
        let count = try buffer.readDencLength(limit: DencLimit.count, minimumUnitSize: minimumEntrySize)
        var values: [String: ByteBuffer] = [:]
        values.reserveCapacity(count)
        var lastKey: String?
        for _ in 0..<count {
            let key = try buffer.readDencString()
            values[key] = try buffer.readDencBytes()
            lastKey = key
        }
        return (values, lastKey)
    }

    /// Distinct strings in `std::string` order (byte-wise on UTF-8).
    static func byteOrdered<Keys: Sequence<String>>(_ keys: Keys) -> [String] {
        var seen = Set<String>()
        let distinct = keys.filter { seen.insert($0).inserted }
        return distinct.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
