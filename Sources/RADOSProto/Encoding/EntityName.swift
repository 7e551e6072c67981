import NIOCore

/// Ceph's `EntityName` (`src/common/entity_name.h`): an identity for authentication,
/// `type.id` as in `client.admin` or `osd.0` — the `name` option and keyring sections.
/// cephx sends it in its requests.
///
/// Wire form (`EntityName::encode`, no envelope): u32 type, then the id as a denc
/// string (u32 length, bytes). The type is an `EntityType`; a value above 255 is not a
/// Ceph entity type and fails to decode with `.invalidValue`.
package struct EntityName: Hashable, Sendable, Comparable, CustomStringConvertible {
    package var type: EntityType
    package var id: String

    package init(type: EntityType, id: String) {
        self.type = type
        self.id = id
    }

    /// `client.<id>`, the usual librados user.
    package static func client(_ id: String) -> EntityName { .init(type: .client, id: id) }

    /// Parses `type.id` the way `EntityName::from_str` does: the type is everything up to
    /// the first dot and must be one of auth, mon, osd, mds, mgr, client (not `any`); the
    /// id is the rest (it may contain dots, and may be empty).
    package init?(_ text: some StringProtocol) {
        guard let dot = text.firstIndex(of: "."),
              let type = EntityType(name: text[..<dot]), type != .any else { return nil }
        self.init(type: type, id: String(text[text.index(after: dot)...]))
    }

    /// Type first, then id.
    package static func < (lhs: EntityName, rhs: EntityName) -> Bool {
        (lhs.type.rawValue, lhs.id) < (rhs.type.rawValue, rhs.id)
    }

    /// `client.admin`.
    package var description: String { "\(type.name).\(id)" }
}

extension ByteBuffer {
    /// `EntityName`: u32 type, string id.
    package mutating func readDencEntityName(limit: Int = DencLimit.string) throws -> EntityName {
        let start = self
        do {
            let rawType = try readDencU32()
            guard let type = UInt8(exactly: rawType) else {
                throw DencError(.invalidValue("entity type \(rawType) is not a Ceph entity type"), at: start)
            }
            let id = try readDencString(limit: limit)
            return EntityName(type: EntityType(rawValue: type), id: id)
        } catch let error as DencError {
            self = start
            throw error.within("EntityName")
        }
    }

    package mutating func writeDencEntityName(_ name: EntityName) {
        writeDencU32(UInt32(name.type.rawValue))
        writeDencString(name.id)
    }
}
