import NIOCore
import RADOSProto

/// `rbd cp` and `rbd deep cp` (ceph/ceph `src/librbd/api/Image.cc` `copy`,
/// `src/librbd/deep_copy/`): a new image with the source's layout and features unless
/// told otherwise, holding the source's bytes. A plain copy takes the head (or the
/// snapshot the source is open at) and is never a clone; a deep copy also recreates
/// every user snapshot, in order and with its protection, copying each one's changes
/// since the one before.
///
/// All-zero blocks of a full copy are not written, so the copy stays sparse. A copy
/// that fails removes the image it created.
extension Image {
    /// Copies `source` into a new image `name` in `io`. `options` fields left unset
    /// (order, features, stripe unit and count) are the source's, as librbd fills
    /// them. `progress` is called with bytes done and total.
    ///
    /// A deep copy of a clone is a clone of the same parent snapshot holding what the
    /// source's own objects hold (its overlap kept), unless `flatten`, which copies the
    /// parent's bytes in and leaves no parent. A plain copy is always flat.
    public static func copy(
        from source: Image, to io: IOContext, name: String, options: ImageCreateOptions = ImageCreateOptions(),
        deep: Bool = false, flatten: Bool = false, progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws(RADOSError) {
        let info = source.info
        var options = options
        if options.order == nil { options.order = info.order }
        if options.features == nil { options.features = info.features }
        if options.stripeUnit == 0, options.stripeCount == 0, info.features.contains(.stripingV2) {
            options.stripeUnit = info.stripeUnit
            options.stripeCount = info.stripeCount
        }
        let userSnapshots = deep && source.snapshot == nil ? source.snapshots.filter { $0.namespaceType == 0 } : []
        let firstSize = userSnapshots.first?.size ?? source.size
        let keepsParent = deep && !flatten && source.snapshot == nil && info.parent != nil
        if keepsParent, let parent = try await info.parentName(source.metadataIO), let spec = info.parent {
            var parentIO = try await source.metadataIO.ioContext(poolID: spec.poolID)
            parentIO.namespace = spec.poolNamespace
            _ = try await clone(parentIO: parentIO, parentName: parent.image, snapshot: parent.snapshot, childIO: io, childName: name, options: options)
        } else {
            try await create(io, name: name, size: firstSize, options: options)
        }
        let destination: Image
        do {
            destination = try await open(io, name: name)
        } catch {
            try? await remove(io, name: name)
            throw error
        }
        do throws(RADOSError) {
            let total = userSnapshots.reduce(source.size) { $0 + $1.size }
            var done: UInt64 = 0
            var previous: String?
            var previousOverlap: UInt64?
            for snapshot in userSnapshots {
                let atSnapshot = try await open(source.metadataIO, name: source.name, snapshot: snapshot.name, readOnly: true)
                do throws(RADOSError) {
                    try await destination.copyChanges(from: atSnapshot, since: previous, ownObjectsOnly: keepsParent, overlap: snapshot.parentOverlap, previousOverlap: previousOverlap)
                } catch {
                    try? await atSnapshot.close()
                    throw error
                }
                try await atSnapshot.close()
                try await destination.createSnapshot(named: snapshot.name)
                if snapshot.isProtected { try await destination.protectSnapshot(named: snapshot.name) }
                previous = snapshot.name
                previousOverlap = snapshot.parentOverlap
                done += snapshot.size
                progress?(done, total)
            }
            try await destination.copyChanges(from: source, since: previous, ownObjectsOnly: keepsParent, overlap: info.parentOverlap, previousOverlap: previousOverlap)
            try await destination.flush()
            progress?(total, total)
        } catch {
            try? await destination.close()
            // Snapshots made so far go with it.
            if let made = try? await open(io, name: name) {
                for snapshot in made.snapshots {
                    if snapshot.isProtected { try? await made.unprotectSnapshot(named: snapshot.name) }
                    try? await made.removeSnapshot(named: snapshot.name)
                }
                try? await made.close()
            }
            try? await remove(io, name: name)
            throw error
        }
        try await destination.close()
    }

    /// Makes this image's bytes equal `source`'s (at the head or the snapshot it is
    /// open at): the size first, then everything (`since` nil: every non-zero block) or
    /// only what changed since snapshot `since` of the source (discarded ranges too).
    ///
    /// With `ownObjectsOnly` (this image is a clone of the source's parent), only what the
    /// source's own objects hold is copied, and this image's parent overlap is first cut
    /// to the source's `overlap` when that is smaller (the source reads zeros there).
    /// Copying a clone flat, what the source read from its parent until its overlap
    /// shrank from `previousOverlap` to `overlap` is zeroed here (no object of the
    /// source's says so).
    func copyChanges(from source: Image, since: String?, ownObjectsOnly: Bool = false, overlap: UInt64? = nil, previousOverlap: UInt64? = nil) async throws(RADOSError) {
        let size = source.size
        if ownObjectsOnly, let overlap, let current = info.parentOverlap, overlap < current {
            try await resize(to: overlap, allowShrink: true)
        }
        if self.size != size { try await resize(to: size, allowShrink: true) }
        if !ownObjectsOnly, since != nil, let previousOverlap, previousOverlap > (overlap ?? 0) {
            let start = overlap ?? 0
            let end = min(previousOverlap, size)
            if start < end { _ = try await writeZeroes(offset: start, length: end - start) }
        }
        let chunk = max(source.layout.objectSize * source.layout.stripeCount, 4096)
        if since != nil || ownObjectsOnly {
            for extent in try await source.diff(fromSnapshot: since) {
                if extent.exists {
                    var offset = extent.offset
                    while offset < extent.offset + extent.length {
                        let length = min(chunk, extent.offset + extent.length - offset)
                        _ = try await write(offset: offset, data: try await source.read(offset: offset, length: length))
                        offset += length
                    }
                } else {
                    _ = try await discard(offset: extent.offset, length: extent.length)
                }
            }
            return
        }
        var offset: UInt64 = 0
        while offset < size {
            let length = min(chunk, size - offset)
            let data = try await source.read(offset: offset, length: length)
            for run in Self.nonZeroRuns(data, block: 4096) {
                let slice = data.getSlice(at: data.readerIndex + run.lowerBound, length: run.count) ?? ByteBuffer()
                _ = try await write(offset: offset + UInt64(run.lowerBound), data: slice)
            }
            offset += length
        }
    }

    /// The byte ranges of `buffer` made of `block`-sized pieces that are not all zeros,
    /// merged (what copies, imports and conversions write).
    package static func nonZeroRuns(_ buffer: ByteBuffer, block: Int) -> [Range<Int>] {
        buffer.withUnsafeReadableBytes { bytes in
            var runs: [Range<Int>] = []
            var start = 0
            while start < bytes.count {
                let end = min(start + block, bytes.count)
                if !isZero(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
                    if let last = runs.last, last.upperBound == start {
                        runs[runs.count - 1] = last.lowerBound..<end
                    } else {
                        runs.append(start..<end)
                    }
                }
                start = end
            }
            return runs
        }
    }

    /// Whether every byte is zero (eight at a time).
    package static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] != 0 { return false }
            index += 1
        }
        return true
    }
}
