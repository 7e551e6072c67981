import NIOCore

// Ceph's "denc" encoding, read and written through `ByteBuffer`.
//
// Source: ceph/ceph `src/include/denc.h` and `src/include/encoding.h`.
// - integers are little-endian, fixed width;
// - bool is one byte; Ceph writes 0 or 1 and reads any non-zero byte as true;
// - strings and byte lists ("bufferlist") are a u32 length, then the bytes;
// - vectors, lists and sets are a u32 count, then the elements; maps a u32 count,
//   then key, value pairs;
// - `std::optional` / `boost::optional` is a bool, then the value when true;
// - a versioned struct is u8 struct_v, u8 struct_compat, u32 length, then `length`
//   bytes of body (`ENCODE_START` / `DECODE_START`, `DENC_START`). A decoder whose own
//   version is below struct_compat refuses the encoding; a decoder that reads less than
//   `length` skips the rest (a newer encoder appended fields); one that would read more
//   fails.
//
// Reads never trap: every length and count is checked against a limit and against the
// bytes left before anything is allocated. A read that throws leaves the reader index
// where it was before that read started, so the thrown `DencError` points at the field
// that failed. (Elements an array or map already read before a later one failed are
// consumed; callers abandon the buffer on error anyway.)

/// Upper bounds for lengths and counts read from untrusted input.
package enum DencLimit {
    /// Default cap on a string's length (object names, pool names, keys, JSON).
    package static let string = 16 << 20
    /// Default cap on a byte list's length.
    package static let bytes = 512 << 20
    /// Default cap on an element count.
    package static let count = 16 << 20
    /// The most memory an array or map reserves up front from a count read off the
    /// wire; beyond this it grows only as elements actually decode.
    package static let reservationBytes = 1 << 20
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
    /// left, assuming each unit takes at least `minimumUnitSize` bytes. On failure the
    /// reader index is left at the length field.
    package mutating func readDencLength(limit: Int, minimumUnitSize: Int = 1) throws -> Int {
        let start = self
        let wire = try readDencU32()
        // On 64-bit platforms every u32 fits in Int; on 32-bit ones a length that does
        // not could never be satisfied, so it is "too large" as well.
        guard let length = Int(exactly: wire), length <= limit else {
            self = start
            throw DencError(.lengthTooLarge(Int(clamping: wire), limit: limit), at: start)
        }
        let needed = length.multipliedReportingOverflow(by: max(minimumUnitSize, 0))
        guard !needed.overflow, needed.partialValue <= readableBytes else {
            let available = readableBytes
            self = start
            throw DencError(.truncated(needed: needed.overflow ? Int.max : needed.partialValue, available: available), at: start)
        }
        return length
    }

    /// Writes a u32 length or count. Lengths come from our own values, never from the
    /// wire; one that does not fit in a u32 cannot be encoded and is a programming error.
    package mutating func writeDencLength(_ length: Int) {
        guard let wire = UInt32(exactly: length) else {
            preconditionFailure("denc length \(length) does not fit in a u32")
        }
        writeDencU32(wire)
    }

    /// A length-prefixed string. Ceph strings are bytes; this decodes them as UTF-8 and
    /// repairs invalid sequences (never traps). Where the exact bytes matter (object
    /// names, which may be any bytes), read them with ``readDencBytes(limit:)``.
    package mutating func readDencString(limit: Int = DencLimit.string) throws -> String {
        let length = try readDencLength(limit: limit)
        // readDencLength checked that `length` bytes are there.
        return readString(length: length) ?? ""
    }

    package mutating func writeDencString(_ s: String) {
        let lengthIndex = writerIndex
        writeDencU32(0)
        let written = writeString(s)
        guard let wire = UInt32(exactly: written) else {
            preconditionFailure("denc string of \(written) bytes does not fit a u32 length")
        }
        setInteger(wire, at: lengthIndex, endianness: .little)
    }

    /// A length-prefixed byte list, returned as a slice of this buffer (no copy).
    package mutating func readDencBytes(limit: Int = DencLimit.bytes) throws -> ByteBuffer {
        let length = try readDencLength(limit: limit)
        // readDencLength checked that `length` bytes are there.
        return readSlice(length: length) ?? ByteBuffer()
    }

    package mutating func writeDencBytes(_ bytes: ByteBuffer) {
        writeDencLength(bytes.readableBytes)
        writeImmutableBuffer(bytes)
    }

    package mutating func writeDencBytes(_ bytes: some Collection<UInt8>) {
        writeDencLength(bytes.count)
        writeBytes(bytes)
    }

    /// Exactly `count` raw bytes (no length prefix), as a slice (no copy).
    package mutating func readDencFixed(_ count: Int) throws -> ByteBuffer {
        guard count >= 0 else {
            throw DencError(.invalidValue("negative fixed length \(count)"), at: self)
        }
        guard let slice = readSlice(length: count) else {
            throw DencError(.truncated(needed: count, available: readableBytes), at: self)
        }
        return slice
    }

    // MARK: containers

    /// How many elements of `type` to reserve for a decoded `count`: all of them when
    /// that is small, else as many as fit in ``DencLimit/reservationBytes``, so that a
    /// hostile count cannot make us allocate far more than the input's size.
    @inline(__always)
    static func dencReservation<T>(_ count: Int, of type: T.Type) -> Int {
        min(count, DencLimit.reservationBytes / max(MemoryLayout<T>.stride, 1))
    }

    /// A u32 count, then `count` elements. `minimumElementSize` is the fewest bytes one
    /// element can take: it bounds the count by the bytes left before reserving memory.
    package mutating func readDencArray<T>(
        limit: Int = DencLimit.count,
        minimumElementSize: Int = 1,
        _ element: (inout ByteBuffer) throws -> T
    ) throws -> [T] {
        let count = try readDencLength(limit: limit, minimumUnitSize: minimumElementSize)
        var result: [T] = []
        result.reserveCapacity(Self.dencReservation(count, of: T.self))
        for _ in 0..<count {
            result.append(try element(&self))
        }
        return result
    }

    package mutating func writeDencArray<C: Collection>(_ items: C, _ element: (inout ByteBuffer, C.Element) -> Void) {
        writeDencLength(items.count)
        for item in items { element(&self, item) }
    }

    /// A u32 count, then key/value pairs. A repeated key keeps the last value, as
    /// `decode(std::map&)` in `encoding.h` does. (The denc path of `denc.h` keeps the
    /// first; Ceph itself never encodes a repeated key, so only hostile input differs.)
    package mutating func readDencMap<K: Hashable, V>(
        limit: Int = DencLimit.count,
        minimumEntrySize: Int = 2,
        key: (inout ByteBuffer) throws -> K,
        value: (inout ByteBuffer) throws -> V
    ) throws -> [K: V] {
        let count = try readDencLength(limit: limit, minimumUnitSize: minimumEntrySize)
        var result: [K: V] = [:]
        result.reserveCapacity(Self.dencReservation(count, of: (K, V).self))
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
        writeDencLength(map.count)
        for (k, v) in map.sorted(by: { $0.key < $1.key }) {
            key(&self, k)
            value(&self, v)
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

    /// Reads a versioned struct envelope (`DECODE_START`/`DENC_START`): u8 version, u8
    /// compat, u32 length, then decodes the body from exactly that many bytes.
    ///
    /// - A compat above `understands` (our own struct_v) is refused with
    ///   `.incompatibleVersion`, as Ceph refuses when its code version is below compat.
    /// - The body decoder sees only the body: reading past it throws `.truncated`.
    /// - Bytes it leaves are skipped: a newer encoder appended fields.
    ///
    /// Errors inside are annotated with `type`, and their offsets are those of the
    /// enclosing buffer. On error the reader index is back at the envelope.
    package mutating func readDencVersioned<T>(
        _ type: String,
        understands: UInt8,
        limit: Int = DencLimit.bytes,
        _ body: (inout ByteBuffer, _ version: UInt8) throws -> T
    ) throws -> T {
        // The modern envelope is the legacy one with compat and length always present.
        try readDencVersionedLegacy(type, understands: understands, compatSince: 0, lengthSince: 0, limit: limit, body)
    }

    /// Reads a versioned struct that may predate the envelope
    /// (`DECODE_START_LEGACY_COMPAT_LEN(v, compatv, lenv, bl)` in `encoding.h`): u8
    /// version; then u8 compat only if version ≥ `compatSince`; then u32 length only if
    /// version ≥ `lengthSince`. With a length it behaves like
    /// ``readDencVersioned(_:understands:limit:_:)``; without one the body reads
    /// straight from this buffer and nothing is skipped. (The `_32`/`_16` variants, for
    /// encodings whose old version field was wider, are not supported.)
    package mutating func readDencVersionedLegacy<T>(
        _ type: String,
        understands: UInt8,
        compatSince: UInt8,
        lengthSince: UInt8,
        limit: Int = DencLimit.bytes,
        _ body: (inout ByteBuffer, _ version: UInt8) throws -> T
    ) throws -> T {
        let start = self
        do {
            let version = try readDencU8()
            if version >= compatSince {
                let compat = try readDencU8()
                guard compat <= understands else {
                    throw DencError(.incompatibleVersion(compat: compat, supported: understands), at: start)
                }
            }
            guard version >= lengthSince else {
                return try body(&self, version)
            }
            var content = try readDencBytes(limit: limit)
            let bodyOffset = readerIndex - content.readableBytes
            do {
                return try body(&content, version)
            } catch let error as DencError {
                // The body is a slice whose indices start at 0: report enclosing offsets.
                throw error.shifted(by: bodyOffset)
            }
        } catch let error as DencError {
            self = start
            throw error.within(type)
        } catch {
            self = start
            throw error
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
        let written = writerIndex - start
        guard let wire = UInt32(exactly: written) else {
            preconditionFailure("denc struct body of \(written) bytes does not fit a u32 length")
        }
        setInteger(wire, at: lengthIndex, endianness: .little)
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
