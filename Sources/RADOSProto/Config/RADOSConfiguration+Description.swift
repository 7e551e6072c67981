/// A configuration may hold the key itself (the `key` option, `--key`): printing one,
/// dumping it or reflecting over it shows who and where, never its values.
extension RADOSConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "RADOSConfiguration(name: \(name), cluster: \(cluster), conf: \(configFile ?? "none"); option values not shown)"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "cluster": cluster, "configFile": configFile as Any], displayStyle: .struct)
    }
}
