/// A Ceph entity name as configuration sees it: `type.id`, e.g. `client.admin`.
///
/// `src/common/entity_name.cc`: the type is one of `auth`, `mon`, `osd`, `mds`, `mgr`,
/// `client`; the id is everything after the first dot and may be empty only for `mon.`.
/// Config sections searched for it are `type.id`, `type`, then `global`
/// (`md_config_t::get_my_sections`).
package struct ConfEntityName: Sendable, Hashable, CustomStringConvertible {
    package static let types: Set<String> = ["auth", "mon", "osd", "mds", "mgr", "client"]

    package var type: String
    package var id: String

    package init(type: String, id: String) {
        self.type = type
        self.id = id
    }

    /// Parses `type.id`; nil when the type is unknown or there is no dot.
    package init?(parsing text: String) {
        guard let dot = text.firstIndex(of: ".") else { return nil }
        let type = String(text[..<dot])
        let id = String(text[text.index(after: dot)...])
        guard ConfEntityName.types.contains(type) else { return nil }
        guard !id.isEmpty || type == "mon" else { return nil }
        self.init(type: type, id: id)
    }

    package var description: String { "\(type).\(id)" }

    /// The sections that apply to this entity, most specific first.
    package var sections: [String] { [description, type, "global"] }
}
