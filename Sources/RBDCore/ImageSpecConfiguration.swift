import RADOSProto
import RBDCache

extension ImageSpec {
    /// Applies the spec to a configuration as QEMU does: `conf=` is read into the file
    /// layer, `id=` is honoured by ``configuration(environment:cacheMode:)``, and every
    /// other option is set in the caller (override) layer, in order; a name that is not
    /// a Ceph option fails with ENOENT, as QEMU's driver fails on it.
    public func apply(to configuration: inout RADOSConfiguration) throws(RADOSError) {
        if let configFile { try configuration.readFile(configFile) }
        for option in cephOptions {
            try configuration.setKnown(option.key, to: option.value, source: .override)
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
            try config.setKnown(option.key, to: option.value, source: .override)
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
    /// `rbd_cache_policy`, `rbd_cache_size`, `rbd_cache_max_dirty`,
    /// `rbd_cache_target_dirty`, `rbd_cache_max_dirty_age`,
    /// `rbd_cache_writethrough_until_flush`).
    ///
    /// - Throws: ``RADOSError`` `.invalidConfiguration` for an unknown `rbd_cache_policy`.
    public func cachePolicy() throws(RADOSError) -> CachePolicy {
        let defaults = CachePolicy()
        let name = try string("rbd_cache_policy") ?? defaults.kind.rawValue
        guard let kind = CachePolicy.Kind(rawValue: name) else {
            throw RADOSError(.invalidConfiguration, "rbd_cache_policy must be writearound, writeback or writethrough, not '\(name)'")
        }
        var policy = CachePolicy(
            enabled: try bool("rbd_cache") ?? defaults.enabled,
            kind: kind,
            sizeBytes: Int(clamping: try int("rbd_cache_size") ?? Int64(defaults.sizeBytes)),
            maxDirtyBytes: Int(clamping: try int("rbd_cache_max_dirty") ?? Int64(defaults.maxDirtyBytes)),
            targetDirtyBytes: Int(clamping: try int("rbd_cache_target_dirty") ?? Int64(defaults.targetDirtyBytes)),
            maxDirtyAge: try double("rbd_cache_max_dirty_age") ?? defaults.maxDirtyAge,
            writethroughUntilFlush: try bool("rbd_cache_writethrough_until_flush") ?? defaults.writethroughUntilFlush
        )
        policy.readaheadTriggerRequests = Int(clamping: try int("rbd_readahead_trigger_requests") ?? Int64(defaults.readaheadTriggerRequests))
        policy.readaheadMaxBytes = UInt64(clamping: try int("rbd_readahead_max_bytes") ?? Int64(defaults.readaheadMaxBytes))
        policy.readaheadDisableAfterBytes = UInt64(clamping: try int("rbd_readahead_disable_after_bytes") ?? Int64(defaults.readaheadDisableAfterBytes))
        return policy
    }
}
