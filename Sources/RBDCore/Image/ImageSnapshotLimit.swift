import NIOCore
import RADOSProto

extension Image {
    /// The most snapshots the image may have (`rbd snap limit set`), nil when unlimited.
    /// Kept in the header (`snap_limit`), so the OSD enforces it: a snapshot beyond it
    /// fails with EDQUOT, whoever takes it.
    public func snapshotLimit() async throws(RADOSError) -> UInt64? {
        let output = try await metadataIO.operate(headerObject, [ClsRBD.snapshotGetLimit()])
        let limit = try ImageInfo.decode { try ClsRBD.decodeU64(output.first ?? ByteBuffer()) }
        return limit == .max ? nil : limit
    }

    /// Sets (or with nil, clears: `rbd snap limit clear`) the snapshot limit. ERANGE
    /// when the image already has more snapshots than `limit`.
    public func setSnapshotLimit(_ limit: UInt64?) async throws(RADOSError) {
        guard !isReadOnly else { throw RADOSError(.permissionDenied, "image \(self.name) is open read-only", errno: 30) }
        do {
            _ = try await metadataIO.operate(headerObject, [ClsRBD.snapshotSetLimit(limit ?? .max)])
        } catch where error.errno == 34 {
            throw RADOSError(.invalidArgument, "image \(name) has more snapshots than \(limit ?? 0); remove some first", errno: 34)
        }
        try await headerChanged()
    }
}
