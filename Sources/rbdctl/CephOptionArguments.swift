/// Ceph options anywhere on the command line, as `rbd` takes them: `rbdctl bench
/// --rbd_cache=false --io-type write IMAGE` as well as with the option last.
///
/// The argument parser collects unknown options only after the positional arguments, so
/// before parsing, every Ceph option (`--rbd_cache=false`, `--ms-client-mode secure`:
/// dashes or underscores, with `=` or with the value as the next word) is moved to the
/// end, in order. A word is a Ceph option when its name has a prefix of Ceph's option
/// families (`rbd_`, `ms_`, `client_`, …); none of rbdctl's own options has one.
enum CephOptionArguments {
    static let families = ["rbd_", "ms_", "client_", "mon_", "osd_", "auth_", "log_", "debug_", "rados_", "objecter_", "keyring", "keyfile", "key"]

    /// Whether `word` (`--name` or `--name=value`) names a Ceph option.
    static func isCephOption(_ word: String) -> Bool {
        guard word.hasPrefix("--"), word.count > 2 else { return false }
        let name = word.dropFirst(2).prefix { $0 != "=" }.replacingOccurrences(of: "-", with: "_")
        return families.contains { family in
            family.hasSuffix("_") ? name.hasPrefix(family) && name.count > family.count : name == family
        }
    }

    /// `arguments` (without the program name) with every Ceph option, and its value when
    /// it is the next word (joined to it with `=`), moved after the other arguments (but before a `--`, after
    /// which nothing moves).
    static func movedToEnd(_ arguments: [String]) -> [String] {
        var kept: [String] = []
        var moved: [String] = []
        var rest: [String] = []
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" {
                rest = Array(arguments[index...])
                break
            }
            if isCephOption(word) {
                // `--opt value` becomes `--opt=value`, so the value cannot be taken for a
                // positional argument (`rbdctl status --ms_mon_client_mode secure`).
                if !word.contains("="), index + 1 < arguments.count {
                    moved.append(word + "=" + arguments[index + 1])
                    index += 1
                } else {
                    moved.append(word)
                }
            } else {
                kept.append(word)
            }
            index += 1
        }
        return kept + moved + rest
    }
}
