import NIOCore

/// Ceph's `uuid_d`: 16 raw bytes, no length prefix (`src/include/uuid.h`, a wrapper of
/// `boost::uuids::uuid`; encoded as the bytes themselves). Used for OSD uuids, image
/// and pool ids in some structures, and as the storage of ``CephFSID``.
///
/// The text form is the usual lowercase `8-4-4-4-12` hex. Parsing follows Boost's
/// `string_generator`, which Ceph uses: 32 hex digits of either case, with hyphens
/// after the 4th, 6th, 8th and 10th byte either all present or all absent, optionally
/// inside `{` `}`.
package struct CephUUID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Bytes 0–7, most significant first.
    package var high: UInt64
    /// Bytes 8–15, most significant first.
    package var low: UInt64

    /// The nil uuid (all zero bytes), Ceph's "not set".
    package static let zero = CephUUID(high: 0, low: 0)

    package init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// From exactly 16 bytes; `nil` for any other count.
    package init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 {
                high = high << 8 | UInt64(byte)
            } else {
                low = low << 8 | UInt64(byte)
            }
        }
        self.init(high: high, low: low)
    }

    /// Parses the text form (see the type's documentation); `nil` when malformed.
    package init?(_ text: some StringProtocol) {
        var utf8 = Array(text.utf8)
        if utf8.first == UInt8(ascii: "{") {
            guard utf8.count >= 2, utf8.last == UInt8(ascii: "}") else { return nil }
            utf8 = Array(utf8.dropFirst().dropLast())
        }
        let hyphenated: Bool
        switch utf8.count {
        case 36: hyphenated = true
        case 32: hyphenated = false
        default: return nil
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var digits = 0
        for (position, character) in utf8.enumerated() {
            if hyphenated, [8, 13, 18, 23].contains(position) {
                guard character == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let nibble = Self.hexValue(character) else { return nil }
            if digits < 16 {
                high = high << 4 | UInt64(nibble)
            } else {
                low = low << 4 | UInt64(nibble)
            }
            digits += 1
        }
        guard digits == 32 else { return nil }
        self.init(high: high, low: low)
    }

    /// The 16 bytes, in wire order.
    package var bytes: [UInt8] {
        (0..<16).map { index in
            index < 8
                ? UInt8(truncatingIfNeeded: high >> (8 * (7 - index)))
                : UInt8(truncatingIfNeeded: low >> (8 * (15 - index)))
        }
    }

    package var isZero: Bool { high == 0 && low == 0 }

    /// Byte order, which is also the order of the text forms Ceph compares.
    package static func < (lhs: CephUUID, rhs: CephUUID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    package var description: String {
        let hex = "0123456789abcdef".utf8.map { $0 }
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension ByteBuffer {
    /// `uuid_d`: 16 raw bytes.
    package mutating func readDencUUID() throws -> CephUUID {
        guard readableBytes >= 16 else {
            throw DencError(.truncated(needed: 16, available: readableBytes), at: self, context: ["uuid_d"])
        }
        // Big-endian reads keep the bytes in order: byte 0 is the high byte of `high`.
        let high = try readDencU64().byteSwapped
        let low = try readDencU64().byteSwapped
        return CephUUID(high: high, low: low)
    }

    package mutating func writeDencUUID(_ uuid: CephUUID) {
        writeInteger(uuid.high, endianness: .big)
        writeInteger(uuid.low, endianness: .big)
    }
}
