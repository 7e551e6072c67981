import NIOCore
import RADOSProto

/// An image's object map as stored in `rbd_object_map.<id>[.<snap id>]`: two bits per
/// data object saying whether it exists (``ClsRBD/ObjectState``), the structure librbd
/// keeps in memory to skip work on objects that do not exist and to know which writes
/// must first mark their object as existing.
///
/// Stored form (`BitVector<2>::encode`, ceph/ceph `src/common/bit_vector.hpp`):
/// - header: u32 length (14), then a versioned struct (v1, compat 1) holding the u64
///   element count;
/// - data: ⌈count / 4⌉ bytes, element `i` in byte `i / 4`, the first element of a byte in
///   its two highest bits;
/// - footer: u32 length, then (when CRCs are kept, always for librbd) the header's CRC,
///   a u32 block count and one CRC per 4 KiB block of data. CRCs are Ceph's CRC32C from
///   seed 0 without inversion.
/// The object class (`cls_rbd` `object_map_update`, `object_map_resize`) changes the
/// stored form in place; this type is only read, changed in memory and, for tests,
/// written.
package struct ObjectMapBits: Sendable, Equatable {
    /// Most objects an object map tracks (`ObjectMap::MAX_OBJECT_MAP_OBJECT_COUNT`).
    package static let maxObjects: UInt64 = 256 * 1024 * 1024
    /// Data bytes a CRC covers.
    static let blockSize = 4096

    package private(set) var count: UInt64
    private var bytes: [UInt8]

    /// `count` objects, all in `state`.
    package init(count: UInt64, state: ClsRBD.ObjectState = .nonexistent) {
        self.count = count
        let fill = state.rawValue * 0x55
        bytes = Array(repeating: fill, count: Int((count + 3) / 4))
    }

    package subscript(_ object: UInt64) -> ClsRBD.ObjectState {
        get {
            guard object < count else { return .nonexistent }
            let shift = UInt8(6 - 2 * (object % 4))
            return ClsRBD.ObjectState(rawValue: (bytes[Int(object / 4)] >> shift) & 3) ?? .nonexistent
        }
        set {
            guard object < count else { return }
            let shift = UInt8(6 - 2 * (object % 4))
            let index = Int(object / 4)
            bytes[index] = (bytes[index] & ~(3 << shift)) | (newValue.rawValue << shift)
        }
    }

    /// Applies what `object_map_update` does: objects in `range` (clipped to the map)
    /// become `state`, only those in `current` when given (EXISTS also matching
    /// EXISTS_CLEAN, as librbd's in-memory update does).
    package mutating func update(_ range: Range<UInt64>, to state: ClsRBD.ObjectState, from current: ClsRBD.ObjectState? = nil) {
        for object in range.lowerBound..<min(range.upperBound, count) {
            let old = self[object]
            if let current, old != current, !(current == .exists && old == .existsClean) { continue }
            self[object] = state
        }
    }

    /// Resizes to `newCount` objects; new ones are in `state` (`object_map_resize`).
    package mutating func resize(to newCount: UInt64, state: ClsRBD.ObjectState = .nonexistent) {
        let old = count
        let length = Int((newCount + 3) / 4)
        bytes = Array(bytes.prefix(length))
        bytes.append(contentsOf: repeatElement(0, count: length - bytes.count))
        count = newCount
        // Bits past the last object are zero.
        let used = Int(newCount % 4)
        if used != 0, !bytes.isEmpty { bytes[length - 1] &= UInt8(truncatingIfNeeded: 0xFF << (8 - 2 * used)) }
        if newCount > old {
            for object in old..<newCount { self[object] = state }
        }
    }

    /// What librbd's fast diff does to the head map when a snapshot is taken
    /// (`object_map_snap_add`): every EXISTS object becomes EXISTS_CLEAN.
    package mutating func markClean() {
        for object in 0..<count where self[object] == .exists { self[object] = .existsClean }
    }

    /// Reads the stored form, checking its CRCs when present.
    ///
    /// - Throws: ``DencError`` when it is truncated, holds more than `limit` objects,
    ///   its data length does not match its count, or a CRC does not match.
    package static func decode(_ stored: ByteBuffer, limit: UInt64 = ObjectMapBits.maxObjects) throws -> ObjectMapBits {
        var buffer = stored
        var header = try buffer.readDencBytes(limit: 64)
        let headerCRC = CRC32C.checksum(header, seed: 0)
        let count = try header.readDencVersioned("BitVector header", understands: 1) { body, _ in try body.readDencU64() }
        guard count <= limit else {
            throw DencError(.invalidValue("object map of \(count) objects (at most \(limit))"), at: stored)
        }
        let length = Int((count + 3) / 4)
        guard let data = buffer.readSlice(length: length) else {
            throw DencError(.truncated(needed: length, available: buffer.readableBytes), at: buffer)
        }
        var footer = try buffer.readDencBytes(limit: 16 + 4 * (length / blockSize + 1))
        guard buffer.readableBytes == 0 else { throw DencError(.trailingBytes(buffer.readableBytes), at: buffer) }
        if footer.readableBytes > 0 {
            guard try footer.readDencU32() == headerCRC else { throw DencError(.invalidValue("object map header CRC mismatch"), at: stored) }
            let blocks = Int(try footer.readDencU32())
            guard blocks == (length + blockSize - 1) / blockSize, footer.readableBytes == 4 * blocks else {
                throw DencError(.invalidValue("object map footer lists \(blocks) block CRCs for \(length) data bytes"), at: stored)
            }
            for block in 0..<blocks {
                let start = block * blockSize
                let piece = data.getSlice(at: data.readerIndex + start, length: min(blockSize, length - start)) ?? ByteBuffer()
                guard try footer.readDencU32() == CRC32C.checksum(piece, seed: 0) else {
                    throw DencError(.invalidValue("object map data block \(block) CRC mismatch"), at: stored)
                }
            }
        }
        var map = ObjectMapBits(count: 0)
        map.count = count
        map.bytes = Array(data.readableBytesView)
        return map
    }

    /// The stored form, with CRCs (as `BitVector<2>::encode` writes it).
    package func encode() -> ByteBuffer {
        var header = ByteBuffer()
        header.writeDencVersioned(version: 1, compat: 1) { $0.writeDencU64(count) }
        var out = ByteBuffer()
        out.writeDencU32(UInt32(header.readableBytes))
        out.writeImmutableBuffer(header)
        out.writeBytes(bytes)
        var footer = ByteBuffer()
        footer.writeDencU32(CRC32C.checksum(header, seed: 0))
        let blocks = (bytes.count + Self.blockSize - 1) / Self.blockSize
        footer.writeDencU32(UInt32(blocks))
        bytes.withUnsafeBytes { raw in
            for block in 0..<blocks {
                let start = block * Self.blockSize
                let piece = UnsafeRawBufferPointer(rebasing: raw[start..<min(start + Self.blockSize, raw.count)])
                footer.writeDencU32(CRC32C.checksum(piece, seed: 0))
            }
        }
        out.writeDencU32(UInt32(footer.readableBytes))
        out.writeImmutableBuffer(footer)
        return out
    }
}
