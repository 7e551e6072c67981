import RADOSProto

/// The pure part of image I/O: which image ranges are valid, and which object operations
/// a discard becomes. Kept apart from the sending so that it can be checked against a
/// byte-level reference model without a cluster.
///
/// Sources: ceph/ceph `src/librbd/internal.cc` (`clip_io`), `src/librbd/io/ImageRequest.cc`
/// (`ImageDiscardRequest::prune_object_extents`), `src/librbd/io/ObjectRequest.h`
/// (`ObjectDiscardRequest`'s choice of remove, truncate or zero).
package enum ImageIOPlan {
    /// `clip_io`: a zero-length request is always valid; otherwise it must start inside
    /// the image (`offset >= size` is EINVAL), and a request running past the end is cut
    /// at the end. Returns the clipped length.
    package static func clip(offset: UInt64, length: UInt64, size: UInt64) throws(RADOSError) -> UInt64 {
        if length == 0 { return 0 }
        guard offset < size else {
            throw RADOSError(.invalidArgument, "I/O at offset \(offset) starts at or past the end of the image (size \(size))", errno: 22)
        }
        return min(length, size - offset)
    }

    /// What one object extent of a discard does to its object.
    package enum DiscardAction: Hashable, Sendable {
        /// The extent covers the whole object: remove it (with the snap context, so the
        /// OSD keeps a clone for snapshots). A missing object is not an error.
        case remove
        /// The extent runs to the end of the object: cut the object at `offset`.
        case truncate(offset: UInt64)
        /// The extent lies inside the object: zero it.
        case zero(offset: UInt64, length: UInt64)
    }

    /// One object operation of a discard.
    package struct ObjectDiscard: Hashable, Sendable {
        package var objectNumber: UInt64
        package var action: DiscardAction
    }

    /// The object operations of discarding `offset..<offset+length` (already clipped).
    ///
    /// With `granularity` 0 (write-zeroes, or `rbd_skip_partial_discard=false`) every byte
    /// of the range is discarded. Otherwise each object extent is shrunk to whole
    /// `granularity` blocks of the object (the granularity capped at the object size) and
    /// dropped when nothing is left; as librbd does, an extent reaching the end of the
    /// object is left as it is when the granularity is the object size or more, so that
    /// tail truncation still happens. Pacific's defaults (`rbd_skip_partial_discard=true`,
    /// `rbd_discard_granularity_bytes=64K`) give a granularity of 64 KiB for `rbd_discard`.
    package static func discard(_ layout: StripeLayout, offset: UInt64, length: UInt64, granularity: UInt64) -> [ObjectDiscard] {
        var result: [ObjectDiscard] = []
        let objectSize = layout.objectSize
        let block = min(granularity, objectSize)
        for extent in Striper.objectExtents(layout, offset: offset, length: length) {
            var start = extent.offset
            var end = extent.offset + extent.length
            if block > 0, block < objectSize || end < objectSize {
                start = (start + block - 1) / block * block
                end = end / block * block
                guard start < end else { continue }
            }
            let action: DiscardAction
            if start == 0, end == objectSize {
                action = .remove
            } else if end == objectSize {
                action = .truncate(offset: start)
            } else {
                action = .zero(offset: start, length: end - start)
            }
            result.append(ObjectDiscard(objectNumber: extent.objectNumber, action: action))
        }
        return result
    }

    /// The object range of a request when it falls in one stripe-unit piece of one
    /// object (every 4 KiB I/O that does not straddle a boundary): the hot path, which
    /// needs no extent list.
    @inline(__always)
    package static func singlePiece(_ layout: StripeLayout, offset: UInt64, length: UInt64) -> (objectNumber: UInt64, objectOffset: UInt64)? {
        let su = layout.stripeUnit
        let sc = layout.stripeCount
        let perObject = layout.stripesPerObject
        let blockNumber = offset / su
        let blockOffset = offset % su
        guard blockOffset + length <= su || sc == 1 else { return nil }
        let stripeNumber = blockNumber / sc
        let objectNumber = (stripeNumber / perObject) * sc + blockNumber % sc
        let objectOffset = (stripeNumber % perObject) * su + blockOffset
        guard objectOffset + length <= layout.objectSize else { return nil }
        return (objectNumber, objectOffset)
    }
}
