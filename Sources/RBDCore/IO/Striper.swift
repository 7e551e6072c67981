/// How an image's bytes are laid out over its data objects.
///
/// RBD stripes an image like a RAID-0 over "object sets" of `stripeCount` objects:
/// the image is cut into `stripeUnit`-sized blocks, consecutive blocks go round-robin
/// to the objects of the current set, and when every object of the set holds
/// `objectSize` bytes the next set begins. With the default layout (stripe unit equal
/// to the object size, count 1) block n is simply object n.
///
/// Source: ceph/ceph `src/osdc/Striper.cc` (`file_to_extents`, `extent_to_file`) and
/// Linux `net/ceph/striper.c` (`ceph_calc_file_object_mapping`).
public struct StripeLayout: Sendable, Hashable {
    /// Bytes per data object (`1 << order`).
    public let objectSize: UInt64
    /// Bytes written to one object before moving to the next object of the set.
    public let stripeUnit: UInt64
    /// Objects per object set.
    public let stripeCount: UInt64

    /// Fails unless the stripe unit is positive and divides the object size, and the
    /// count is positive: the rules librbd enforces at image creation.
    public init(objectSize: UInt64, stripeUnit: UInt64? = nil, stripeCount: UInt64 = 1) throws(RBDLayoutError) {
        let unit = stripeUnit ?? objectSize
        guard objectSize > 0, unit > 0, stripeCount > 0 else {
            throw RBDLayoutError("object size, stripe unit and stripe count must be positive")
        }
        guard unit <= objectSize, objectSize % unit == 0 else {
            throw RBDLayoutError("stripe unit \(unit) must divide the object size \(objectSize)")
        }
        self.objectSize = objectSize
        self.stripeUnit = unit
        self.stripeCount = stripeCount
    }

    var stripesPerObject: UInt64 { objectSize / stripeUnit }
}

/// A stripe layout that librbd would refuse.
public struct RBDLayoutError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A run of bytes inside one data object, and where those bytes sit in the caller's buffer.
public struct ObjectExtent: Sendable, Hashable {
    /// The data object's number (its name is the image prefix plus this as `%016x`).
    public var objectNumber: UInt64
    /// Offset of the run inside the object.
    public var offset: UInt64
    /// Length of the run.
    public var length: UInt64
    /// Pieces of the caller's buffer, in object order: (offset in the buffer, length).
    public var bufferExtents: [BufferExtent]
}

/// A piece of the caller's buffer.
public struct BufferExtent: Sendable, Hashable {
    public var offset: UInt64
    public var length: UInt64
}

/// Maps image extents to object extents and back.
public enum Striper {
    /// Calls `body(objectNumber, objectOffset, length, bufferOffset)` for each stripe-unit
    /// piece of `offset..<offset+length`, in image order, without allocating. This is the
    /// hot path: a 4 KiB I/O inside one object is a single call.
    @inline(__always)
    public static func forEachPiece(
        _ layout: StripeLayout,
        offset: UInt64,
        length: UInt64,
        _ body: (_ objectNumber: UInt64, _ objectOffset: UInt64, _ length: UInt64, _ bufferOffset: UInt64) throws -> Void
    ) rethrows {
        let su = layout.stripeUnit
        let sc = layout.stripeCount
        let perObject = layout.stripesPerObject
        var cursor = offset
        var left = length
        if sc == 1 {
            // Stripe unit == object size in practice; pieces are whole-object runs.
            while left > 0 {
                let blockNumber = cursor / su
                let objectNumber = blockNumber / perObject
                let objectOffset = (blockNumber % perObject) * su + cursor % su
                let pieceLength = min(left, layout.objectSize - objectOffset)
                try body(objectNumber, objectOffset, pieceLength, cursor - offset)
                cursor += pieceLength
                left -= pieceLength
            }
            return
        }
        while left > 0 {
            let blockNumber = cursor / su
            let stripeNumber = blockNumber / sc
            let stripePosition = blockNumber % sc
            let objectSetNumber = stripeNumber / perObject
            let objectNumber = objectSetNumber * sc + stripePosition
            let blockOffset = cursor % su
            let objectOffset = (stripeNumber % perObject) * su + blockOffset
            let pieceLength = min(left, su - blockOffset)
            try body(objectNumber, objectOffset, pieceLength, cursor - offset)
            cursor += pieceLength
            left -= pieceLength
        }
    }

    /// One extent per object touched (contiguous pieces merged), sorted by object number,
    /// as librbd's `Striper::file_to_extents` produces them. `bufferOffset` is added to
    /// every buffer extent.
    public static func objectExtents(
        _ layout: StripeLayout,
        offset: UInt64,
        length: UInt64,
        bufferOffset: UInt64 = 0
    ) -> [ObjectExtent] {
        var extents: [ObjectExtent] = []
        forEachPiece(layout, offset: offset, length: length) { objectNumber, objectOffset, pieceLength, pieceBufferOffset in
            let piece = BufferExtent(offset: pieceBufferOffset + bufferOffset, length: pieceLength)
            // Objects recur every `stripeCount` pieces at most: search the tail only.
            var index = extents.count - 1
            let stop = max(0, extents.count - Int(clamping: layout.stripeCount))
            while index >= stop, extents[index].objectNumber != objectNumber { index -= 1 }
            if index >= stop, index >= 0, extents[index].offset + extents[index].length == objectOffset {
                extents[index].length += pieceLength
                extents[index].bufferExtents.append(piece)
            } else {
                extents.append(ObjectExtent(objectNumber: objectNumber, offset: objectOffset, length: pieceLength, bufferExtents: [piece]))
            }
        }
        extents.sort { $0.objectNumber < $1.objectNumber }
        return extents
    }

    /// The image extents (offset, length) that an object extent covers, in object order
    /// (`Striper::extent_to_file`).
    public static func imageExtents(
        _ layout: StripeLayout,
        objectNumber: UInt64,
        offset: UInt64,
        length: UInt64
    ) -> [BufferExtent] {
        let su = layout.stripeUnit
        let sc = layout.stripeCount
        let perObject = layout.stripesPerObject
        var result: [BufferExtent] = []
        var objectOffset = offset
        var left = length
        while left > 0 {
            let stripePosition = objectNumber % sc
            let objectSetNumber = objectNumber / sc
            let stripeNumber = objectOffset / su + objectSetNumber * perObject
            let blockNumber = stripeNumber * sc + stripePosition
            let inBlock = objectOffset % su
            let pieceLength = min(left, su - inBlock)
            result.append(BufferExtent(offset: blockNumber * su + inBlock, length: pieceLength))
            objectOffset += pieceLength
            left -= pieceLength
        }
        return result
    }

    /// How many data objects an image of `size` bytes can touch (librbd's
    /// `Striper::get_num_objects`): whole object sets, plus the objects a partial last
    /// set reaches.
    public static func objectCount(_ layout: StripeLayout, imageSize size: UInt64) -> UInt64 {
        let setBytes = layout.objectSize * layout.stripeCount
        let fullSets = size / setBytes
        let remainder = size % setBytes
        var count = fullSets * layout.stripeCount
        if remainder > 0 {
            let blocksInLastSet = (remainder + layout.stripeUnit - 1) / layout.stripeUnit
            count += min(blocksInLastSet, layout.stripeCount)
        }
        return count
    }
}
