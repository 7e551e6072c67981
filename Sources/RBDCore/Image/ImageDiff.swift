import NIOConcurrencyHelpers
import NIOCore
import RADOSProto

/// One run of an image diff, as `rbd_diff_iterate2` reports it: `length` bytes at
/// `offset` changed, and now hold data (`exists`) or read as zeros.
public struct DiffExtent: Sendable, Hashable {
    public var offset: UInt64
    public var length: UInt64
    public var exists: Bool

    public init(offset: UInt64, length: UInt64, exists: Bool) {
        self.offset = offset
        self.length = length
        self.exists = exists
    }
}

/// What changed in an image between a snapshot (or its creation) and what is open (the
/// head or a snapshot), like librbd's `rbd_diff_iterate2` and `rbd diff` (ceph/ceph
/// `src/librbd/api/DiffIterate.cc`).
///
/// Whole-object diffs of images with a valid fast diff come from the object maps alone
/// (``FastDiff``); otherwise each data object's clone list (`list-snaps`) says exactly
/// which of its bytes changed (``SnapSetDiff``). Extents are reported in object order,
/// each clipped to the requested range and the image size.
extension Image {
    /// librbd's `rbd_concurrent_management_ops`: objects asked at once.
    static let diffConcurrency = 10

    /// The changes since snapshot `fromSnapshot` (nil: since the image was created)
    /// within `length` bytes at `offset` (nil: to the end). With `wholeObject`, a changed
    /// object is reported whole (cheaper: fast diff answers from the object maps).
    ///
    /// - Throws: ``RADOSError`` `.notFound` when `fromSnapshot` does not exist, EINVAL when
    ///   it is newer than what is open.
    public func diff(fromSnapshot: String? = nil, offset: UInt64 = 0, length: UInt64? = nil, wholeObject: Bool = false) async throws(RADOSError) -> [DiffExtent] {
        try await refreshIfRequired()
        let endID = snapshot?.id ?? MOSDOp.noSnap
        var startID: UInt64 = 0
        if let fromSnapshot {
            guard let found = snapshots.first(where: { $0.name == fromSnapshot }) else {
                throw RADOSError(.notFound, "snapshot \(fromSnapshot) of image \(name) does not exist", errno: 2)
            }
            guard found.id <= endID else {
                throw RADOSError(.invalidArgument, "snapshot \(fromSnapshot) is newer than the end of the diff", errno: 22)
            }
            startID = found.id
        }
        let size = self.size
        let layout = self.layout
        let end = min(size, length.map { offset &+ $0 } ?? size)
        guard offset < end else { return [] }
        let objectCount = Striper.objectCount(layout, imageSize: size)

        var changes: [(object: UInt64, ranges: [Range<UInt64>], exists: Bool)] = []
        if wholeObject, let states = try await fastDiffStates(from: startID, to: endID) {
            for (index, state) in states.enumerated() where UInt64(index) < objectCount && state != .unchanged {
                changes.append((UInt64(index), [0..<layout.objectSize], state == .updated))
            }
        } else {
            changes = try await exactDiff(from: startID, to: endID, objectCount: objectCount, wholeObject: wholeObject)
        }
        var extents: [DiffExtent] = []
        for change in changes {
            for range in change.ranges {
                for piece in Striper.imageExtents(layout, objectNumber: change.object, offset: range.lowerBound, length: range.upperBound - range.lowerBound) {
                    let low = max(piece.offset, offset), high = min(piece.offset + piece.length, end)
                    if low < high { extents.append(DiffExtent(offset: low, length: high - low, exists: change.exists)) }
                }
            }
        }
        return extents
    }

    /// The fast-diff states from `startID` to `endID`, or nil when fast diff cannot be
    /// used (the feature is off, a map is flagged invalid, missing or too small).
    private func fastDiffStates(from startID: UInt64, to endID: UInt64) async throws(RADOSError) -> [FastDiff.State]? {
        let info = self.info
        guard info.features.contains(.fastDiff) else { return nil }
        let ordered = snapshots.sorted { $0.id < $1.id }
        var points: [(id: UInt64, size: UInt64)] = ordered.filter { $0.id >= startID && $0.id <= endID }.map { ($0.id, $0.size) }
        if startID == 0, let first = ordered.first, first.id <= endID { points = ordered.filter { $0.id <= endID }.map { ($0.id, $0.size) } }
        if endID == MOSDOp.noSnap { points.append((MOSDOp.noSnap, info.size)) }
        if startID != 0, points.first?.id != startID { return nil }
        let flags = try await metadataIO.operate(headerObject, points.map { ClsRBD.getFlags(snapID: $0.id) })
        for output in flags {
            guard let value = try? ClsRBD.decodeU64(output), value & ClsRBD.flagFastDiffInvalid == 0 else { return nil }
        }
        var maps: [(map: ObjectMapBits, objectCount: UInt64)] = []
        for point in points {
            let object = point.id == MOSDOp.noSnap ? objectMapObject : RBDObjectNames.objectMap(imageID: id, snapID: point.id)
            guard let outputs = try? await metadataIO.operate(object, [.read(offset: 0, length: 0)]),
                  let map = try? ObjectMapBits.decode(outputs.first ?? ByteBuffer()) else { return nil }
            maps.append((map, Striper.objectCount(layout, imageSize: point.size)))
        }
        return FastDiff.states(maps, fromStart: startID == 0)
    }

    /// Each object's clone list, asked `diffConcurrency` at a time.
    private func exactDiff(from startID: UInt64, to endID: UInt64, objectCount: UInt64, wholeObject: Bool) async throws(RADOSError) -> [(object: UInt64, ranges: [Range<UInt64>], exists: Bool)] {
        let prefix = info.blockNamePrefix
        let io = dataIO
        let objectSize = layout.objectSize
        let found = NIOLockedValueBox<[(object: UInt64, ranges: [Range<UInt64>], exists: Bool)]>([])
        try await ImageTrim.forEach(0..<objectCount, limit: Self.diffConcurrency) { number in
            let output: ByteBuffer
            do {
                output = try await io.operate(RBDObjectNames.data(prefix: prefix, objectNumber: number), [.listSnaps], snapID: HObject.snapDir).first ?? ByteBuffer()
            } catch let error as RADOSError where error.code == .notFound {
                return
            }
            let list: ObjectSnapList
            do { list = try ObjectSnapList.decode(output) } catch {
                throw RADOSError(.malformedData, "the clone list of object \(number) does not decode", details: "\(error)")
            }
            let (changed, exists, startSize, endSize) = SnapSetDiff.compute(list, from: startID, to: endID)
            guard !changed.isEmpty else { return }
            // A whole-object diff reports the whole object, split like the exact one.
            let ranges = wholeObject ? [0..<objectSize] : changed
            // What the object had at the start past its size at the end now reads as
            // zeros (a truncated tail, librbd's zeroed extents); the rest holds data.
            let zeroed = exists ? min(endSize, objectSize)..<max(min(startSize, objectSize), min(endSize, objectSize)) : 0..<objectSize
            var data: [Range<UInt64>] = [], zeros: [Range<UInt64>] = []
            for range in ranges {
                let clipped = range.clamped(to: 0..<objectSize)
                guard !clipped.isEmpty else { continue }
                let inZero = clipped.clamped(to: zeroed)
                if inZero.isEmpty {
                    data.append(clipped)
                    continue
                }
                zeros.append(inZero)
                if clipped.lowerBound < inZero.lowerBound { data.append(clipped.lowerBound..<inZero.lowerBound) }
                if inZero.upperBound < clipped.upperBound { data.append(inZero.upperBound..<clipped.upperBound) }
            }
            found.withLockedValue { found in
                for range in data { found.append((number, [range], true)) }
                for range in zeros { found.append((number, [range], false)) }
            }
        }
        return found.withLockedValue { $0 }.sorted { ($0.object, $0.ranges.first?.lowerBound ?? 0) < ($1.object, $1.ranges.first?.lowerBound ?? 0) }
    }
}
