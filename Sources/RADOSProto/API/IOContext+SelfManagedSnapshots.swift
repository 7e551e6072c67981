import Foundation
import NIOCore

/// Self-managed snapshots: snap ids the monitor allocates for the client, which then
/// lists them in the snap context of its writes (what RBD images use instead of pool
/// snapshots). Source: ceph/ceph `src/librados/IoCtxImpl.cc`
/// (`selfmanaged_snap_create`, `selfmanaged_snap_remove`), `src/osdc/Objecter.cc`
/// (`allocate_selfmanaged_snap`, `delete_selfmanaged_snap`, `pool_op_submit`,
/// `handle_pool_op_reply`).
extension IOContext {
    /// This client's instance id: the global id the monitor gave the session
    /// (`librados::Rados::get_instance_id`). librbd builds new image ids from it.
    package var instanceID: UInt64 { objecter.monitor.authOutcome.globalID }

    /// Allocates a new self-managed snap id in this pool (`POOL_OP_CREATE_UNMANAGED_SNAP`).
    ///
    /// - Throws: ``RADOSError`` with the monitor's errno (EINVAL for a pool that uses
    ///   pool snapshots).
    package func selfManagedSnapCreate() async throws(RADOSError) -> UInt64 {
        let reply = try await poolOp(.createUnmanagedSnapshot, snapID: 0)
        do {
            return try reply.createdSnapID()
        } catch {
            throw Self.decodeFailure(error)
        }
    }

    /// Marks self-managed snap id `snapID` deleted, so the OSDs trim its clones
    /// (`POOL_OP_DELETE_UNMANAGED_SNAP`).
    package func selfManagedSnapRemove(_ snapID: UInt64) async throws(RADOSError) {
        _ = try await poolOp(.deleteUnmanagedSnapshot, snapID: snapID)
    }

    private func poolOp(_ operation: MPoolOp.Operation, snapID: UInt64) async throws(RADOSError) -> MPoolOpReply {
        let map = await objecter.osdmap
        guard let pool = UInt32(exactly: poolID) else { throw RADOSError(.invalidArgument, "pool id \(poolID) is out of range") }
        let reply: MPoolOpReply
        do {
            let message = try await objecter.monitor.request { tid in
                MPoolOp(tid: tid, fsid: map.fsid, pool: pool, operation: operation, snapID: snapID, osdmapEpoch: UInt64(map.epoch)).encode()
            }
            reply = try MPoolOpReply.decode(message)
        } catch let error as RADOSError {
            throw error
        } catch {
            throw Self.decodeFailure(error)
        }
        guard reply.result >= 0 else {
            let errno = reply.result == Int32.min ? 5 : -reply.result
            throw RADOSError(.clusterError, "the monitor refused the pool operation on pool \(poolName): \(String(cString: strerror(errno)))", errno: errno)
        }
        // Like the Objecter, let the OSDMap that holds the change arrive before going on
        // (bounded: the change is committed either way, and OSDs take the snap context
        // from our requests).
        for _ in 0..<400 where await objecter.osdmap.epoch < reply.epoch {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return reply
    }
}
