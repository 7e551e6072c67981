import RADOSProto
import RBDCache

extension ImageSpec {
    /// Applies the spec to a configuration as QEMU does: `conf=` is read into the file
    /// layer, `id=` is honoured by ``configuration(environment:cacheMode:)``, and every
    /// other option is set in the caller (override) layer, in order.
    public func apply(to configuration: inout RADOSConfiguration) throws(RADOSError) {
        if let configFile { try configuration.readFile(configFile) }
        for option in cephOptions {
            try configuration.set(option.key, to: option.value, source: .override)
        }
    }

    /// The configuration QEMU would use to open this image: `id=` and `conf=` pick the
    /// user and file (else `CEPH_ARGS`/`CEPH_CONF`/the default search), the cache mode
    /// (QEMU's `cache=`) sits in the application layer, and the spec's options override.
    public func configuration(
        environment: [String: String],
        cacheMode: CacheMode? = nil
    ) throws(RADOSError) -> RADOSConfiguration {
        var arguments: [String] = []
        if let user { arguments += ["--id", user] }
        var config = try RADOSConfiguration.load(configFile: configFile, arguments: arguments, environment: environment)
        if let cacheMode { try config.applyCacheMode(cacheMode) }
        for option in cephOptions {
            try config.set(option.key, to: option.value, source: .override)
        }
        return config
    }
}

extension RADOSConfiguration {
    /// Puts the settings a QEMU cache mode implies into the application layer (Ceph's
    /// "QEMU and RBD" guide): writeback is `rbd_cache=true`; writethrough is
    /// `rbd_cache=true`, `rbd_cache_max_dirty=0`; none is `rbd_cache=false`. Settings in
    /// the file or set by the caller still win.
    public mutating func applyCacheMode(_ mode: CacheMode) throws(RADOSError) {
        unset("rbd_cache", source: .application)
        unset("rbd_cache_max_dirty", source: .application)
        switch mode {
        case .writeback:
            try set("rbd_cache", to: "true", source: .application)
        case .writethrough:
            try set("rbd_cache", to: "true", source: .application)
            try set("rbd_cache_max_dirty", to: "0", source: .application)
        case .none:
            try set("rbd_cache", to: "false", source: .application)
        }
    }

    /// The image cache policy the configuration describes (`rbd_cache`,
    /// `rbd_cache_max_dirty`, `rbd_cache_writethrough_until_flush`).
    public func cachePolicy() throws(RADOSError) -> CachePolicy {
        let maxDirty = try int("rbd_cache_max_dirty") ?? 25_165_824
        return CachePolicy(
            enabled: try bool("rbd_cache") ?? true,
            maxDirtyBytes: Int(clamping: maxDirty),
            writethroughUntilFlush: try bool("rbd_cache_writethrough_until_flush") ?? true
        )
    }
}
