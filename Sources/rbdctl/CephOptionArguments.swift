import RADOSProto

/// Ceph options anywhere on the command line, as `rbd` takes them: `rbdctl bench
/// --rbd_cache=false --io-type write IMAGE` as well as with the option last.
///
/// Before parsing, every Ceph option (`--rbd_cache=false`, `--ms-client-mode secure`:
/// dashes or underscores, with `=` or with the value as the next word) is taken off the
/// command line, in order, and applied by ``ClusterOptions``. A word is a Ceph option when its name has a prefix of Ceph's option
/// families (`rbd_`, `ms_`, `client_`, …); none of rbdctl's own options has one.
enum CephOptionArguments {
    static let families = ["rbd_", "ms_", "client_", "mon_", "osd_", "auth_", "log_", "debug_", "rados_", "objecter_", "keyring", "keyfile", "key", "name"]

    /// The short forms Ceph's tools take: `-m` monitors, `-n` the entity name, `-k`
    /// a keyring, `-K` a key file (`src/common/ceph_argparse.cc`).
    static let shortForms = ["-m": "mon_host", "-n": "name", "-k": "keyring", "-K": "keyfile"]

    /// Whether `word` (`--name` or `--name=value`) names a Ceph option.
    static func isCephOption(_ word: String) -> Bool {
        guard word.hasPrefix("--"), word.count > 2 else { return false }
        let name = word.dropFirst(2).prefix { $0 != "=" }.replacingOccurrences(of: "-", with: "_")
        return families.contains { family in
            family.hasSuffix("_") ? name.hasPrefix(family) && name.count > family.count : name == family
        }
    }

    /// The first word naming an option of a Ceph family that Ceph does not have
    /// (`--rbd_foo_bar`), which rbd refuses ("unrecognised option").
    static func firstUnknown(_ arguments: [String]) -> String? {
        for word in arguments {
            if word == "--" { return nil }
            guard isCephOption(word) else { continue }
            let name = String(word.dropFirst(2).prefix { $0 != "=" })
            if !RADOSConfiguration.isCephOption(name) { return "--" + name }
        }
        return nil
    }

    /// The Ceph options taken off the command line by ``split(_:)`` at start-up, before
    /// anything else runs; ``ClusterOptions`` applies them.
    nonisolated(unsafe) static var commandLine: [String] = []

    /// `arguments` (without the program name) without its Ceph options, and those
    /// options, each with its value when it is the next word (joined with `=`), in order;
    /// nothing after a `--` is taken. The parser never sees them, so they cannot be
    /// mistaken for positional arguments or refused by a command with optional ones.
    static func split(_ arguments: [String]) -> (rest: [String], options: [String]) {
        var kept: [String] = []
        var options: [String] = []
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" {
                kept += arguments[index...]
                break
            }
            if let long = shortForms[word], index + 1 < arguments.count {
                options.append("--\(long)=" + arguments[index + 1])
                index += 2
                continue
            }
            if isCephOption(word) {
                if !word.contains("="), index + 1 < arguments.count {
                    options.append(word + "=" + arguments[index + 1])
                    index += 1
                } else {
                    options.append(word)
                }
            } else {
                kept.append(word)
            }
            index += 1
        }
        return (kept, options)
    }
}
