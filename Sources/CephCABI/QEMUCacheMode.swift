import Foundation
import RADOSProto

/// Ceph's "QEMU and RBD" guide gives QEMU's cache mode a place in the configuration's
/// order: it beats Ceph's defaults, an `rbd_cache` setting in the configuration file
/// beats it, and one given on QEMU's command line (a `:rbd_cache=…` key of the `rbd:`
/// name) beats the file. QEMU passes both through `rados_conf_set`: first the name's
/// keys, then, last before `rados_connect`, `rbd_cache` for its mode (`true` unless
/// `cache=none` or `directsync`; QEMU `block/rbd.c`, `qemu_rbd_connect`). Taken as plain
/// overrides, the mode would beat the file and the name alike, so in a QEMU process the
/// `rbd_cache` values are kept in call order and placed by this rule instead: the last
/// is the mode (application layer), the one before it, if any, the name's key (override
/// layer). Other programs get librados' plain rule (a later `rados_conf_set` wins).
enum QEMUCacheMode {
    static let option = "rbd_cache"

    /// Whether this process is QEMU (`qemu-system-*`, `qemu-img`, `qemu-io`, `qemu-nbd`).
    static let isQEMU: Bool = ProcessInfo.processInfo.processName.hasPrefix("qemu")

    /// Places the `rbd_cache` values QEMU set so far (oldest first).
    static func apply(_ values: [String], to configuration: inout RADOSConfiguration) throws(RADOSError) {
        configuration.unset(option, source: .application)
        configuration.unset(option, source: .override)
        guard let mode = values.last else { return }
        try configuration.set(option, to: mode, source: .application)
        if values.count >= 2 {
            try configuration.set(option, to: values[values.count - 2], source: .override)
        }
    }
}
