import NIOCore

/// Cluster-wide questions an I/O context can answer for the layers above (RBD), without
/// them holding the ``RADOSClient``: the pools in the map in force, and monitor commands
/// (librados' `Rados(IoCtx&)` gives librbd the same reach).
extension IOContext {
    /// Every pool of the OSDMap in force, by id.
    package func poolNames() async -> [Int64: String] {
        await objecter.osdmap.poolNames
    }

    /// Runs a monitor command (JSON, as `ceph` sends it) and returns its output.
    ///
    /// - Throws: ``RADOSError`` `.clusterError` with the monitor's errno when it fails.
    package func monCommand(_ json: String) async throws(RADOSError) -> ByteBuffer {
        do {
            let fsid = await objecter.osdmap.fsidValue
            return try await objecter.monitor.command([json], fsid: fsid).output
        } catch {
            throw error as? RADOSError ?? RADOSError(.connectionFailed, "the monitor command could not be sent", details: "\(error)")
        }
    }
}
