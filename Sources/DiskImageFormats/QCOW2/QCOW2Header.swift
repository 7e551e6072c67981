import NIOCore

/// A qcow2 file's header (QEMU's `docs/interop/qcow2.txt`, versions 2 and 3), checked
/// for what a reader of the active image needs. All fields are big-endian.
///
/// Everything the reader cannot honour is refused here with a line saying what the
/// file uses: a backing file, encryption, an external data file, extended L2 entries
/// (subclusters), zstd compression, unknown incompatible features, or the corrupt bit.
package struct QCOW2Header: Equatable {
    /// "QFI\xfb".
    package static let magic: UInt32 = 0x5146_49FB
    /// Version 2's fixed header; version 3 adds fields up to `header_length`.
    static let version2Length = 72
    static let version3MinimumLength = 104
    /// QEMU's `QCOW_MAX_L1_SIZE` (32 MiB of entries).
    static let maximumL1Entries = (32 << 20) / 8
    /// 512 B to 2 MiB clusters, as QEMU accepts.
    static let clusterBitsRange: ClosedRange<UInt32> = 9...21

    /// Incompatible feature bits (`incompatible_features`).
    package struct IncompatibleFeatures: OptionSet, Equatable {
        package let rawValue: UInt64
        package init(rawValue: UInt64) { self.rawValue = rawValue }
        package static let dirty = Self(rawValue: 1 << 0)
        package static let corrupt = Self(rawValue: 1 << 1)
        package static let externalDataFile = Self(rawValue: 1 << 2)
        package static let compressionType = Self(rawValue: 1 << 3)
        package static let extendedL2 = Self(rawValue: 1 << 4)
        static let known: Self = [.dirty, .corrupt, .externalDataFile, .compressionType, .extendedL2]
    }

    package let version: UInt32
    package let clusterBits: UInt32
    package let virtualSize: UInt64
    package let l1Entries: UInt32
    package let l1TableOffset: UInt64
    package let incompatibleFeatures: IncompatibleFeatures
    /// 0 for deflate (the only kind before version 3's `compression_type` field).
    package let compressionType: UInt8

    package var clusterSize: Int { 1 << Int(clusterBits) }
    /// Entries in one L2 table (one cluster of 8-byte entries).
    package var l2Entries: Int { clusterSize / 8 }
    /// The L1 entries the virtual size needs.
    package var requiredL1Entries: UInt64 {
        let perL1 = UInt64(clusterSize) * UInt64(l2Entries)
        return virtualSize / perL1 + (virtualSize % perL1 == 0 ? 0 : 1)
    }

    /// Parses and checks the header at the start of `source`.
    package init(source: some RandomAccessSource) throws(DiskImageError) {
        guard source.size >= UInt64(Self.version2Length) else {
            throw DiskImageError(.corrupt, "the file is too short for a qcow2 header (\(source.size) bytes, at least \(Self.version2Length) needed)")
        }
        let fixed = try source.read(at: 0, count: Self.version2Length)
        func u32(_ at: Int) -> UInt32 { fixed.getInteger(at: fixed.readerIndex + at, endianness: .big, as: UInt32.self) ?? 0 }
        func u64(_ at: Int) -> UInt64 { fixed.getInteger(at: fixed.readerIndex + at, endianness: .big, as: UInt64.self) ?? 0 }

        guard u32(0) == Self.magic else {
            throw DiskImageError(.corrupt, "not a qcow2 file: the magic is 0x\(String(u32(0), radix: 16)), not 0x514649fb")
        }
        version = u32(4)
        guard version == 2 || version == 3 else {
            throw DiskImageError(.unsupported, "qcow2 version \(version) is not supported (only versions 2 and 3)")
        }
        let backingFileOffset = u64(8), backingFileSize = u32(16)
        clusterBits = u32(20)
        guard Self.clusterBitsRange.contains(clusterBits) else {
            throw DiskImageError(.corrupt, "qcow2 cluster_bits \(clusterBits) is outside \(Self.clusterBitsRange.lowerBound)...\(Self.clusterBitsRange.upperBound)")
        }
        virtualSize = u64(24)
        let cryptMethod = u32(32)
        l1Entries = u32(36)
        l1TableOffset = u64(40)

        var compressionType: UInt8 = 0
        var incompatible = IncompatibleFeatures()
        if version >= 3 {
            let extended = try source.read(at: UInt64(Self.version2Length), count: Self.version3MinimumLength - Self.version2Length)
            incompatible = IncompatibleFeatures(rawValue: extended.getInteger(at: extended.readerIndex, endianness: .big, as: UInt64.self) ?? 0)
            let headerLength = extended.getInteger(at: extended.readerIndex + 28, endianness: .big, as: UInt32.self) ?? 0
            guard headerLength >= Self.version3MinimumLength, headerLength <= 1 << clusterBits else {
                throw DiskImageError(.corrupt, "qcow2 header_length \(headerLength) is outside \(Self.version3MinimumLength)...\(1 << clusterBits)")
            }
            if incompatible.contains(.compressionType) {
                guard headerLength > Self.version3MinimumLength else {
                    throw DiskImageError(.corrupt, "the qcow2 compression-type feature is set but the header (\(headerLength) bytes) has no compression_type field")
                }
                let byte = try source.read(at: UInt64(Self.version3MinimumLength), count: 1)
                compressionType = byte.getInteger(at: byte.readerIndex, as: UInt8.self) ?? 0
            }
        }
        self.incompatibleFeatures = incompatible
        self.compressionType = compressionType

        // What this reader does not do, each named.
        if backingFileOffset != 0 {
            var name = ""
            if backingFileSize > 0, backingFileSize <= 1023,
               let bytes = try? source.read(at: backingFileOffset, count: Int(backingFileSize)) {
                name = " '\(String(decoding: bytes.readableBytesView, as: UTF8.self))'"
            }
            throw DiskImageError(.unsupported, "the qcow2 image has a backing file\(name); backing chains are not supported: flatten it first (qemu-img convert -O qcow2, or qemu-img rebase -b '')")
        }
        if cryptMethod != 0 {
            let kind = cryptMethod == 1 ? "AES" : cryptMethod == 2 ? "LUKS" : "method \(cryptMethod)"
            throw DiskImageError(.unsupported, "the qcow2 image is encrypted (\(kind)); encrypted qcow2 images are not supported")
        }
        if incompatible.contains(.corrupt) {
            throw DiskImageError(.corrupt, "the qcow2 image is marked corrupt; repair it first (qemu-img check -r all)")
        }
        if incompatible.contains(.externalDataFile) {
            throw DiskImageError(.unsupported, "the qcow2 image keeps its data in an external data file, which is not supported")
        }
        if incompatible.contains(.extendedL2) {
            throw DiskImageError(.unsupported, "the qcow2 image uses extended L2 entries (subclusters, extended_l2=on), which are not supported")
        }
        let unknown = incompatible.subtracting(.known)
        if !unknown.isEmpty {
            throw DiskImageError(.unsupported, "the qcow2 image has unknown incompatible features (0x\(String(unknown.rawValue, radix: 16)))")
        }
        if compressionType != 0 {
            let kind = compressionType == 1 ? "zstd" : "type \(compressionType)"
            throw DiskImageError(.unsupported, "the qcow2 image compresses clusters with \(kind); only deflate (zlib) is supported")
        }

        // The active L1 table: big enough for the virtual size, bounded, aligned.
        guard virtualSize <= UInt64(1) << 62 else {
            throw DiskImageError(.corrupt, "qcow2 virtual size \(virtualSize) is too large")
        }
        guard UInt64(l1Entries) >= requiredL1Entries else {
            throw DiskImageError(.corrupt, "the qcow2 L1 table has \(l1Entries) entries, but \(requiredL1Entries) are needed for \(virtualSize) bytes")
        }
        guard l1Entries <= Self.maximumL1Entries else {
            throw DiskImageError(.corrupt, "the qcow2 L1 table has \(l1Entries) entries (at most \(Self.maximumL1Entries))")
        }
        guard l1TableOffset % UInt64(1 << clusterBits) == 0 || requiredL1Entries == 0 else {
            throw DiskImageError(.corrupt, "the qcow2 L1 table offset \(l1TableOffset) is not aligned to a cluster")
        }
    }
}
