/// Hints for `CEPH_OSD_OP_SETALLOCHINT` (`CEPH_OSD_ALLOC_HINT_FLAG_*`, ceph/ceph
/// `src/include/rados.h`).
package struct AllocHintFlags: OptionSet, Hashable, Sendable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    package static let sequentialWrite = AllocHintFlags(rawValue: 1)
    package static let randomWrite = AllocHintFlags(rawValue: 2)
    package static let sequentialRead = AllocHintFlags(rawValue: 4)
    package static let randomRead = AllocHintFlags(rawValue: 8)
    package static let appendOnly = AllocHintFlags(rawValue: 16)
    package static let immutable = AllocHintFlags(rawValue: 32)
    package static let shortLived = AllocHintFlags(rawValue: 64)
    package static let longLived = AllocHintFlags(rawValue: 128)
    package static let compressible = AllocHintFlags(rawValue: 256)
    package static let incompressible = AllocHintFlags(rawValue: 512)
}

extension OSDOp {
    /// `CEPH_OSD_OP_SETALLOCHINT`: tells the OSD the object's expected size and write
    /// size (librbd sends it before the first write to a data object).
    ///
    /// No input; the sizes and flags travel in `ceph_osd_op.alloc_hint`. The op is
    /// advisory: librados's `ObjectOperation::set_alloc_hint` and the kernel
    /// (`osd_req_op_alloc_hint_init`) mark it `CEPH_OSD_OP_FLAG_FAILOK` so that an OSD
    /// that does not know it cannot fail the request, which is our default; Pacific's
    /// librbd was seen sending it with no op flags (an `rbd import` captured on the
    /// wire), which `opFlags: []` reproduces.
    package static func setAllocHint(
        expectedObjectSize: UInt64, expectedWriteSize: UInt64, flags: AllocHintFlags = [], opFlags: OSDOpFlags = .failOK
    ) -> OSDOp {
        OSDOp(
            .setAllocHint, flags: opFlags,
            arguments: .allocHint(expectedObjectSize: expectedObjectSize, expectedWriteSize: expectedWriteSize, flags: flags.rawValue)
        )
    }
}
