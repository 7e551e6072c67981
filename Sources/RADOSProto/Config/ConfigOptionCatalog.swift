/// The Ceph options SwiftRBD knows, with Pacific's defaults (`src/common/options.cc`,
/// checked with `ceph-conf --show-config-value` from Ceph 16.2).
package enum ConfigOptionCatalog {
    package static let all: [ConfigOption] = [
        // Identity, files, monitors, auth.
        ConfigOption(name: "mon_host", kind: .addrs, defaultValue: ""),
        ConfigOption(name: "mon_dns_srv_name", kind: .string, defaultValue: "ceph-mon"),
        ConfigOption(name: "keyring", kind: .string,
                     defaultValue: "/etc/ceph/$cluster.$name.keyring,/etc/ceph/$cluster.keyring,/etc/ceph/keyring,/etc/ceph/keyring.bin,"),
        ConfigOption(name: "key", kind: .string, defaultValue: "", isSecret: true),
        ConfigOption(name: "keyfile", kind: .string, defaultValue: ""),
        ConfigOption(name: "auth_client_required", kind: .string, defaultValue: "cephx, none"),
        ConfigOption(name: "auth_supported", kind: .string, defaultValue: ""),
        ConfigOption(name: "log_file", kind: .string, defaultValue: "/var/log/ceph/$cluster-$name.log"),
        ConfigOption(name: "log_to_stderr", kind: .bool, defaultValue: "false"),
        ConfigOption(name: "admin_socket", kind: .string, defaultValue: "/var/run/ceph/$cluster-$name.asok"),
        // Messenger.
        ConfigOption(name: "ms_client_mode", kind: .string, defaultValue: "crc secure"),
        ConfigOption(name: "ms_mon_client_mode", kind: .string, defaultValue: "secure crc"),
        ConfigOption(name: "ms_bind_msgr2", kind: .bool, defaultValue: "true"),
        ConfigOption(name: "ms_crc_data", kind: .bool, defaultValue: "true"),
        // Timeouts (seconds; 0 means none).
        ConfigOption(name: "rados_osd_op_timeout", kind: .secs, defaultValue: "0"),
        ConfigOption(name: "rados_mon_op_timeout", kind: .secs, defaultValue: "0"),
        ConfigOption(name: "client_mount_timeout", kind: .secs, defaultValue: "300"),
        ConfigOption(name: "mon_client_hunt_interval", kind: .float, defaultValue: "3.000000"),
        // RBD.
        ConfigOption(name: "rbd_cache", kind: .bool, defaultValue: "true"),
        ConfigOption(name: "rbd_cache_size", kind: .size, defaultValue: "33554432"),
        ConfigOption(name: "rbd_cache_max_dirty", kind: .size, defaultValue: "25165824"),
        ConfigOption(name: "rbd_cache_target_dirty", kind: .size, defaultValue: "16777216"),
        ConfigOption(name: "rbd_cache_max_dirty_age", kind: .float, defaultValue: "1.000000"),
        ConfigOption(name: "rbd_cache_writethrough_until_flush", kind: .bool, defaultValue: "true"),
        ConfigOption(name: "rbd_cache_policy", kind: .string, defaultValue: "writearound"),
        ConfigOption(name: "rbd_cache_max_dirty_object", kind: .int, defaultValue: "0"),
        ConfigOption(name: "rbd_cache_block_writes_upfront", kind: .bool, defaultValue: "false"),
        ConfigOption(name: "rbd_io_scheduler", kind: .string, defaultValue: "simple"),
        ConfigOption(name: "rbd_io_scheduler_simple_max_delay", kind: .int, defaultValue: "0"),
        ConfigOption(name: "rbd_readahead_trigger_requests", kind: .int, defaultValue: "10"),
        ConfigOption(name: "rbd_readahead_max_bytes", kind: .size, defaultValue: "524288"),
        ConfigOption(name: "rbd_readahead_disable_after_bytes", kind: .size, defaultValue: "52428800"),
        ConfigOption(name: "rbd_default_pool", kind: .string, defaultValue: "rbd"),
        ConfigOption(name: "rbd_default_features", kind: .string, defaultValue: "61"),
        ConfigOption(name: "rbd_default_format", kind: .int, defaultValue: "2"),
        ConfigOption(name: "rbd_default_clone_format", kind: .string, defaultValue: "auto"),
    ]

    package static let byName: [String: ConfigOption] = {
        var map: [String: ConfigOption] = [:]
        for option in all { map[option.name] = option }
        return map
    }()
}
