import Foundation
import NIOCore
import RADOSProto

/// `rbd pool init` (ceph/ceph `src/librbd/api/Pool.cc`, `image/ValidatePoolRequest.cc`):
/// the pool is tagged for the rbd application, and checked once for what RBD needs —
/// self-managed snapshots and overwrites — leaving "overwrite validated" in `rbd_info`.
public enum PoolInitialization {
    static let infoObject = "rbd_info"
    static let validated = "overwrite validated"

    /// Initializes pool `pool` for RBD. `force` enables the application even when the
    /// pool is tagged for another one (the monitor refuses that with EPERM otherwise).
    public static func initialize(_ client: RADOSClient, pool: String, force: Bool = false) async throws(RADOSError) {
        var command: [String: Any] = ["prefix": "osd pool application enable", "pool": pool, "app": "rbd"]
        if force { command["yes_i_really_mean_it"] = true }
        let json = (try? JSONSerialization.data(withJSONObject: command, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        _ = try await client.monCommand(json)
        let io = try await client.ioContext(pool: pool)
        let current: String
        do {
            current = String(decoding: try await io.read(infoObject, length: 64).readableBytesView, as: UTF8.self)
        } catch where error.code == .notFound {
            current = ""
        }
        if current == validated { return }
        if current != "validate" {
            // A pool-managed-snapshot pool refuses this (EINVAL): RBD cannot use it.
            let snapID = try await io.selfManagedSnapCreate()
            do {
                _ = try await io.operate(infoObject, [.create(exclusive: true), .writeFull(ByteBuffer(string: "validate"))])
            } catch where error.code == .alreadyExists {
            } catch where error.errno == 95 {
                throw RADOSError(.invalidArgument, "pool \(pool) does not support overwrites (an erasure-coded pool needs allow_ec_overwrites)", errno: 22)
            }
            try? await io.selfManagedSnapRemove(snapID)
        }
        do {
            _ = try await io.operate(infoObject, [.write(offset: 0, data: ByteBuffer(string: validated))])
        } catch where error.errno == 95 {
            throw RADOSError(.invalidArgument, "pool \(pool) does not support overwrites (an erasure-coded pool needs allow_ec_overwrites)", errno: 22)
        }
    }
}
