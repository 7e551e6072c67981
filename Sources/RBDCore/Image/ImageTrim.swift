import NIOCore
import RADOSProto

/// Removing and truncating data objects when an image shrinks, is removed or is rolled
/// back to a smaller snapshot: librbd's `TrimRequest` (ceph/ceph
/// `src/librbd/operation/TrimRequest.cc`).
///
/// The range past the new end is split at the first stripe period boundary at or after
/// it: every object from there on (whole object sets) is removed; in the last partial
/// period each object's tail past the new end is cut (the whole object when its first
/// byte already lies past the end). Writes carry the head snap context, so the OSD keeps
/// clones for existing snapshots. At most ``maximumConcurrentOps`` object ops are in
/// flight (librbd's `rbd_concurrent_management_ops`, 10).
enum ImageTrim {
    static let maximumConcurrentOps = 10

    /// What shrinking from `oldSize` to `newSize` does to the data objects: the object
    /// numbers removed whole, and the objects cut to a length (0 meaning removed too).
    struct Plan: Hashable, Sendable {
        /// An object cut to `length` bytes; length 0 removes it.
        struct Cut: Hashable, Sendable {
            var objectNumber: UInt64
            var length: UInt64
        }

        var removed: Range<UInt64>
        var cut: [Cut]
    }

    /// librbd's arithmetic (`TrimRequest` constructor and `send_clean_boundary`): the
    /// stripe period is object size × stripe count; objects from the first whole period
    /// past the new end on are removed; the objects of the boundary period are cut where
    /// the range [new end, period end) starts in them.
    static func plan(_ layout: StripeLayout, from oldSize: UInt64, to newSize: UInt64) -> Plan {
        guard newSize < oldSize else { return Plan(removed: 0..<0, cut: []) }
        let period = layout.objectSize * layout.stripeCount
        let periods = newSize / period + (newSize % period == 0 ? 0 : 1)
        let deleteOffset = min(periods * period, oldSize)
        let deleteStart = periods * layout.stripeCount
        let objectCount = Striper.objectCount(layout, imageSize: oldSize)
        let removed = deleteStart < objectCount ? deleteStart..<objectCount : deleteStart..<deleteStart
        var cut: [Plan.Cut] = []
        if deleteOffset > newSize {
            for extent in Striper.objectExtents(layout, offset: newSize, length: deleteOffset - newSize) {
                cut.append(Plan.Cut(objectNumber: extent.objectNumber, length: extent.offset))
            }
        }
        return Plan(removed: removed, cut: cut)
    }

    static func trim(
        _ dataIO: IOContext, prefix: String, layout: StripeLayout,
        from oldSize: UInt64, to newSize: UInt64, snapContext: SnapContext,
        progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws(RADOSError) {
        let plan = plan(layout, from: oldSize, to: newSize)
        if !plan.removed.isEmpty {
            try await forEach(plan.removed, progress: progress) { number in
                try await removeObject(dataIO, RBDObjectNames.data(prefix: prefix, objectNumber: number), snapContext: snapContext)
            }
        }
        let cut = plan.cut
        try await forEach(UInt64(0)..<UInt64(cut.count)) { index in
            let entry = cut[Int(index)]
            let object = RBDObjectNames.data(prefix: prefix, objectNumber: entry.objectNumber)
            if entry.length == 0 {
                try await removeObject(dataIO, object, snapContext: snapContext)
            } else {
                try await truncateObject(dataIO, object, size: entry.length, snapContext: snapContext)
            }
        }
    }

    /// Removes a data object; a missing one is fine.
    static func removeObject(_ io: IOContext, _ object: String, snapContext: SnapContext) async throws(RADOSError) {
        do {
            _ = try await io.operate(object, [.delete], snapContext: snapContext)
        } catch where error.code == .notFound {}
    }

    /// Cuts a data object to `size` bytes; a missing object is left missing (`stat` first,
    /// in the same op, so the truncate does not create it).
    static func truncateObject(_ io: IOContext, _ object: String, size: UInt64, snapContext: SnapContext) async throws(RADOSError) {
        do {
            _ = try await io.operate(object, [.stat, .truncate(size: size)], snapContext: snapContext)
        } catch where error.code == .notFound {}
    }

    /// Runs `body` for each number in `numbers`, at most `limit` at once; the first
    /// failure cancels the rest and is thrown.
    /// `progress` hears how many are done, of how many, after each.
    static func forEach(
        _ numbers: Range<UInt64>, limit: Int = maximumConcurrentOps,
        progress: (@Sendable (UInt64, UInt64) -> Void)? = nil,
        _ body: @escaping @Sendable (UInt64) async throws -> Void
    ) async throws(RADOSError) {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = numbers.lowerBound
                var running = 0
                var done: UInt64 = 0
                while next < numbers.upperBound || running > 0 {
                    while running < limit, next < numbers.upperBound {
                        let number = next
                        next += 1
                        running += 1
                        group.addTask { try await body(number) }
                    }
                    try await group.next()
                    running -= 1
                    done += 1
                    progress?(done, UInt64(numbers.count))
                }
            }
        } catch {
            throw error as? RADOSError ?? RADOSError(.clusterError, "an object operation failed", details: "\(error)")
        }
    }
}
