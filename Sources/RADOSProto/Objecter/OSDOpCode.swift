/// An OSD operation code (`CEPH_OSD_OP_*`).
///
/// The high nibble says whether the op reads, writes or both, the next says what it
/// acts on (data, attributes, class methods, the PG), the low byte which op it is.
/// Source: ceph/ceph `src/include/rados.h` (`__CEPH_FORALL_OSD_OPS`), Linux
/// `include/linux/ceph/rados.h`.
package struct OSDOpCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package let rawValue: UInt16
    package init(rawValue: UInt16) { self.rawValue = rawValue }

    private static let modeRead: UInt16 = 0x1000
    private static let modeWrite: UInt16 = 0x2000
    private static let modeReadModifyWrite: UInt16 = 0x3000
    private static let typeData: UInt16 = 0x0200
    private static let typeAttr: UInt16 = 0x0300
    private static let typeExec: UInt16 = 0x0400
    private static let typePG: UInt16 = 0x0500

    // data, reads
    package static let read = OSDOpCode(rawValue: modeRead | typeData | 1)
    package static let stat = OSDOpCode(rawValue: modeRead | typeData | 2)
    package static let sparseRead = OSDOpCode(rawValue: modeRead | typeData | 5)
    package static let notify = OSDOpCode(rawValue: modeRead | typeData | 6)
    package static let notifyAck = OSDOpCode(rawValue: modeRead | typeData | 7)
    package static let assertVersion = OSDOpCode(rawValue: modeRead | typeData | 8)
    package static let listWatchers = OSDOpCode(rawValue: modeRead | typeData | 9)
    package static let listSnaps = OSDOpCode(rawValue: modeRead | typeData | 10)
    // data, writes
    package static let write = OSDOpCode(rawValue: modeWrite | typeData | 1)
    package static let writeFull = OSDOpCode(rawValue: modeWrite | typeData | 2)
    package static let truncate = OSDOpCode(rawValue: modeWrite | typeData | 3)
    package static let zero = OSDOpCode(rawValue: modeWrite | typeData | 4)
    package static let delete = OSDOpCode(rawValue: modeWrite | typeData | 5)
    package static let append = OSDOpCode(rawValue: modeWrite | typeData | 6)
    package static let create = OSDOpCode(rawValue: modeWrite | typeData | 13)
    package static let rollback = OSDOpCode(rawValue: modeWrite | typeData | 14)
    package static let watch = OSDOpCode(rawValue: modeWrite | typeData | 15)
    package static let setAllocHint = OSDOpCode(rawValue: modeWrite | typeData | 35)
    package static let writeSame = OSDOpCode(rawValue: modeWrite | typeData | 38)
    package static let compareExtent = OSDOpCode(rawValue: modeRead | typeData | 32)
    // omap
    package static let omapGetKeys = OSDOpCode(rawValue: modeRead | typeData | 17)
    package static let omapGetValues = OSDOpCode(rawValue: modeRead | typeData | 18)
    package static let omapGetHeader = OSDOpCode(rawValue: modeRead | typeData | 19)
    package static let omapGetValuesByKeys = OSDOpCode(rawValue: modeRead | typeData | 20)
    package static let omapSetValues = OSDOpCode(rawValue: modeWrite | typeData | 21)
    package static let omapSetHeader = OSDOpCode(rawValue: modeWrite | typeData | 22)
    package static let omapClear = OSDOpCode(rawValue: modeWrite | typeData | 23)
    package static let omapRemoveKeys = OSDOpCode(rawValue: modeWrite | typeData | 24)
    // attributes
    package static let getXattr = OSDOpCode(rawValue: modeRead | typeAttr | 1)
    package static let getXattrs = OSDOpCode(rawValue: modeRead | typeAttr | 2)
    package static let compareXattr = OSDOpCode(rawValue: modeRead | typeAttr | 3)
    package static let setXattr = OSDOpCode(rawValue: modeWrite | typeAttr | 1)
    package static let removeXattr = OSDOpCode(rawValue: modeWrite | typeAttr | 4)
    // object classes (the RD bit is historical: a call may write)
    package static let call = OSDOpCode(rawValue: modeRead | typeExec | 1)
    // placement groups
    package static let pgNamespacedList = OSDOpCode(rawValue: modeRead | typePG | 5)

    /// Whether the op may modify the object (`ceph_osd_op_mode_modify`).
    package var mayWrite: Bool { rawValue & Self.modeWrite != 0 }
    /// Whether the op reads (`ceph_osd_op_mode_read`: a class call is not a plain read).
    package var mayRead: Bool { rawValue & Self.modeRead != 0 && self != .call }

    package var description: String { "osd-op(0x\(String(rawValue, radix: 16)))" }
}

/// Flags of a whole OSD request (`CEPH_OSD_FLAG_*`, src/include/rados.h).
package struct OSDRequestFlags: OptionSet, Hashable, Sendable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    package static let ack = OSDRequestFlags(rawValue: 0x0001)
    package static let onDisk = OSDRequestFlags(rawValue: 0x0004)
    package static let retry = OSDRequestFlags(rawValue: 0x0008)
    package static let read = OSDRequestFlags(rawValue: 0x0010)
    package static let write = OSDRequestFlags(rawValue: 0x0020)
    package static let orderSnap = OSDRequestFlags(rawValue: 0x0040)
    package static let balanceReads = OSDRequestFlags(rawValue: 0x0100)
    package static let pgOp = OSDRequestFlags(rawValue: 0x0400)
    package static let exec = OSDRequestFlags(rawValue: 0x0800)
    package static let localizeReads = OSDRequestFlags(rawValue: 0x2000)
    package static let rwOrdered = OSDRequestFlags(rawValue: 0x4000)
    package static let ignoreCache = OSDRequestFlags(rawValue: 0x8000)
    package static let skipRWLocks = OSDRequestFlags(rawValue: 0x10000)
    package static let ignoreOverlay = OSDRequestFlags(rawValue: 0x20000)
    package static let flush = OSDRequestFlags(rawValue: 0x40000)
    package static let mapSnapClone = OSDRequestFlags(rawValue: 0x80000)
    package static let enforceSnapc = OSDRequestFlags(rawValue: 0x100000)
    package static let redirected = OSDRequestFlags(rawValue: 0x200000)
    package static let knownRedirect = OSDRequestFlags(rawValue: 0x400000)
    package static let fullTry = OSDRequestFlags(rawValue: 0x800000)
    package static let fullForce = OSDRequestFlags(rawValue: 0x1000000)
    package static let ignoreRedirect = OSDRequestFlags(rawValue: 0x2000000)
}

/// Flags of one op (`CEPH_OSD_OP_FLAG_*`).
package struct OSDOpFlags: OptionSet, Hashable, Sendable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Exclusive create: fail with EEXIST if the object exists.
    package static let exclusive = OSDOpFlags(rawValue: 0x1)
    /// Let the rest of the request continue if this op fails.
    package static let failOK = OSDOpFlags(rawValue: 0x2)
    package static let fadviseRandom = OSDOpFlags(rawValue: 0x4)
    package static let fadviseSequential = OSDOpFlags(rawValue: 0x8)
    package static let fadviseWillNeed = OSDOpFlags(rawValue: 0x10)
    package static let fadviseDontNeed = OSDOpFlags(rawValue: 0x20)
    package static let fadviseNoCache = OSDOpFlags(rawValue: 0x40)
}
