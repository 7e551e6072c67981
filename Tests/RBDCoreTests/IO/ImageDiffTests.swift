import RADOSProto
import Testing

@testable import RBDCore

/// The two ways a diff is computed: from an object's clone list (`calc_snap_set_diff`)
/// and from the object maps (fast diff), each driven by hand.
struct SnapSetDiffTests {
    typealias Clone = ObjectSnapList.Clone
    static let head = ObjectSnapList.noSnap
    static let fourMiB: UInt64 = 4 << 20

    static func clone(_ id: UInt64, snaps: [UInt64], size: UInt64, overlaps: [(UInt64, UInt64)] = []) -> Clone {
        Clone(cloneID: id, snaps: snaps, overlaps: overlaps.map { SparseReadResult.Extent(offset: $0.0, length: $0.1) }, size: size)
    }

    @Test func aHeadOnlyObjectIsNewFromNothing() {
        let list = ObjectSnapList(clones: [Self.clone(Self.head, snaps: [], size: 4096)], seq: 0)
        let result = SnapSetDiff.compute(list, from: 0, to: Self.head)
        #expect(result.ranges == [0..<4096] && result.endExists)
    }

    @Test func aWriteAfterASnapshotIsWhatTheCloneDoesNotShare() {
        // Snapshot 5 was taken, then 4 KiB at 4096 were written: the clone shares the rest.
        let list = ObjectSnapList(clones: [
            Self.clone(5, snaps: [5], size: Self.fourMiB, overlaps: [(0, 4096), (8192, Self.fourMiB - 8192)]),
            Self.clone(Self.head, snaps: [], size: Self.fourMiB),
        ], seq: 5)
        let since = SnapSetDiff.compute(list, from: 5, to: Self.head)
        #expect(since.ranges == [4096..<8192] && since.endExists)
        // From nothing to the snapshot: the whole clone; to the head: still all of it.
        #expect(SnapSetDiff.compute(list, from: 0, to: 5).ranges == [0..<Self.fourMiB])
        #expect(SnapSetDiff.compute(list, from: 0, to: Self.head).ranges == [0..<Self.fourMiB])
    }

    @Test func unchangedRemovedAndNewObjects() {
        let unchanged = ObjectSnapList(clones: [Self.clone(5, snaps: [5], size: 10, overlaps: [(0, 10)]), Self.clone(Self.head, snaps: [], size: 10)], seq: 5)
        #expect(SnapSetDiff.compute(unchanged, from: 5, to: Self.head) == ([], true, 10, 10))
        // Removed at the head after snapshot 5: all it had differs, and it is gone.
        let removed = ObjectSnapList(clones: [Self.clone(5, snaps: [5], size: 100)], seq: 5)
        let gone = SnapSetDiff.compute(removed, from: 5, to: Self.head)
        #expect(gone.ranges == [0..<100] && !gone.endExists)
        // Created after snapshot 5.
        let created = ObjectSnapList(clones: [Self.clone(Self.head, snaps: [], size: 50)], seq: 5)
        #expect(SnapSetDiff.compute(created, from: 5, to: Self.head) == ([0..<50], true, 0, 50))
        // Created after snapshot 5, so absent at 5: nothing changed up to 5.
        #expect(SnapSetDiff.compute(created, from: 0, to: 5).ranges.isEmpty)
    }

    @Test func intervalSetsMergeAndSplit() {
        var set = IntervalSet()
        set.insert(10..<20)
        set.insert(30..<40)
        set.insert(20..<30)  // adjacent on both sides: one run
        #expect(set.ranges == [10..<40])
        set.remove(15..<25)
        #expect(set.ranges == [10..<15, 25..<40])
        set.remove(0..<100)
        #expect(set.ranges.isEmpty)
    }
}

struct FastDiffTests {
    static func map(_ states: [ClsRBD.ObjectState]) -> ObjectMapBits {
        var map = ObjectMapBits(count: UInt64(states.count))
        for (index, state) in states.enumerated() { map[UInt64(index)] = state }
        return map
    }

    @Test func fromTheStartEveryExistingObjectIsUpdated() {
        let states = FastDiff.states([(Self.map([.exists, .nonexistent, .existsClean]), UInt64(3))], fromStart: true)
        #expect(states == [.updated, .unchanged, .updated])
    }

    @Test func sinceASnapshotWritesHolesAndGrowth() {
        let snapshot = Self.map([.exists, .exists, .nonexistent])
        let head = Self.map([.existsClean, .nonexistent, .exists, .exists])
        let states = FastDiff.states([(snapshot, UInt64(3)), (head, UInt64(4))], fromStart: false)
        // Clean since the snapshot; removed; written; beyond the old end and existing.
        #expect(states == [.unchanged, .hole, .updated, .updated])
    }

    @Test func aMapSmallerThanItsImageIsNotTrusted() {
        #expect(FastDiff.states([(Self.map([.exists]), UInt64(2))], fromStart: true) == nil)
    }
}
