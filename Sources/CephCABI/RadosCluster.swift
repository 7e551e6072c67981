import CCephABI
import Foundation
import NIOConcurrencyHelpers
import RADOSProto

/// What a `rados_t` points at: a configuration until `rados_connect`, then also the
/// connected client (librados' `RadosClient`).
final class ClusterHandle: Sendable {
    struct State {
        var configuration: RADOSConfiguration
        var client: RADOSClient?
        /// The `rbd_cache` values a QEMU process set, in order (QEMUCacheMode.swift).
        var qemuCacheValues: [String] = []
    }

    let state: NIOLockedValueBox<State>

    init(configuration: RADOSConfiguration) {
        state = NIOLockedValueBox(State(configuration: configuration))
    }

    var configuration: RADOSConfiguration { state.withLockedValue { $0.configuration } }
    var client: RADOSClient? { state.withLockedValue { $0.client } }

    /// The configuration files `rados_conf_read_file(cluster, NULL)` tries, in order:
    /// `CEPH_CONF`, else Ceph's default search path for this cluster name.
    func defaultConfigFiles() -> [String] {
        let environment = ProcessInfo.processInfo.environment
        if let named = environment["CEPH_CONF"], !named.isEmpty { return Self.pathList(named) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return ConfigFileSearch.defaultPaths(cluster: configuration.cluster, home: home)
    }

    /// Ceph's path lists are separated by commas, semicolons or blanks.
    static func pathList(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == ";" || $0 == " " || $0 == "\t" }).map(String.init)
    }
}

/// What a `rados_ioctx_t` points at: an I/O context (its namespace can change) and the
/// cluster it belongs to.
final class IOContextHandle: Sendable {
    let cluster: ClusterHandle
    private let box: NIOLockedValueBox<IOContext>

    init(cluster: ClusterHandle, context: IOContext) {
        self.cluster = cluster
        box = NIOLockedValueBox(context)
    }

    /// A copy of the context as it is now (later namespace changes do not affect it).
    var context: IOContext { box.withLockedValue { $0 } }

    func setNamespace(_ namespace: String) {
        box.withLockedValue { $0.namespace = namespace }
    }
}

// MARK: - cluster handles

/// `rados_create`: a handle for user `client.<id>` (`admin` when `id` is NULL) with
/// Ceph's default options; nothing is read or connected yet.
@_cdecl("rados_create")
public func rados_create(_ cluster: UnsafeMutablePointer<rados_t?>?, _ id: UnsafePointer<CChar>?) -> Int32 {
    makeCluster(cluster, name: "client." + (String(cArgument: id) ?? "admin"), clusterName: "ceph")
}

/// `rados_create2`: like `rados_create` with a full entity name (`client.admin`) and a
/// cluster name (`$cluster` in file paths). `flags` is unused, as in librados.
@_cdecl("rados_create2")
public func rados_create2(_ cluster: UnsafeMutablePointer<rados_t?>?, _ clusterName: UnsafePointer<CChar>?, _ name: UnsafePointer<CChar>?, _ flags: UInt64) -> Int32 {
    makeCluster(cluster, name: String(cArgument: name) ?? "client.admin", clusterName: String(cArgument: clusterName) ?? "ceph")
}

private func makeCluster(_ out: UnsafeMutablePointer<rados_t?>?, name: String, clusterName: String) -> Int32 {
    guard let out else { return -EINVAL }
    do {
        let configuration = try RADOSConfiguration(name: name, cluster: clusterName)
        out.pointee = Handle.retain(ClusterHandle(configuration: configuration))
        return 0
    } catch {
        return Bridge.code(error)
    }
}

/// `rados_conf_read_file`: reads the first file of the list `path` (comma separated)
/// that exists; with NULL, `CEPH_CONF` or Ceph's search path (`/etc/ceph/$cluster.conf`,
/// `~/.ceph/$cluster.conf`, `./$cluster.conf`). -ENOENT when none exists, -EINVAL when
/// the file does not parse.
@_cdecl("rados_conf_read_file")
public func rados_conf_read_file(_ cluster: rados_t?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guard let handle = Handle.object(cluster, as: ClusterHandle.self) else { return -EINVAL }
    let candidates = String(cArgument: path).map(ClusterHandle.pathList) ?? handle.defaultConfigFiles()
    guard let file = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else { return -ENOENT }
    // Only the file layer changes: options set before (or by `rados_conf_set`) stay above it.
    return handle.state.withLockedValue { state -> Int32 in
        do throws(RADOSError) {
            try state.configuration.readFile(file)
            return 0
        } catch {
            Diagnostics.once("conf.\(file)", "cannot read \(file): \(error.message)")
            return Bridge.code(error)
        }
    }
}

/// `rados_conf_set`: sets one of Ceph's options above the file's value. -ENOENT for a
/// name that is not a Ceph option (as librados), -EINVAL for a value the option does
/// not accept.
@_cdecl("rados_conf_set")
public func rados_conf_set(_ cluster: rados_t?, _ option: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> Int32 {
    guard let handle = Handle.object(cluster, as: ClusterHandle.self),
          let option = String(cArgument: option), let value = String(cArgument: value)
    else { return -EINVAL }
    return handle.state.withLockedValue { state -> Int32 in
        do throws(RADOSError) {
            if QEMUCacheMode.isQEMU, RADOSConfiguration.normalize(option) == QEMUCacheMode.option {
                state.qemuCacheValues.append(value)
                try QEMUCacheMode.apply(state.qemuCacheValues, to: &state.configuration)
                return 0
            }
            try state.configuration.setKnown(option, to: value, source: .override)
            return 0
        } catch {
            return Bridge.code(error)
        }
    }
}

/// `rados_conf_get`: the value in force of `option`, with metavariables expanded.
/// -ENOENT when nothing sets it, -ENAMETOOLONG when `buffer` is too small.
@_cdecl("rados_conf_get")
public func rados_conf_get(_ cluster: rados_t?, _ option: UnsafePointer<CChar>?, _ buffer: UnsafeMutablePointer<CChar>?, _ length: Int) -> Int32 {
    guard let handle = Handle.object(cluster, as: ClusterHandle.self), let option = String(cArgument: option) else { return -EINVAL }
    do {
        guard let value = try handle.configuration.string(option) else { return -ENOENT }
        return copyCString(value, to: buffer, capacity: length) ? 0 : -ENAMETOOLONG
    } catch {
        return Bridge.code(error)
    }
}

/// `rados_connect`: authenticates with a monitor and fetches the maps. -EISCONN when
/// already connected; otherwise the errno of the failure (ETIMEDOUT when no monitor
/// answers, EACCES for a refused key, EINVAL for an unusable configuration).
@_cdecl("rados_connect")
public func rados_connect(_ cluster: rados_t?) -> Int32 {
    guard let handle = Handle.object(cluster, as: ClusterHandle.self) else { return -EINVAL }
    guard handle.client == nil else { return -EISCONN }
    let configuration = handle.configuration
    let result = Bridge.run("rados_connect") { () async throws(RADOSError) -> RADOSClient in
        try await RADOSClient.connect(configuration)
    }
    switch result {
    case .success(let client):
        let raced = handle.state.withLockedValue { state -> RADOSClient? in
            guard state.client == nil else { return client }
            state.client = client
            return nil
        }
        if let raced {
            Task.detached { await raced.shutdown() }
            return -EISCONN
        }
        return 0
    case .failure(let error):
        Diagnostics.once("connect.\(error.code)", "rados_connect: \(error.message)")
        return Bridge.code(error)
    }
}

/// `rados_shutdown`: closes the sessions and frees the handle. Called on the event
/// loop (from a completion callback), the sessions close in the background.
@_cdecl("rados_shutdown")
public func rados_shutdown(_ cluster: rados_t?) {
    guard let cluster, let handle = Handle.object(cluster, as: ClusterHandle.self) else { return }
    let client = handle.state.withLockedValue { state -> RADOSClient? in
        defer { state.client = nil }
        return state.client
    }
    Handle.release(cluster, as: ClusterHandle.self)
    guard let client else { return }
    if Bridge.onEventLoop {
        Task.detached { await client.shutdown() }
    } else {
        _ = Bridge.run("rados_shutdown") { () async throws(RADOSError) in await client.shutdown() }
    }
}

// MARK: - I/O contexts

/// `rados_ioctx_create`: an I/O context on the pool named `pool`. -ENOTCONN before
/// `rados_connect`, -ENOENT when there is no such pool.
@_cdecl("rados_ioctx_create")
public func rados_ioctx_create(_ cluster: rados_t?, _ pool: UnsafePointer<CChar>?, _ ioctx: UnsafeMutablePointer<rados_ioctx_t?>?) -> Int32 {
    guard let pool = String(cArgument: pool) else { return -EINVAL }
    return makeIOContext("rados_ioctx_create", cluster, ioctx) { client throws(RADOSError) in try await client.ioContext(pool: pool) }
}

/// `rados_ioctx_create2`: an I/O context on the pool with id `poolID`.
@_cdecl("rados_ioctx_create2")
public func rados_ioctx_create2(_ cluster: rados_t?, _ poolID: Int64, _ ioctx: UnsafeMutablePointer<rados_ioctx_t?>?) -> Int32 {
    makeIOContext("rados_ioctx_create2", cluster, ioctx) { client throws(RADOSError) in try await client.ioContext(poolID: poolID) }
}

/// Opens an I/O context of a connected cluster with `open` and hands out its handle
/// (-ENOTCONN before `rados_connect`).
private func makeIOContext(
    _ function: StaticString, _ cluster: rados_t?, _ ioctx: UnsafeMutablePointer<rados_ioctx_t?>?,
    _ open: @escaping @Sendable (RADOSClient) async throws(RADOSError) -> IOContext
) -> Int32 {
    guard let handle = Handle.object(cluster, as: ClusterHandle.self), let ioctx else { return -EINVAL }
    guard let client = handle.client else { return -ENOTCONN }
    let result = Bridge.run(function) { () async throws(RADOSError) -> IOContext in try await open(client) }
    guard case .success(let context) = result else { return Bridge.code(result) }
    ioctx.pointee = Handle.retain(IOContextHandle(cluster: handle, context: context))
    return 0
}

/// `rados_ioctx_set_namespace`: later operations through this context use `namespace`
/// (NULL or "" is the default namespace). Images already open keep theirs.
@_cdecl("rados_ioctx_set_namespace")
public func rados_ioctx_set_namespace(_ ioctx: rados_ioctx_t?, _ namespace: UnsafePointer<CChar>?) {
    Handle.object(ioctx, as: IOContextHandle.self)?.setNamespace(String(cArgument: namespace) ?? "")
}

/// `rados_ioctx_get_id`: the pool's id.
@_cdecl("rados_ioctx_get_id")
public func rados_ioctx_get_id(_ ioctx: rados_ioctx_t?) -> Int64 {
    Handle.object(ioctx, as: IOContextHandle.self)?.context.poolID ?? -Int64(EINVAL)
}

/// `rados_ioctx_destroy`: frees the handle (images opened through it stay usable).
@_cdecl("rados_ioctx_destroy")
public func rados_ioctx_destroy(_ ioctx: rados_ioctx_t?) {
    guard let ioctx else { return }
    Handle.release(ioctx, as: IOContextHandle.self)
}
