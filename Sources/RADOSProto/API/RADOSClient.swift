import Foundation
import NIOCore

/// A connection to a Ceph cluster, the entry point of the RADOS API.
///
/// `connect` authenticates with a monitor (cephx over msgr2), subscribes to the OSDMap
/// and is then ready to place and send object operations. One client serves any number
/// of ``IOContext``s; close it with ``shutdown()``.
///
/// ```swift
/// let client = try await RADOSClient.connect(try RADOSConfiguration.load())
/// let io = try await client.ioContext(pool: "rbd")
/// try await io.writeFull("greeting", ByteBuffer(string: "hello"))
/// let back = try await io.read("greeting", length: 5)
/// await client.shutdown()
/// ```
public final class RADOSClient: Sendable {
    let monitor: MonClient
    let objecter: Objecter

    /// The loop this client runs on.
    package var eventLoop: any EventLoop { objecter.eventLoop }

    private init(monitor: MonClient, objecter: Objecter) {
        self.monitor = monitor
        self.objecter = objecter
    }

    /// Connects to the cluster `configuration` describes (monitors, identity, key, modes).
    ///
    /// When no monitor answers, it keeps trying all of them, round after round, until
    /// `client_mount_timeout` (as librados), and calls `onHunting` after each round with
    /// one line naming the monitors tried and the last error.
    ///
    /// The client runs on one event loop: everything it does (monitor and OSD sessions,
    /// timers, completions) happens there. By default every client of the process shares
    /// one loop thread; give `eventLoopGroup` to run this client on the group's next loop
    /// instead, so that clients spread over several threads when one core is not enough
    /// (each client's state stays on its own loop; no locks are shared).
    ///
    /// - Throws: ``RADOSError`` with `.authenticationFailed` for a wrong key,
    ///   `.timedOut` when no monitor answers within `client_mount_timeout`, `.invalidConfiguration` for a bad
    ///   configuration.
    public static func connect(
        _ configuration: RADOSConfiguration, eventLoopGroup: (any EventLoopGroup)? = nil, onHunting: (@Sendable (String) -> Void)? = nil
    ) async throws(RADOSError) -> RADOSClient {
        do {
            let loop = eventLoopGroup?.next() ?? ClientEventLoop.next()
            let (monitor, objecter) = try await ClusterConnection.connect(configuration, eventLoop: loop, onHunting: onHunting)
            return RADOSClient(monitor: monitor, objecter: objecter)
        } catch let error as RADOSError {
            throw error
        } catch {
            throw RADOSError(.connectionFailed, "cannot connect to the cluster", details: "\(error)")
        }
    }

    /// An I/O context on the pool named `pool` (and a namespace in it).
    ///
    /// - Throws: ``RADOSError`` `.notFound` when the pool does not exist.
    public func ioContext(pool: String, namespace: String = "") async throws(RADOSError) -> IOContext {
        do {
            let id = try await objecter.poolID(named: pool)
            return IOContext(objecter: objecter, poolID: id, poolName: pool, namespace: namespace)
        } catch {
            throw error as? RADOSError ?? RADOSError(.notFound, "pool '\(pool)' does not exist", errno: 2)
        }
    }

    /// An I/O context on the pool with id `poolID` (librados' `rados_ioctx_create2`).
    ///
    /// - Throws: ``RADOSError`` `.notFound` when no pool has that id.
    public func ioContext(poolID: Int64, namespace: String = "") async throws(RADOSError) -> IOContext {
        guard let name = await objecter.osdmap.poolNames[poolID] else {
            throw RADOSError(.notFound, "pool \(poolID) does not exist", errno: 2)
        }
        return IOContext(objecter: objecter, poolID: poolID, poolName: name, namespace: namespace)
    }

    /// The id of the pool named `name` (`rados_pool_lookup`), nil when there is none.
    public func poolID(named name: String) async -> Int64? {
        try? await objecter.poolID(named: name)
    }

    /// The name of pool `id` (`rados_pool_reverse_lookup`), nil when there is none.
    public func poolName(id: Int64) async -> String? {
        await objecter.osdmap.poolNames[id]
    }

    /// Every pool, by id.
    public var pools: [Int64: String] {
        get async { await objecter.osdmap.poolNames }
    }

    /// This client's global id, the `<gid>` of `client.<gid>` that watchers and
    /// notifiers see (`rados_get_instance_id`).
    public var instanceID: UInt64 { monitor.authOutcome.globalID }

    /// The epoch of the OSDMap in force.
    public var osdmapEpoch: UInt32 {
        get async { await objecter.osdmap.epoch }
    }

    /// Runs a monitor command (JSON, as `ceph` sends it) and returns its output and status text.
    ///
    /// - Throws: ``RADOSError`` `.clusterError` with the monitor's errno when it fails.
    public func monCommand(_ json: String, input: ByteBuffer = ByteBuffer()) async throws(RADOSError) -> (output: ByteBuffer, status: String) {
        try await objecter.monCommand(json, input: input)
    }

    /// Closes the OSD and monitor sessions. Pending operations fail.
    public func shutdown() async {
        // Watches left registered (an image never closed, a watch never cancelled) are
        // removed from their OSDs first, as closing each would have done.
        await objecter.unwatchAll(within: .seconds(5))
        await objecter.shutdown()
        await monitor.close()
    }
}

extension OSDMap {
    /// The cluster fsid as a typed value.
    var fsidValue: CephFSID {
        CephFSID(CephUUID(bytes: fsid) ?? .zero)
    }
}
