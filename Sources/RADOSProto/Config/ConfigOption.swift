/// The schema of one Ceph option SwiftRBD reads: its name, type and Pacific default.
///
/// Names and defaults come from `src/common/options.cc` (Pacific) and were checked with
/// `ceph-conf --show-config-value NAME` from Ceph 16.2. Values are kept as strings and
/// validated against the type when set; readers convert them.
package struct ConfigOption: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable {
        /// `true`/`false` (any case) or an integer, non-zero meaning true.
        case bool
        /// A signed integer.
        case int
        /// A byte count, with an optional IEC suffix (`32M`, `1Ki`, `4GiB`).
        case size
        /// A floating-point number.
        case float
        /// Seconds as an integer.
        case secs
        /// Free text; `$meta` variables in it are expanded when read.
        case string
        /// Monitor addresses (`mon_host`).
        case addrs
    }

    package var name: String
    package var kind: Kind
    /// The built-in default as Ceph spells it (before `$` expansion).
    package var defaultValue: String
    /// A secret (`key`): never shown.
    package var isSecret: Bool = false

    /// Checks `value` against the type; returns a reason when it does not fit.
    package func validate(_ value: String) -> String? {
        switch kind {
        case .bool:
            return ConfigValueParser.bool(value) == nil ? "expected true or false" : nil
        case .int, .secs:
            return Int64(value.cephTrimmed()) == nil ? "expected an integer" : nil
        case .size:
            return ConfigValueParser.size(value) == nil ? "expected a size in bytes (e.g. 33554432 or 32M)" : nil
        case .float:
            return Double(value.cephTrimmed()) == nil ? "expected a number" : nil
        case .string, .addrs:
            return nil
        }
    }
}

/// Converts option strings the way Ceph's `Option::parse_value` does.
package enum ConfigValueParser {
    /// `true`/`false` in any case, or an integer (non-zero is true).
    package static func bool(_ text: String) -> Bool? {
        let t = text.cephTrimmed()
        switch t.lowercased() {
        case "true": return true
        case "false": return false
        default: return Int64(t).map { $0 != 0 }
        }
    }

    /// A byte count with an optional IEC suffix: `K`/`Ki`/`KiB`/`KB` … `E` (all powers of 1024).
    package static func size(_ text: String) -> Int64? {
        var t = Substring(text.cephTrimmed())
        if t.hasSuffix("B") { t.removeLast() }
        let binary = t.hasSuffix("i")
        if binary { t.removeLast() }
        var shift: Int64 = 0
        let units = "KMGTPE"
        if let last = t.last, let index = units.firstIndex(of: last) {
            shift = Int64(units.distance(from: units.startIndex, to: index) + 1) * 10
            t.removeLast()
        } else if binary {
            return nil
        }
        guard let number = Int64(t), number >= 0 else { return nil }
        let (result, overflow) = number.multipliedReportingOverflow(by: Int64(1) << shift)
        return overflow ? nil : result
    }
}
