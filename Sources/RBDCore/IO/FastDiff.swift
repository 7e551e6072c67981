/// Which objects changed between two points of an image's history, from its object
/// maps alone (fast diff): librbd's `object_map::DiffRequest` (ceph/ceph
/// `src/librbd/object_map/DiffRequest.cc`).
///
/// The maps are walked oldest first: the start snapshot's (or, from the beginning, the
/// first snapshot's or the head's), then every later snapshot's, then the head's when
/// the end is the head. Comparing each with the one before: an object that no longer
/// exists became a hole; one written since the previous snapshot (EXISTS, as opposed to
/// EXISTS_CLEAN) or whose existence changed was updated. Objects beyond the previous
/// map's end (the image grew) are updated when they exist; from the beginning, the
/// first map counts as grown from nothing.
enum FastDiff {
    enum State: Equatable, Sendable {
        case unchanged
        case updated
        case hole
    }

    /// The per-object states; nil when a map is smaller than its image size says (the
    /// map cannot be trusted: use the exact path).
    static func states(_ maps: [(map: ObjectMapBits, objectCount: UInt64)], fromStart: Bool) -> [State]? {
        var diff: [State] = []
        var previous: ObjectMapBits?
        for (stored, objectCount) in maps {
            guard stored.count >= objectCount else { return nil }
            var map = stored
            map.resize(to: objectCount)
            if UInt64(diff.count) < objectCount { diff.append(contentsOf: repeatElement(.unchanged, count: Int(objectCount) - diff.count)) }
            if map.count < UInt64(diff.count) { map.resize(to: UInt64(diff.count)) }
            let previousCount = previous?.count ?? 0
            let overlap = min(map.count, previousCount)
            if let previous {
                for object in 0..<overlap {
                    let now = map[object], before = previous[object]
                    if now == .nonexistent {
                        if before != .nonexistent { diff[Int(object)] = .hole }
                    } else if now == .exists || (before != now && !(before == .exists && now == .existsClean)) {
                        diff[Int(object)] = .updated
                    }
                }
            }
            if map.count > previousCount && (fromStart || previous != nil) {
                for object in overlap..<map.count {
                    diff[Int(object)] = map[object] == .nonexistent ? .unchanged : .updated
                }
            }
            previous = map
        }
        return diff
    }
}
