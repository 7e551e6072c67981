import NIOCore

/// Why a Ceph-encoded value failed to decode, and where.
///
/// Wire and file data are untrusted: decoders never trap, they throw this with the
/// reader offset, the chain of types being decoded, and up to 32 bytes at the point
/// of failure, so a corrupt frame can be diagnosed from the log. It converts into a
/// ``RADOSError`` with code `.malformedData` at the layer boundary.
package struct DencError: Error, Hashable, Sendable, CustomStringConvertible {
    package enum Kind: Hashable, Sendable {
        /// Fewer bytes were left than the field needs.
        case truncated(needed: Int, available: Int)
        /// A length or count field is larger than the limit for that field.
        case lengthTooLarge(Int, limit: Int)
        /// A versioned struct's compat version is newer than we understand.
        case incompatibleVersion(compat: UInt8, supported: UInt8)
        /// A payload that must be consumed exactly had bytes left over.
        case trailingBytes(Int)
        /// A field holds a value that is not allowed (e.g. an unknown enum).
        case invalidValue(String)
    }

    package var kind: Kind
    /// Reader index (relative to the buffer being decoded) at which decoding failed.
    package var offset: Int
    /// Names of the types being decoded, outermost first.
    package var context: [String]
    /// Up to 32 bytes starting at `offset`.
    package var bytes: [UInt8]

    package init(_ kind: Kind, at buffer: ByteBuffer, context: [String] = []) {
        self.kind = kind
        self.offset = buffer.readerIndex
        self.context = context
        self.bytes = buffer.getBytes(at: buffer.readerIndex, length: min(32, buffer.readableBytes)) ?? []
    }

    package var description: String {
        let path = context.isEmpty ? "value" : context.joined(separator: ".")
        let hex = bytes.map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: " ")
        let what: String
        switch kind {
        case .truncated(let needed, let available):
            what = "truncated: needed \(needed) bytes, \(available) left"
        case .lengthTooLarge(let length, let limit):
            what = "length \(length) exceeds the limit \(limit)"
        case .incompatibleVersion(let compat, let supported):
            what = "encoding needs compat version \(compat), we understand up to \(supported)"
        case .trailingBytes(let count):
            what = "\(count) unexpected trailing bytes"
        case .invalidValue(let reason):
            what = "invalid value: \(reason)"
        }
        return "cannot decode \(path) at offset \(offset): \(what); bytes: [\(hex)]"
    }

    /// The same error seen from an enclosing type.
    package func within(_ type: String) -> DencError {
        var copy = self
        copy.context.insert(type, at: 0)
        return copy
    }

    /// The same error with its offset moved by `base`: for errors raised while reading a
    /// slice, whose indices start at 0, seen from the buffer the slice was cut from.
    package func shifted(by base: Int) -> DencError {
        var copy = self
        let moved = copy.offset.addingReportingOverflow(base)
        copy.offset = moved.overflow ? Int.max : moved.partialValue
        return copy
    }

    /// The public form of this error.
    package var radosError: RADOSError {
        RADOSError(.malformedData, "received data that does not decode; the connection was dropped", details: description)
    }
}
