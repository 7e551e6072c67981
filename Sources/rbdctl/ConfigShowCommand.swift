import ArgumentParser
import Foundation
import RADOSProto
import RBDCache
import RBDCore

/// `rbdctl config show [-c FILE] [--id X] [--cache MODE] [--image rbd:NAME] [--OPTION VALUE...]`:
/// every option's value and the layer it came from (default, application, file,
/// override), and the image cache those values give.
struct ConfigShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show each option's value and where it came from.",
        discussion: """
            Layers, lowest first: default (Ceph's), application (implied by --cache, as \
            QEMU's cache= does), file (the configuration file), override (CEPH_ARGS, the \
            command line and the options of an --image name). Any other --option value \
            sets a Ceph option.

            Example:
              rbdctl config show --image rbd:rbd/vm1:rbd_cache=false --cache writeback
            """
    )

    @Option(name: [.customShort("c"), .customLong("conf")], help: "Configuration file (default: CEPH_CONF or the search path).")
    var conf: String?

    @Option(name: .customLong("id"), help: "User id (client.<id>).")
    var id: String?

    @Option(name: [.customShort("n"), .customLong("name")], help: "Entity name (type.id).")
    var name: String?

    @Option(help: "QEMU cache mode to apply: writeback, writethrough or none.")
    var cache: CacheModeArgument?

    @Option(help: "A QEMU image name, rbd:pool/image[:key=value...]: its conf= and id= pick the file and user (unless -c and --id do), its other keys override, as QEMU applies them.")
    var image: String?

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Argument(parsing: .allUnrecognized, help: "Ceph options: --OPTION VALUE or --OPTION=VALUE.")
    var cephOptions: [String] = []

    func run() throws {
        var arguments: [String] = []
        do {
            var spec: ImageSpec?
            if let image { spec = try ImageSpec.parse(image) }
            if let file = conf ?? spec?.configFile { arguments += ["-c", file] }
            if let user = id ?? spec?.user { arguments += ["--id", user] }
            if let name { arguments += ["--name", name] }
            arguments += cephOptions + CephOptionArguments.commandLine
            var config = try RADOSConfiguration.load(arguments: arguments)
            if let cache { try config.applyCacheMode(cache.mode) }
            for option in spec?.cephOptions ?? [] {
                try config.set(option.key, to: option.value, source: .override)
            }
            print(try ConfigShowCommand.render(config, format: format), terminator: "")
        } catch {
            FileHandle.standardError.write(Data("rbdctl: \(error.description)\n".utf8))
            throw ExitCode(error.errno)
        }
    }

    static func render(_ config: RADOSConfiguration, format: OutputFormat) throws(RADOSError) -> String {
        var rows: [(name: String, value: String, source: String)] = []
        for option in config.optionNames {
            guard let source = config.source(of: option) else { continue }
            var value = try config.string(option) ?? ""
            if config.isSecret(option) && !value.isEmpty { value = "<redacted>" }
            rows.append((option, value, source.description))
        }
        let policy = try config.cachePolicy()
        let effective = policy.mode(afterFirstFlush: true)
        let beforeFlush = policy.mode(afterFirstFlush: false)
        switch format {
        case .text:
            var out = "name: \(config.name)\ncluster: \(config.cluster)\nconf: \(config.configFile ?? "(none)")\n"
            out += "cache mode: \(effective.rawValue)"
            if beforeFlush != effective { out += " (\(beforeFlush.rawValue) until the first flush)" }
            out += "\n"
            if policy.enabled { out += "cache policy: \(policy.kind.rawValue)\n" }
            let width = rows.map(\.name.count).max() ?? 0
            for row in rows {
                let pad = String(repeating: " ", count: width - row.name.count)
                out += "\(row.name)\(pad)  \(row.value)  [\(row.source)]\n"
            }
            return out
        case .json:
            let object: [String: Any] = [
                "name": config.name,
                "cluster": config.cluster,
                "conf": config.configFile.map { $0 as Any } ?? NSNull(),
                "cache_mode": effective.rawValue,
                "cache_mode_before_first_flush": beforeFlush.rawValue,
                "cache_policy": policy.enabled ? policy.kind.rawValue : "none",
                "options": rows.map { ["name": $0.name, "value": $0.value, "source": $0.source] },
            ]
            return JSONText.render(object)
        }
    }
}

struct CacheModeArgument: ExpressibleByArgument {
    var mode: CacheMode

    init?(argument: String) {
        guard let mode = CacheMode(rawValue: argument) else { return nil }
        self.mode = mode
    }

    static var allValueStrings: [String] { CacheMode.allCases.map(\.rawValue) }
}
