import NIOCore

// Ceph's "denc" encoding, read and written through `ByteBuffer`.
//
// Source: ceph/ceph `src/include/denc.h` and `src/include/encoding.h`.
// - integers are little-endian, fixed width;
// - bool is one byte (0 or 1);
// - strings and byte lists ("bufferlist") are a u32 length, then the bytes;
// - vectors, lists and sets are a u32 count, then the elements; maps a u32 count,
//   then key, value pairs;
// - `std::optional` / `boost::optional` is a bool, then the value when true;
// - a versioned struct is u8 struct_v, u8 struct_compat, u32 length, then `length`
//   bytes of body (`ENCODE_START` / `DECODE_START`). A decoder refuses a compat it
//   does not understand and skips whatever a newer encoder appended to the body.
//
// Reads never trap: every length and count is checked against the bytes left and
// against a limit before anything is allocated.

/// Upper bounds for lengths and counts read from untrusted input.
package enum DencLimit {
    /// Default cap on a string's length (object names, pool names, keys, JSON).
    package static let string = 16 << 20
    /// Default cap on a byte list's length.
    package static let bytes = 512 << 20
    /// Default cap on an element count.
    package static let count = 16 << 20
}

extension ByteBuffer {
    // MARK: integers

    package mutating func readDencU8() throws -> UInt8 {
        guard let v = readInteger(as: UInt8.self) else { throw DencError(.truncated(needed: 1, available: readableBytes), at: self) }
        return v
    }

    package mutating func readDencU16() throws -> UInt16 {
        guard let v = readInteger(endianness: .little, as: UInt16.self) else { throw DencError(.truncated(needed: 2, available: readableBytes), at: self) }
        return v
    }

    package mutating func readDencU32() throws -> UInt32 {
        guard let v = readInteger(endianness: .little, as: UInt32.self) else { throw DencError(.truncated(needed: 4, available: readableBytes), at: self) }
        return v
    }

    package mutating func readDencU64() throws -> UInt64 {
        guard let v = readInteger(endianness: .little, as: UInt64.self) else { throw DencError(.truncated(needed: 8, available: readableBytes), at: self) }
        return v
    }

    package mutating func readDencI8() throws -> Int8 { Int8(bitPattern: try readDencU8()) }
    package mutating func readDencI16() throws -> Int16 { Int16(bitPattern: try readDencU16()) }
    package mutating func readDencI32() throws -> Int32 { Int32(bitPattern: try readDencU32()) }
    package mutating func readDencI64() throws -> Int64 { Int64(bitPattern: try readDencU64()) }

    /// A bool: one byte. Ceph writes 0 or 1; like Ceph we read any non-zero byte as true.
    package mutating func readDencBool() throws -> Bool { try readDencU8() != 0 }

    package mutating func writeDencU8(_ v: UInt8) { writeInteger(v) }
    package mutating func writeDencU16(_ v: UInt16) { writeInteger(v, endianness: .little) }
    package mutating func writeDencU32(_ v: UInt32) { writeInteger(v, endianness: .little) }
    package mutating func writeDencU64(_ v: UInt64) { writeInteger(v, endianness: .little) }
    package mutating func writeDencI8(_ v: Int8) { writeInteger(v) }
    package mutating func writeDencI16(_ v: Int16) { writeInteger(v, endianness: .little) }
    package mutating func writeDencI32(_ v: Int32) { writeInteger(v, endianness: .little) }
    package mutating func writeDencI64(_ v: Int64) { writeInteger(v, endianness: .little) }
    package mutating func writeDencBool(_ v: Bool) { writeInteger(v ? 1 as UInt8 : 0) }

    // MARK: lengths, strings, byte lists

    /// Reads a u32 length or count and checks it against `limit` and against the bytes
    /// left, assuming each unit takes at least `minimumUnitSize` bytes.
    package mutating func readDencLength(limit: Int, minimumUnitSize: Int = 1) throws -> Int {
        let start = self
        let raw = Int(try readDencU32())
        guard raw <= limit else {
            self = start
            throw DencError(.lengthTooLarge(raw, limit: limit), at: start)
        }
        let needed = raw.multipliedReportingOverflow(by: max(minimumUnitSize, 0))
        guard !needed.overflow, needed.partialValue <= readableBytes else {
            let available = readableBytes
            self = start
            throw DencError(.truncated(needed: needed.overflow ? Int.max : needed.partialValue, available: available), at: start)
        }
        return raw
    }

    /// A length-prefixed string (UTF-8; invalid sequences are repaired, never trapped on).
    package mutating func readDencString(limit: Int = DencLimit.string) throws -> String {
        let length = try readDencLength(limit: limit)
        // readDencLength checked that `length` bytes are there.
        return readString(length: length) ?? ""
    }

    package mutating func writeDencString(_ s: String) {
        let lengthIndex = writerIndex
        writeInteger(0 as UInt32)
        let written = writeString(s)
        setInteger(UInt32(truncatingIfNeeded: written), at: lengthIndex, endianness: .little)
    }

    /// A length-prefixed byte list, returned as a slice of this buffer (no copy).
    package mutating func readDencBytes(limit: Int = DencLimit.bytes) throws -> ByteBuffer {
        let length = try readDencLength(limit: limit)
        // readDencLength checked that `length` bytes are there.
        return readSlice(length: length) ?? ByteBuffer()
    }

    package mutating func writeDencBytes(_ bytes: ByteBuffer) {
        writeDencU32(UInt32(truncatingIfNeeded: bytes.readableBytes))
        writeImmutableBuffer(bytes)
    }

    package mutating func writeDencBytes(_ bytes: some Collection<UInt8>) {
        writeDencU32(UInt32(truncatingIfNeeded: bytes.count))
        writeBytes(bytes)
    }

    /// Exactly `count` raw bytes (no length prefix), as a slice.
    package mutating func readDencFixed(_ count: Int) throws -> ByteBuffer {
        guard count >= 0, let slice = readSlice(length: count) else {
            throw DencError(.truncated(needed: count, available: readableBytes), at: self)
        }
        return slice
    }

    // MARK: containers

    /// A u32 count, then `count` elements. `minimumElementSize` is the fewest bytes one
    /// element can take: it bounds the count by the bytes left before reserving memory.
    package mutating func readDencArray<T>(
        limit: Int = DencLimit.count,
        minimumElementSize: Int = 1,
        _ element: (inout ByteBuffer) throws -> T
    ) throws -> [T] {
        let count = try readDencLength(limit: limit, minimumUnitSize: minimumElementSize)
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            result.append(try element(&self))
        }
        return result
    }

    package mutating func writeDencArray<C: Collection>(_ items: C, _ element: (inout ByteBuffer, C.Element) -> Void) {
        writeDencU32(UInt32(truncatingIfNeeded: items.count))
        for item in items { element(&self, item) }
    }

    /// A u32 count, then key/value pairs. A repeated key keeps the last value, as
    /// `std::map` decoding in Ceph does.
    package mutating func readDencMap<K: Hashable, V>(
        limit: Int = DencLimit.count,
        minimumEntrySize: Int = 2,
        key: (inout ByteBuffer) throws -> K,
        value: (inout ByteBuffer) throws -> V
    ) throws -> [K: V] {
        let count = try readDencLength(limit: limit, minimumUnitSize: minimumEntrySize)
        var result: [K: V] = [:]
        result.reserveCapacity(count)
        for _ in 0..<count {
            let k = try key(&self)
            result[k] = try value(&self)
        }
        return result
    }

    /// Writes a map in key order (Ceph's `std::map` is ordered, and encodings are compared byte for byte).
    package mutating func writeDencMap<K: Comparable, V>(
        _ map: [K: V],
        key: (inout ByteBuffer, K) -> Void,
        value: (inout ByteBuffer, V) -> Void
    ) {
        writeDencU32(UInt32(truncatingIfNeeded: map.count))
        for k in map.keys.sorted() {
            key(&self, k)
            // The key comes from the map itself.
            if let v = map[k] { value(&self, v) }
        }
    }

    /// `std::optional<T>`: a bool, then the value when present.
    package mutating func readDencOptional<T>(_ element: (inout ByteBuffer) throws -> T) throws -> T? {
        try readDencBool() ? try element(&self) : nil
    }

    package mutating func writeDencOptional<T>(_ value: T?, _ element: (inout ByteBuffer, T) -> Void) {
        if let value {
            writeDencBool(true)
            element(&self, value)
        } else {
            writeDencBool(false)
        }
    }

    // MARK: versioned structs

    /// Reads a versioned struct envelope (`DECODE_START`): u8 version, u8 compat, u32
    /// length, then decodes the body from exactly that many bytes. Bytes the body
    /// decoder leaves are skipped (a newer encoder appended fields); a compat above
    /// `understands` is refused. Errors inside are annotated with `type`.
    package mutating func readDencVersioned<T>(
        _ type: String,
        understands: UInt8,
        limit: Int = DencLimit.bytes,
        _ body: (inout ByteBuffer, _ version: UInt8) throws -> T
    ) throws -> T {
        let start = self
        do {
            let version = try readDencU8()
            let compat = try readDencU8()
            guard compat <= understands else {
                let failure = DencError(.incompatibleVersion(compat: compat, supported: understands), at: start)
                self = start
                throw failure
            }
            var content = try readDencBytes(limit: limit)
            return try body(&content, version)
        } catch let error as DencError {
            throw error.within(type)
        }
    }

    /// Writes a versioned struct envelope (`ENCODE_START`/`ENCODE_FINISH`): the length is
    /// filled in after `body` has written the content.
    package mutating func writeDencVersioned(version: UInt8, compat: UInt8, _ body: (inout ByteBuffer) -> Void) {
        writeDencU8(version)
        writeDencU8(compat)
        let lengthIndex = writerIndex
        writeDencU32(0)
        let start = writerIndex
        body(&self)
        setInteger(UInt32(truncatingIfNeeded: writerIndex - start), at: lengthIndex, endianness: .little)
    }

    /// Decodes a whole payload with `body` and requires that it consumes every byte.
    package func decodeExactly<T>(_ type: String, _ body: (inout ByteBuffer) throws -> T) throws -> T {
        var copy = self
        let value: T
        do {
            value = try body(&copy)
        } catch let error as DencError {
            throw error.within(type)
        }
        guard copy.readableBytes == 0 else {
            throw DencError(.trailingBytes(copy.readableBytes), at: copy, context: [type])
        }
        return value
    }
}
