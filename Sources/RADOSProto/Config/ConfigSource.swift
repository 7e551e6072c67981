extension RADOSConfiguration {
    /// Where a value came from. Later cases win over earlier ones, whatever the order in
    /// which they were set (Ceph's "QEMU and RBD" guide: QEMU's cache mode overrides
    /// Ceph's defaults, settings written in the configuration file override the cache
    /// mode, and settings on the command line override the file).
    public enum Source: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
        /// Ceph's built-in default.
        case `default` = 0
        /// Implied by the application, e.g. QEMU's `cache=` mode.
        case application = 1
        /// Written in the configuration file.
        case file = 2
        /// Set by the caller: command line, `CEPH_ARGS`, an `rbd:` name's options, or the API.
        case override = 3

        public static func < (a: Source, b: Source) -> Bool { a.rawValue < b.rawValue }

        public var description: String {
            switch self {
            case .default: "default"
            case .application: "application"
            case .file: "file"
            case .override: "override"
            }
        }
    }
}
