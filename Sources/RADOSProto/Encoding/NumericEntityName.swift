import NIOCore

/// Ceph's `entity_name_t` (`src/msg/msg_types.h`): who sent or receives a message, as a
/// type and a number, printed `client.4123` or `osd.3`. Clients are numbered by the
/// global id the monitor assigns; `-1` (``new``) means "not yet assigned".
///
/// Wire form (`DENC`, no envelope): u8 type, i64 number — 9 bytes.
///
/// Not to be confused with ``EntityName``, the auth identity (`client.admin`).
package struct NumericEntityName: Hashable, Sendable, Comparable, CustomStringConvertible {
    package var type: EntityType
    package var number: Int64

    /// The number of an entity whose id is not assigned yet (`entity_name_t::NEW`).
    package static let new: Int64 = -1

    package init(type: EntityType, number: Int64) {
        self.type = type
        self.number = number
    }

    package static func client(_ number: Int64) -> NumericEntityName { .init(type: .client, number: number) }
    package static func osd(_ number: Int64) -> NumericEntityName { .init(type: .osd, number: number) }
    package static func mon(_ number: Int64) -> NumericEntityName { .init(type: .mon, number: number) }
    package static func mgr(_ number: Int64) -> NumericEntityName { .init(type: .mgr, number: number) }

    /// Parses `type.number` (`osd.3`); the type must be one of mon, mds, osd, client, mgr,
    /// like `entity_name_t::parse`, and the number a decimal integer (optionally signed,
    /// as `strtoll` reads it; no leading space).
    package init?(_ text: some StringProtocol) {
        guard let dot = text.firstIndex(of: ".") else { return nil }
        guard let type = EntityType(name: text[..<dot]),
              [.mon, .mds, .osd, .client, .mgr].contains(type) else { return nil }
        let digits = text[text.index(after: dot)...]
        guard let first = digits.first, !first.isWhitespace,
              let number = Int64(digits) else { return nil }
        self.init(type: type, number: number)
    }

    /// Type first, then number, as Ceph orders them.
    package static func < (lhs: NumericEntityName, rhs: NumericEntityName) -> Bool {
        (lhs.type.rawValue, lhs.number) < (rhs.type.rawValue, rhs.number)
    }

    /// `osd.3`, or `client.?` for a negative number, as Ceph prints it.
    package var description: String {
        number < 0 ? "\(type.name).?" : "\(type.name).\(number)"
    }
}

extension ByteBuffer {
    /// `entity_name_t`: u8 type, i64 number.
    package mutating func readDencNumericEntityName() throws -> NumericEntityName {
        guard readableBytes >= 9 else {
            throw DencError(.truncated(needed: 9, available: readableBytes), at: self, context: ["entity_name_t"])
        }
        let type = EntityType(rawValue: try readDencU8())
        let number = try readDencI64()
        return NumericEntityName(type: type, number: number)
    }

    package mutating func writeDencNumericEntityName(_ name: NumericEntityName) {
        writeDencU8(name.type.rawValue)
        writeDencI64(name.number)
    }
}
