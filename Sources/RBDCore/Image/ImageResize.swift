import RADOSProto

extension Image {
    /// Changes the image's size, like `rbd resize`.
    ///
    /// Growing only records the new size. Shrinking needs `allowShrink` (as
    /// `--allow-shrink`) and first trims the data past the new end (``ImageTrim``,
    /// librbd's `TrimRequest`) with the head snap context, so snapshots keep their data;
    /// then the header's size is set (`src/librbd/operation/ResizeRequest.cc`) and the
    /// image's other clients are told (``headerChanged()``).
    ///
    /// - Throws: ``RADOSError`` `.invalidArgument` when shrinking without `allowShrink`;
    ///   the errors of ``checkWritable()`` for a read-only image or unhonoured features.
    public func resize(to newSize: UInt64, allowShrink: Bool = false) async throws(RADOSError) {
        try checkWritable()
        try await refresh()
        if newSize < info.size && !allowShrink {
            throw RADOSError(.invalidArgument, "shrinking an image is only allowed with the --allow-shrink flag")
        }
        try await withLockOwner({ .resize($0, size: newSize, allowShrink: allowShrink) }) { () throws(RADOSError) in
            try await resizeLocked(to: newSize, allowShrink: allowShrink)
        }
    }

    func resizeLocked(to newSize: UInt64, allowShrink: Bool) async throws(RADOSError) {
        try await refresh()
        let info = self.info
        if newSize < info.size && !allowShrink {
            throw RADOSError(.invalidArgument, "shrinking an image is only allowed with the --allow-shrink flag")
        }
        guard newSize != info.size else { return }
        if newSize < info.size {
            // Writes in flight finish first and new ones wait until the header has the
            // new size (`ResizeRequest`'s block_writes), so none lands past the new end.
            await writes.blockAndDrain()
            var blocked = true
            defer { if blocked { writes.unblock() } }
            // The cache's dirty data lands first; its bytes past the new end are dropped.
            try await flushCacheForMaintenance()
            try? await cache?.invalidate()
            try await ImageTrim.trim(dataIO, prefix: info.blockNamePrefix, layout: layout, from: info.size, to: newSize, snapContext: info.snapContext)
            try await objectMapTrimmed(ImageTrim.plan(layout, from: info.size, to: newSize))
            try await objectMapResize(toImageSize: newSize)
            _ = try await metadataIO.operate(RBDObjectNames.header(imageID: id), [ClsRBD.setSize(newSize)])
            try await refresh()
            blocked = false
            writes.unblock()
        } else {
            try await objectMapResize(toImageSize: newSize)
            _ = try await metadataIO.operate(RBDObjectNames.header(imageID: id), [ClsRBD.setSize(newSize)])
        }
        try await headerChanged()
    }
}
