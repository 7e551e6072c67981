/// Where one guest cluster's bytes are, decoded from its L2 entry (QEMU's
/// `docs/interop/qcow2.txt`, "Standard Cluster Descriptor" and "Compressed Clusters
/// Descriptor"; 64-bit entries, extended L2 refused by the header).
package enum QCOW2ClusterDescriptor: Equatable {
    /// Never written: reads as zeros (there is no backing file).
    case unallocated
    /// Version 3's zero flag (bit 0): reads as zeros, allocated or not.
    case zero
    /// The cluster's bytes at this host offset (cluster-aligned).
    case data(hostOffset: UInt64)
    /// A raw deflate stream of at most `maximumLength` bytes at `hostOffset`.
    case compressed(hostOffset: UInt64, maximumLength: Int)

    /// Bit 62: the cluster is compressed.
    static let compressedFlag: UInt64 = 1 << 62
    /// Bits 9–55: a standard cluster's host offset (L1 entries use the same mask).
    static let offsetMask: UInt64 = 0x00FF_FFFF_FFFF_FE00
    /// Bits 1–8 and 56–61 of a standard entry are reserved and must be zero.
    static let standardReservedMask: UInt64 = 0x3F00_0000_0000_01FE

    /// Decodes `entry` for an image of `header`'s version and cluster size.
    package init(entry: UInt64, header: QCOW2Header) throws(DiskImageError) {
        let clusterBits = UInt64(header.clusterBits)
        if entry & Self.compressedFlag != 0 {
            // x = 62 - (cluster_bits - 8): offset in bits 0..<x, then the count of
            // 512-byte sectors beyond the first in bits x..<62.
            let x = 62 - (clusterBits - 8)
            let hostOffset = entry & ((1 << x) - 1)
            let extraSectors = (entry >> x) & ((1 << (62 - x)) - 1)
            let length = (extraSectors + 1) * 512 - (hostOffset & 511)
            self = .compressed(hostOffset: hostOffset, maximumLength: Int(length))
            return
        }
        guard entry & Self.standardReservedMask == 0 else {
            throw DiskImageError(.corrupt, "qcow2 L2 entry 0x\(String(entry, radix: 16)) has reserved bits set")
        }
        let hostOffset = entry & Self.offsetMask
        if entry & 1 != 0 {
            guard header.version >= 3 else {
                throw DiskImageError(.corrupt, "qcow2 version 2 L2 entry 0x\(String(entry, radix: 16)) sets the zero flag, which version 2 reserves")
            }
            self = .zero
        } else if hostOffset == 0 {
            self = .unallocated
        } else {
            guard hostOffset & ((1 << clusterBits) - 1) == 0 else {
                throw DiskImageError(.corrupt, "qcow2 data cluster offset \(hostOffset) is not aligned to a cluster")
            }
            self = .data(hostOffset: hostOffset)
        }
    }
}
