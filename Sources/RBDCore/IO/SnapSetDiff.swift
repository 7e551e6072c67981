import RADOSProto

/// Which bytes of one object differ between two snapshots, from the object's clone
/// list (`list-snaps`): librados' `calc_snap_set_diff` (ceph/ceph
/// `src/librados/snap_set_diff.cc`), which librbd's diff without fast diff builds on.
///
/// Each clone stands for the snapshots it was taken for (the head for everything after
/// the newest snap seq). Walking the clones from the oldest on: the clone that holds
/// `start` is where the object began (an object that did not exist at `start` counts as
/// all-new); every step to the next newer clone until the one holding `end` adds what
/// the two do not share (the larger size minus their overlap). When no clone holds
/// `end`, the object does not exist there and everything it had at `start` differs.
enum SnapSetDiff {
    /// The differing byte ranges (ascending, merged), whether the object exists at `end`,
    /// and its sizes at `start` and `end` (bytes it had at `start` past its size at `end`
    /// now read as zeros). `start` 0 means "from nothing"; `end` may be `CEPH_NOSNAP`.
    static func compute(_ list: ObjectSnapList, from start: UInt64, to end: UInt64) -> (ranges: [Range<UInt64>], endExists: Bool, startSize: UInt64, endSize: UInt64) {
        var diff = IntervalSet()
        var sawStart = false
        var startSize: UInt64 = 0
        var index = 0
        let clones = list.clones
        while index < clones.count {
            let clone = clones[index]
            let first: UInt64, last: UInt64
            if clone.cloneID == ObjectSnapList.noSnap {
                first = list.seq &+ 1
                last = ObjectSnapList.noSnap
            } else {
                guard let low = clone.snaps.first, let high = clone.snaps.last else { index += 1; continue }
                first = low
                last = high
            }
            if last < start {
                index += 1
                continue
            }
            if !sawStart {
                if start < first {
                    if clone.size > 0 { diff.insert(0..<clone.size) }
                    startSize = 0
                } else {
                    startSize = clone.size
                }
                sawStart = true
            }
            if end < first {
                var gone = IntervalSet()
                if startSize > 0 { gone.insert(0..<startSize) }
                return (gone.ranges, false, startSize, 0)
            }
            if end <= last { return (diff.ranges, true, startSize, clone.size) }
            var step = IntervalSet()
            var largest = clone.size
            index += 1
            if index < clones.count { largest = max(largest, clones[index].size) }
            if largest > 0 { step.insert(0..<largest) }
            for overlap in clone.overlaps { step.remove(overlap.offset..<overlap.offset + overlap.length) }
            for range in step.ranges { diff.insert(range) }
        }
        return (diff.ranges, false, startSize, 0)
    }
}

/// A set of non-overlapping, non-adjacent ranges kept sorted (`interval_set`).
struct IntervalSet: Equatable {
    private(set) var ranges: [Range<UInt64>] = []

    mutating func insert(_ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        var merged = range
        var kept: [Range<UInt64>] = []
        for existing in ranges {
            if existing.upperBound < merged.lowerBound || existing.lowerBound > merged.upperBound {
                kept.append(existing)
            } else {
                merged = min(existing.lowerBound, merged.lowerBound)..<max(existing.upperBound, merged.upperBound)
            }
        }
        kept.append(merged)
        ranges = kept.sorted { $0.lowerBound < $1.lowerBound }
    }

    mutating func remove(_ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        var kept: [Range<UInt64>] = []
        for existing in ranges {
            if existing.upperBound <= range.lowerBound || existing.lowerBound >= range.upperBound {
                kept.append(existing)
                continue
            }
            if existing.lowerBound < range.lowerBound { kept.append(existing.lowerBound..<range.lowerBound) }
            if existing.upperBound > range.upperBound { kept.append(range.upperBound..<existing.upperBound) }
        }
        ranges = kept
    }
}
