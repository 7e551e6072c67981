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
        try await objecter.monCommand(json).output
    }
}

extension Objecter {
    /// A monitor command for the cluster of the OSDMap in force: its output and status
    /// text (``RADOSClient/monCommand(_:input:)`` and ``IOContext/monCommand(_:)``).
    nonisolated func monCommand(_ json: String, input: ByteBuffer = ByteBuffer()) async throws(RADOSError) -> (output: ByteBuffer, status: String) {
        do {
            let fsid = await osdmap.fsidValue
            let ack = try await monitor.command([json], fsid: fsid, input: input)
            return (ack.output, ack.status)
        } catch {
            throw error as? RADOSError ?? RADOSError(.connectionFailed, "the monitor command could not be sent", details: "\(error)")
        }
    }
}
