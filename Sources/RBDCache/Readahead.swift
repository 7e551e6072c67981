/// Readahead for the object cache, as librbd does it (ceph/ceph `src/common/Readahead.cc`,
/// used by `src/librbd/io/ImageRequest.cc`): after `triggerRequests` reads in a row, each
/// starting where the last ended, it asks to read the image further ahead, first as much
/// as those reads covered, doubling each time the reader passes the middle of what was
/// read ahead, at most `maxBytes`, and snapped to an object set, stripe or stripe unit
/// boundary when that changes the size by less than half. A read elsewhere starts over.
/// It exists because a guest reading a file sequentially in small requests would
/// otherwise wait for every round trip; the cache holds what it brings.
///
/// A pure value: ``update(offset:length:limit:)`` takes each read and returns the range to
/// read ahead, if any.
public struct Readahead: Sendable, Hashable {
    /// `rbd_readahead_trigger_requests`.
    public var triggerRequests: Int
    /// `rbd_readahead_max_bytes` (0 turns readahead off).
    public var maxBytes: UInt64
    /// Boundaries to snap to, largest first (librbd: object set, stripe, stripe unit).
    public var alignments: [UInt64]

    private var lastEnd: UInt64 = 0
    private var consecutiveReads = 0
    private var consecutiveBytes: UInt64 = 0
    private var triggerPosition: UInt64 = 0
    private var size: UInt64 = 0
    private var position: UInt64 = 0

    public init(triggerRequests: Int = 10, maxBytes: UInt64 = 512 << 10, alignments: [UInt64] = []) {
        self.triggerRequests = triggerRequests
        self.maxBytes = maxBytes
        self.alignments = alignments
    }

    /// Takes a read of `length` bytes at `offset` of an image of `limit` bytes; returns the
    /// range to read ahead (nil: none).
    public mutating func update(offset: UInt64, length: UInt64, limit: UInt64) -> Range<UInt64>? {
        if offset == lastEnd {
            consecutiveReads += 1
            consecutiveBytes += length
        } else {
            consecutiveReads = 0
            consecutiveBytes = 0
            triggerPosition = 0
            size = 0
            position = 0
        }
        lastEnd = offset + length
        guard maxBytes > 0, position < limit, consecutiveReads >= triggerRequests, lastEnd >= triggerPosition else { return nil }
        if size == 0 {
            size = consecutiveBytes
            position = lastEnd
        } else {
            size *= 2
            position = max(position, lastEnd)
        }
        size = min(size, maxBytes)
        var length = size
        let end = position + length
        for alignment in alignments where alignment > 0 {
            let below = end / alignment * alignment
            let above = below + alignment
            if end - below < length / 2, end - below < above - end, below > position {
                length = below - position
                break
            }
            if above - end < length / 2 {
                length = above - position
                break
            }
        }
        length = min(length, limit - position)
        guard length > 0 else { return nil }
        let range = position..<position + length
        triggerPosition = position + length / 2
        position += length
        return range
    }
}
