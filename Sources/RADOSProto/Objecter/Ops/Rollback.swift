import NIOCore

extension OSDOp {
    /// `CEPH_OSD_OP_ROLLBACK`: makes the head of the object what it was at snapshot
    /// `snapID`. No input; `ceph_osd_op.snap.snapid` carries the snap id.
    ///
    /// The OSD (ceph/ceph `src/osd/PrimaryLogPG.cc`, `_rollback_to`) copies the clone that
    /// covers the snapshot over the head, or removes the head when the object did not
    /// exist at the snapshot; as any write it clones the head first for snapshots in
    /// the request's snap context it has not seen. librbd sends it per data object with
    /// the image's head snap context (`src/librbd/operation/SnapshotRollbackRequest.cc`,
    /// `C_RollbackObject`; `librados::ObjectWriteOperation::rollback`).
    package static func rollback(snapID: UInt64) -> OSDOp {
        OSDOp(.rollback, arguments: .snap(id: snapID))
    }
}
