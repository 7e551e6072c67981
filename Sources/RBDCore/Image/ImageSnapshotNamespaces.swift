import NIOCore
import RADOSProto

/// The snapshot namespaces `rbd snap ls --all` prints ("user", "trash (old name)", …):
/// the namespace detail `snapshot_get` returns (`src/cls/rbd/cls_rbd_types.cc`,
/// `SnapshotNamespace`).
extension Image {
    /// How `rbd snap ls --all` names a snapshot's namespace.
    public struct SnapshotNamespaceDescription: Sendable, Hashable {
        /// "user", "group", "trash", "mirror" or "unknown".
        public var type: String
        /// For a trashed snapshot, the name it had before.
        public var originalName: String?
    }

    /// The namespace of every snapshot, by snapshot id, read from the header now.
    public func snapshotNamespaces() async throws(RADOSError) -> [UInt64: SnapshotNamespaceDescription] {
        let ids = snapshots.map(\.id)
        guard !ids.isEmpty else { return [:] }
        let outputs = try await metadataIO.operate(headerObject, ids.map { ClsRBD.snapshotGet(id: $0) })
        var result: [UInt64: SnapshotNamespaceDescription] = [:]
        for (id, output) in zip(ids, outputs) {
            let namespace = try ImageInfo.decode { try ClsRBD.decodeSnapshotNamespace(output) }
            let names: [UInt32: String] = [0: "user", 1: "group", 2: "trash", 3: "mirror"]
            result[id] = SnapshotNamespaceDescription(type: names[namespace.type] ?? "unknown", originalName: namespace.originalName)
        }
        return result
    }
}
