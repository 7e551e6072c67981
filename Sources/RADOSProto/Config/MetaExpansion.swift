/// Expands `$variables` in option values the way Ceph's `md_config_t::_expand_meta` does.
///
/// `$name` or `${name}`, where a bare name runs over `[A-Za-z0-9_]`. Metavariables:
/// `cluster`, `type`, `id`, `name`, `num` (the id), `host`, `pid`, `home`. Any other name
/// that is an option expands to that option's (expanded) value; unknown names stay as
/// written (`$nosuch`, `$$`). A chain that comes back to itself is an error, as in Ceph
/// ("variable expansion loop").
package struct MetaExpansion {
    package var metavariables: [String: String]
    /// The raw value of another option, or nil when the name is not an option.
    package var lookup: (String) -> String?

    package init(metavariables: [String: String], lookup: @escaping (String) -> String?) {
        self.metavariables = metavariables
        self.lookup = lookup
    }

    package func expand(_ value: String, option: String) throws(RADOSError) -> String {
        var stack = [option]
        return try expand(value, stack: &stack)
    }

    private func expand(_ value: String, stack: inout [String]) throws(RADOSError) -> String {
        guard value.contains("$") else { return value }
        let chars = Array(value)
        var out = ""
        var i = 0
        while i < chars.count {
            guard chars[i] == "$" else {
                out.append(chars[i])
                i += 1
                continue
            }
            var name = ""
            var end = i + 1
            if end < chars.count, chars[end] == "{" {
                guard let close = chars[(end + 1)...].firstIndex(of: "}") else {
                    out.append(chars[i])
                    i += 1
                    continue
                }
                name = String(chars[(end + 1)..<close])
                end = close + 1
            } else {
                while end < chars.count, chars[end].isASCII, chars[end].isLetter || chars[end].isNumber || chars[end] == "_" {
                    name.append(chars[end])
                    end += 1
                }
            }
            if let meta = metavariables[name] {
                out += meta
            } else if let raw = lookup(name) {
                if stack.contains(name) {
                    throw RADOSError(.invalidConfiguration,
                                     "variable expansion loop: \((stack + [name]).joined(separator: " -> "))")
                }
                stack.append(name)
                out += try expand(raw, stack: &stack)
                stack.removeLast()
            } else {
                out += String(chars[i..<end])
            }
            i = end
        }
        return out
    }
}
