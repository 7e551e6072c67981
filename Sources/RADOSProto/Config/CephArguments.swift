/// Command-line arguments in the form Ceph's tools take them (`src/common/ceph_argparse.cc`),
/// also used for `CEPH_ARGS`, which is split on whitespace and goes before the real
/// arguments (so the real ones win).
///
/// Understood: `--id X`/`-i X`/`--user X` (the id), `--name X`/`-n X` (`type.id`),
/// `--cluster X`, `-c X`/`--conf X`, `-k X`/`--keyring X`, and any `--option value` or
/// `--option=value`, where dashes in the name equal underscores. A boolean option may be
/// given bare (`--rbd-cache`) or negated (`--no-rbd-cache`).
package struct CephArguments: Sendable {
    package var id: String?
    package var name: String?
    package var cluster: String?
    package var configFile: String?
    /// Options in the order given (`keyring` included); later ones win.
    package var options: [(name: String, value: String)] = []
    /// Arguments that are not options.
    package var positionals: [String] = []

    package init() {}

    /// Splits a `CEPH_ARGS` value into arguments (on spaces and tabs, like Ceph).
    package static func splitEnvironment(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    }

    /// Parses arguments; errors name the argument, never a value.
    package static func parse(_ arguments: [String]) throws(RADOSError) -> CephArguments {
        var result = CephArguments()
        var i = 0
        func takeValue(_ flag: String, inline: String?) throws(RADOSError) -> String {
            if let inline { return inline }
            guard i + 1 < arguments.count else {
                throw RADOSError(.invalidArgument, "option \(flag) needs a value")
            }
            i += 1
            return arguments[i]
        }
        while i < arguments.count {
            let arg = arguments[i]
            defer { i += 1 }
            if arg == "--" {
                result.positionals += arguments[(i + 1)...]
                i = arguments.count
                break
            }
            guard arg.hasPrefix("-"), arg.count > 1 else {
                result.positionals.append(arg)
                continue
            }
            var flag = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "=") {
                flag = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            switch flag {
            case "--id", "-i", "--user":
                result.id = try takeValue(flag, inline: inline)
            case "--name", "-n":
                result.name = try takeValue(flag, inline: inline)
            case "--cluster":
                result.cluster = try takeValue(flag, inline: inline)
            case "--conf", "-c":
                result.configFile = try takeValue(flag, inline: inline)
            case "--keyring", "-k":
                result.options.append(("keyring", try takeValue(flag, inline: inline)))
            default:
                guard flag.hasPrefix("--"), flag.count > 2 else {
                    throw RADOSError(.invalidArgument, "unknown option \(flag)")
                }
                let name = String(flag.dropFirst(2)).cephUnderscored()
                let kind = ConfigOptionCatalog.byName[name]?.kind
                if inline == nil, kind == .bool,
                   i + 1 >= arguments.count || ConfigValueParser.bool(arguments[i + 1]) == nil {
                    result.options.append((name, "true"))
                } else if inline == nil, name.hasPrefix("no_"),
                          ConfigOptionCatalog.byName[String(name.dropFirst(3))]?.kind == .bool {
                    result.options.append((String(name.dropFirst(3)), "false"))
                } else {
                    result.options.append((name, try takeValue(flag, inline: inline)))
                }
            }
        }
        return result
    }
}

extension String {
    /// Ceph's command line treats `-` and `_` in option names alike.
    func cephUnderscored() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}
