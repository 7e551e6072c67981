import NIOCore

/// How `CEPH_OSD_OP_CMPXATTR` compares (`CEPH_OSD_CMPXATTR_OP_*`, ceph/ceph
/// `src/include/rados.h`). The value the client sends is the *left* operand and the
/// stored attribute the right one (`do_cmp_xattr(op, lhs, rhs)` in
/// `src/osd/PrimaryLogPG.cc`): `.greaterThan` passes when the given value is greater
/// than the stored one.
package enum XattrComparison: UInt8, Hashable, Sendable, CaseIterable {
    case equal = 1
    case notEqual = 2
    case greaterThan = 3
    case greaterThanOrEqual = 4
    case lessThan = 5
    case lessThanOrEqual = 6
}

/// The value an xattr is compared with, and so the comparison mode
/// (`CEPH_OSD_CMPXATTR_MODE_*`: string 1, u64 2).
package enum XattrComparand: Hashable, Sendable {
    /// Byte-wise comparison with the stored value (`CEPH_OSD_CMPXATTR_MODE_STRING`).
    case bytes(ByteBuffer)
    /// Numeric comparison: the OSD parses the stored value as decimal text and compares
    /// it with this number, which travels as a little-endian u64 (`CEPH_OSD_CMPXATTR_MODE_U64`).
    case u64(UInt64)

    var mode: UInt8 {
        switch self {
        case .bytes: 1
        case .u64: 2
        }
    }
}

extension OSDOp {
    /// `CEPH_OSD_OP_CMPXATTR`: the request continues only if `value` compares true
    /// against attribute `name` (`value <comparison> stored`); otherwise the op fails
    /// with `-ECANCELED` (and the whole request with it, unless the op carries
    /// `.failOK`). A missing attribute compares as empty (u64 mode: as 0). A passing
    /// comparison leaves both the op's return value and the reply's result at 1, not 0
    /// (seen on the wire from a Pacific OSD; `rados_read_op_operate` returns that 1).
    /// librados sends it as a read.
    ///
    /// Input (ceph/ceph `src/osdc/Objecter.h` `ObjectOperation::add_xattr_cmp`, and
    /// `src/osd/PrimaryLogPG.cc` case `CEPH_OSD_OP_CMPXATTR`): the name's bytes, then the
    /// value's bytes, no length prefixes; `ceph_osd_op.xattr` carries name_len,
    /// value_len, cmp_op and cmp_mode.
    package static func compareXattr(_ name: String, _ comparison: XattrComparison, _ value: XattrComparand) -> OSDOp {
        var data = ByteBuffer(string: name)
        let nameLength = data.readableBytes
        switch value {
        case .bytes(let bytes):
            data.writeImmutableBuffer(bytes)
        case .u64(let number):
            data.writeDencU64(number)
        }
        let valueLength = data.readableBytes - nameLength
        return OSDOp(
            .compareXattr,
            arguments: .xattr(
                nameLength: UInt32(truncatingIfNeeded: nameLength), valueLength: UInt32(truncatingIfNeeded: valueLength),
                compareOp: comparison.rawValue, compareMode: value.mode
            ),
            input: data
        )
    }
}
