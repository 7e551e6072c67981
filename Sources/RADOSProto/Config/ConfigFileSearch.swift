import Foundation

/// Where Ceph looks for its configuration file, and reading one.
///
/// Pacific's `conf_default_search_path` for clients is `/etc/ceph/$cluster.conf`,
/// `$home/.ceph/$cluster.conf`, `$cluster.conf` (in the working directory); the first
/// that exists is read. `CEPH_CONF` or `-c` name one file instead.
package enum ConfigFileSearch {
    package static func defaultPaths(cluster: String, home: String) -> [String] {
        ["/etc/ceph/\(cluster).conf", "\(home)/.ceph/\(cluster).conf", "./\(cluster).conf"]
    }

    /// `md_config_t::parse_config_files`: the cluster name is the file's name before
    /// `.conf` (`/etc/ceph/backup.conf` → `backup`), else `ceph`.
    package static func clusterName(fromPath path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        guard let range = base.range(of: ".conf") else { return "ceph" }
        return String(base[..<range.lowerBound])
    }

    /// Reads and parses a file; errors name the file, and the line when it is a syntax error.
    package static func read(_ path: String) throws(RADOSError) -> ConfFile {
        try ConfFile.parse(bytes: readBytes(path, what: "configuration file"), origin: path)
    }

    /// The bytes of a small file, or `.notFound`/`.invalidConfiguration` naming it.
    package static func readBytes(_ path: String, what: String) throws(RADOSError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RADOSError(.notFound, "\(what) \(path) does not exist")
        }
        guard !isDirectory.boolValue else {
            throw RADOSError(.invalidConfiguration, "\(what) \(path) is a directory")
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let type = attributes?[.type] as? FileAttributeType, type != .typeRegular, type != .typeSymbolicLink {
            // Ceph reads a device such as /dev/null as an empty file (`ConfFile::parse_file`).
            return []
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RADOSError(.invalidConfiguration, "\(what) \(path) cannot be read")
        }
        guard data.count <= 0x4000_0000 else {
            throw RADOSError(.invalidConfiguration, "\(what) \(path) is larger than 1 GiB")
        }
        return [UInt8](data)
    }
}
