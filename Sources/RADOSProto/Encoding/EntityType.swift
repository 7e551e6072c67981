/// The kind of a Ceph entity: `CEPH_ENTITY_TYPE_*` in `src/include/msgr.h`, names from
/// `ceph_entity_type_name()` in `src/include/ceph_strings.cc`.
///
/// A struct over the raw value rather than an enum: a peer may send a type we do not
/// know, and decoding must keep it rather than fail. It travels as a u8 inside
/// `entity_name_t` and as a u32 inside the auth `EntityName`.
package struct EntityType: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    package var rawValue: UInt8

    package init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    package static let mon = EntityType(rawValue: 0x01)
    package static let mds = EntityType(rawValue: 0x02)
    package static let osd = EntityType(rawValue: 0x04)
    package static let client = EntityType(rawValue: 0x08)
    package static let mgr = EntityType(rawValue: 0x10)
    package static let auth = EntityType(rawValue: 0x20)
    /// A wildcard, used in some requests (e.g. "any" service in an auth ticket request).
    package static let any = EntityType(rawValue: 0xFF)

    /// The known types, in the order of their values.
    package static let known: [EntityType] = [.mon, .mds, .osd, .client, .mgr, .auth, .any]

    /// The name Ceph prints (`client`, `osd`, …); `unknown` for other values. `any` is
    /// our own name for the wildcard (Ceph's name tables stop at the six real types).
    package var name: String {
        switch rawValue {
        case 0x01: "mon"
        case 0x02: "mds"
        case 0x04: "osd"
        case 0x08: "client"
        case 0x10: "mgr"
        case 0x20: "auth"
        case 0xFF: "any"
        default: "unknown"
        }
    }

    /// The type named `name` (`"client"`, …), or `nil` if there is none.
    package init?(name: some StringProtocol) {
        guard let found = Self.known.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    package static func < (lhs: EntityType, rhs: EntityType) -> Bool { lhs.rawValue < rhs.rawValue }

    package var description: String { name }
}
