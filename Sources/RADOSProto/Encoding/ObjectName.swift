import NIOCore

/// An object's name as a request carries it: a string, or an RBD data object's name kept
/// as its prefix and object number, spelled out (`<prefix>.<number as %016x>`, ceph/ceph
/// `src/librbd/Utils.cc`, `data_object_name`) only where it is hashed and encoded, so an
/// image I/O makes no string for its object.
///
/// Two names are equal when their forms are (a data object's name and the same text as
/// a string are not); requests are never looked up by name, so nothing depends on it.
package struct ObjectName: Sendable, Hashable, CustomStringConvertible {
    /// The whole name, or a data object's prefix (`rbd_data.<id>`).
    package let base: String
    /// A data object's number, or nil when ``base`` is the whole name.
    package let dataObjectNumber: UInt64?

    package init(_ name: String) {
        base = name
        dataObjectNumber = nil
    }

    /// Data object `number` of the image whose objects are named with `prefix`.
    package init(dataObjectPrefix prefix: String, number: UInt64) {
        base = prefix
        dataObjectNumber = number
    }

    /// Bytes of the name.
    package var utf8Count: Int { base.utf8.count + (dataObjectNumber == nil ? 0 : 17) }

    /// Calls `body` with the name's bytes (a data object's composed on the stack).
    package func withUTF8<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var base = base
        guard let number = dataObjectNumber else {
            return try base.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        }
        return try base.withUTF8 { head in
            try withUnsafeTemporaryAllocation(byteCount: head.count + 17, alignment: 1) { out in
                out.copyMemory(from: UnsafeRawBufferPointer(head))
                out[head.count] = UInt8(ascii: ".")
                var value = number
                var index = head.count + 16
                while index > head.count {
                    let digit = UInt8(truncatingIfNeeded: value & 0xF)
                    out[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                    value >>= 4
                    index -= 1
                }
                return try body(UnsafeRawBufferPointer(out))
            }
        }
    }

    /// The name as a string (made anew for a data object: for messages, not the I/O path).
    package var description: String {
        guard dataObjectNumber != nil else { return base }
        return withUTF8 { String(decoding: $0, as: UTF8.self) }
    }
}

extension ByteBuffer {
    /// Writes `name` as a denc string (u32 length, bytes), as `writeDencString` would
    /// write its text.
    package mutating func writeDencObjectName(_ name: ObjectName) {
        writeDencU32(UInt32(truncatingIfNeeded: name.utf8Count))
        name.withUTF8 { _ = writeBytes($0) }
    }
}
