import Foundation

/// The configuration of one RADOS client: who it is, which cluster, and every option
/// with the layer its value came from.
///
/// Values live in four layers, highest wins (``Source``): Ceph's built-in defaults, what
/// the application implies (QEMU's `cache=` mode), the configuration file, and what the
/// caller sets (command line, `CEPH_ARGS`, `rbd:` options, the API). Each layer is kept,
/// so ``source(of:)`` tells where the value in force came from and a lower layer set
/// later never hides a higher one.
///
/// Loading follows librados (`rados_create`, `rados_conf_read_file`,
/// `rados_conf_parse_env`, `rados_conf_parse_argv`): the file is `-c`/`--conf`, else the
/// given path, else `CEPH_CONF`, else the first of `/etc/ceph/$cluster.conf`,
/// `~/.ceph/$cluster.conf`, `./$cluster.conf` that exists. The cluster name is
/// `--cluster`, else the file's name before `.conf`, else `ceph`. Options are read from
/// the sections `[type.id]`, `[type]`, `[global]`, most specific first.
///
/// ```swift
/// var config = try RADOSConfiguration.load(arguments: ["--id", "admin"])
/// try config.set("rbd_cache", to: "false")
/// let cache = try config.bool("rbd_cache")            // false
/// config.source(of: "rbd_cache")                        // .override
/// ```
///
/// Secrets (`key`) are never part of any description.
public struct RADOSConfiguration: Sendable {
    /// The cluster name (`$cluster`), `ceph` unless told otherwise.
    public private(set) var cluster: String
    /// The entity type, e.g. `client`.
    public var entityType: String { entity.type }
    /// The entity id (`--id`, the user), e.g. `admin`.
    public var id: String { entity.id }
    /// The full entity name, e.g. `client.admin`.
    public var name: String { entity.description }
    /// The configuration file read, if any.
    public private(set) var configFile: String?

    package private(set) var entity: ConfEntityName
    package private(set) var file: ConfFile?
    /// Option name → source → raw value (before `$` expansion).
    private var layers: [String: [Source: String]] = [:]
    /// Things Ceph would only log: invalid values in the file, a missing default file.
    package private(set) var warnings: [String] = []

    /// A configuration with only Ceph's defaults, for `name` (`client.admin` by default).
    public init(name: String = "client.admin", cluster: String = "ceph") throws(RADOSError) {
        guard let entity = ConfEntityName(parsing: name) else {
            throw RADOSError(.invalidArgument, "'\(name)' is not an entity name (expected type.id, e.g. client.admin)")
        }
        self.entity = entity
        self.cluster = cluster
        for option in ConfigOptionCatalog.all {
            layers[option.name] = [.default: option.defaultValue]
        }
    }

    /// Loads a configuration the way librados and Ceph's tools do.
    ///
    /// - Parameters:
    ///   - configFile: the file to read when `arguments` has no `-c`; nil to search.
    ///   - arguments: Ceph-style arguments (`--id`, `-n`, `-c`, `--keyring`, `--opt value`);
    ///     they come after `CEPH_ARGS`, so they win.
    ///   - environment: where `CEPH_CONF` and `CEPH_ARGS` are looked up.
    ///   - searchDefaultPaths: whether to look in `/etc/ceph` and friends when no file is named.
    /// - Throws: ``RADOSError`` with `.notFound` for a named file that does not exist,
    ///   `.invalidConfiguration` for a file that does not parse (naming file and line),
    ///   `.invalidArgument` for a bad argument or value.
    public static func load(
        configFile: String? = nil,
        arguments: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        searchDefaultPaths: Bool = true
    ) throws(RADOSError) -> RADOSConfiguration {
        let envArgs = CephArguments.splitEnvironment(environment["CEPH_ARGS"] ?? "")
        let args = try CephArguments.parse(envArgs + arguments)
        if let extra = args.positionals.first {
            throw RADOSError(.invalidArgument, "unexpected argument '\(extra)'")
        }
        let entityName: String
        if let name = args.name {
            entityName = name
        } else {
            entityName = "client.\(args.id ?? "admin")"
        }
        var config = try RADOSConfiguration(name: entityName, cluster: args.cluster ?? "ceph")

        // Which file.
        var path = args.configFile ?? configFile
        if path == nil, let env = environment["CEPH_CONF"], !env.isEmpty { path = env }
        if let path {
            try config.readFile(path, deriveCluster: args.cluster == nil)
        } else if searchDefaultPaths {
            let home = environment["HOME"] ?? NSHomeDirectory()
            let candidates = ConfigFileSearch.defaultPaths(cluster: config.cluster, home: home)
            if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) {
                try config.readFile(found, deriveCluster: false)
            } else {
                config.warnings.append("no configuration file found in \(candidates.joined(separator: ", "))")
            }
        }
        for (name, value) in args.options {
            try config.set(name, to: value)
        }
        return config
    }

    /// Reads a configuration file into the file layer (replacing what a previous file set).
    public mutating func readFile(_ path: String) throws(RADOSError) {
        try readFile(path, deriveCluster: false)
    }

    private mutating func readFile(_ path: String, deriveCluster: Bool) throws(RADOSError) {
        let conf = try ConfigFileSearch.read(path)
        if deriveCluster { cluster = ConfigFileSearch.clusterName(fromPath: path) }
        apply(conf)
        configFile = path
    }

    /// Puts the values of a parsed file that apply to this entity into the file layer.
    package mutating func apply(_ conf: ConfFile) {
        for name in layers.keys { layers[name]?[.file] = nil }
        file = conf
        // Least specific first, so more specific sections overwrite.
        for section in entity.sections.reversed() {
            guard let lines = conf.sections[section] else { continue }
            for (key, entry) in lines {
                if key.contains("-") {
                    // Ceph folds dashes only on the command line; in a file this key never matches.
                    warnings.append("\(conf.origin):\(entry.line): ignoring \(key): use '_' instead of '-' in option names")
                    continue
                }
                if let option = ConfigOptionCatalog.byName[key], let reason = option.validate(entry.value) {
                    warnings.append("\(conf.origin):\(entry.line): ignoring \(key): \(reason)")
                    continue
                }
                layers[key, default: [:]][.file] = entry.value
            }
        }
    }

    /// Sets `name` (dashes, blanks and underscores alike) in the given layer.
    ///
    /// - Throws: `.invalidArgument` when the value does not fit the option's type
    ///   (the message names the option, never the value of a secret).
    public mutating func set(_ name: String, to value: String, source: Source = .override) throws(RADOSError) {
        let key = RADOSConfiguration.normalize(name)
        guard !key.isEmpty else { throw RADOSError(.invalidArgument, "empty option name") }
        if let option = ConfigOptionCatalog.byName[key], let reason = option.validate(value) {
            let shown = option.isSecret ? "" : " '\(value)'"
            throw RADOSError(.invalidArgument, "invalid value\(shown) for \(key): \(reason)")
        }
        layers[key, default: [:]][source] = value
    }

    /// Whether `name` (dashes or underscores) is one of Ceph's configuration options:
    /// those of Ceph 16.2 (``CephOptionNames``) and the ones this client defines.
    public static func isCephOption(_ name: String) -> Bool {
        let key = normalize(name)
        return CephOptionNames.all.contains(key) || ConfigOptionCatalog.byName[key] != nil
    }

    /// ``set(_:to:source:)`` for a name that must be one of Ceph's options, as
    /// `rados_conf_set` requires: ENOENT ("invalid conf option …") otherwise.
    public mutating func setKnown(_ name: String, to value: String, source: Source = .override) throws(RADOSError) {
        guard Self.isCephOption(name) else {
            throw RADOSError(.notFound, "invalid conf option \(name): no such Ceph option", errno: 2)
        }
        try set(name, to: value, source: source)
    }

    /// Removes what `source` set for `name`, so lower layers show through again.
    public mutating func unset(_ name: String, source: Source) {
        layers[RADOSConfiguration.normalize(name)]?[source] = nil
    }

    /// The layer the value in force comes from, or nil when nothing sets `name`.
    public func source(of name: String) -> Source? {
        layers[RADOSConfiguration.normalize(name)]?.keys.max()
    }

    /// The value `source` set for `name` (unexpanded), if it set one.
    public func value(of name: String, in source: Source) -> String? {
        layers[RADOSConfiguration.normalize(name)]?[source]
    }

    /// Every option with a value: Ceph's options we know, then the others that were set.
    public var optionNames: [String] {
        let known = ConfigOptionCatalog.all.map(\.name)
        let others = layers.keys.filter { ConfigOptionCatalog.byName[$0] == nil }.sorted()
        return known + others
    }

    /// Whether `name` holds a secret (its value must never be shown).
    public func isSecret(_ name: String) -> Bool {
        ConfigOptionCatalog.byName[RADOSConfiguration.normalize(name)]?.isSecret ?? false
    }

    // MARK: Reading

    /// The value in force, with `$cluster`, `$name`, `$id`, `$type`, `$host`, `$pid`,
    /// `$home` and other options expanded; nil when nothing sets `name`.
    public func string(_ name: String) throws(RADOSError) -> String? {
        let key = RADOSConfiguration.normalize(name)
        guard let raw = rawValue(key) else { return nil }
        let kind = ConfigOptionCatalog.byName[key]?.kind
        guard kind == nil || kind == .string || kind == .addrs else { return raw }
        return try expansion.expand(raw, option: key)
    }

    /// The value in force as a boolean (`true`/`false`, or an integer).
    public func bool(_ name: String) throws(RADOSError) -> Bool? {
        guard let text = try string(name) else { return nil }
        guard let value = ConfigValueParser.bool(text) else {
            throw RADOSError(.invalidConfiguration, "\(RADOSConfiguration.normalize(name)) is not a boolean")
        }
        return value
    }

    /// The value in force as an integer; sizes accept IEC suffixes (`32M`).
    public func int(_ name: String) throws(RADOSError) -> Int64? {
        guard let text = try string(name) else { return nil }
        let value = Int64(text.cephTrimmed()) ?? ConfigValueParser.size(text)
        guard let value else {
            throw RADOSError(.invalidConfiguration, "\(RADOSConfiguration.normalize(name)) is not an integer")
        }
        return value
    }

    /// The value in force as a floating-point number.
    public func double(_ name: String) throws(RADOSError) -> Double? {
        guard let text = try string(name) else { return nil }
        guard let value = Double(text.cephTrimmed()) else {
            throw RADOSError(.invalidConfiguration, "\(RADOSConfiguration.normalize(name)) is not a number")
        }
        return value
    }

    // MARK: Internals

    /// Option names: blanks and dashes become underscores.
    package static func normalize(_ name: String) -> String {
        ConfFile.normalizeKey(name).cephUnderscored()
    }

    private func rawValue(_ key: String) -> String? {
        guard let values = layers[key], let top = values.keys.max() else { return nil }
        return values[top]
    }

    private var expansion: MetaExpansion {
        let info = ProcessInfo.processInfo
        let host = info.hostName.split(separator: ".").first.map(String.init) ?? info.hostName
        let meta = [
            "cluster": cluster, "type": entity.type, "id": entity.id, "name": entity.description,
            "num": entity.id, "host": host, "pid": String(info.processIdentifier),
            "home": info.environment["HOME"] ?? NSHomeDirectory(),
        ]
        let snapshot = layers
        return MetaExpansion(metavariables: meta) { name in
            guard let values = snapshot[name], let top = values.keys.max() else { return nil }
            return values[top]
        }
    }
}
