extension OSDOp {
    /// `CEPH_OSD_OP_ASSERT_VER`: the request proceeds only if the object's user version
    /// equals `version`. The OSD fails the op with `-EINVAL` for version 0, `-ERANGE` if
    /// the object is newer than `version`, `-EOVERFLOW` if it is older.
    ///
    /// No input; `ceph_osd_op.assert_ver` is an unused u64 then the version (ceph/ceph
    /// `src/include/rados.h`, `ObjectOperation::assert_version` in `src/osdc/Objecter.h`,
    /// case `CEPH_OSD_OP_ASSERT_VER` in `src/osd/PrimaryLogPG.cc`).
    package static func assertVersion(_ version: UInt64) -> OSDOp {
        OSDOp(.assertVersion, arguments: .assertVersion(version))
    }
}
