import NIOCore
import RADOSProto

/// The snapshot namespaces `rbd snap ls --all` prints ("user", "trash (old name)", …):
/// the namespace detail `snapshot_get` returns, read with the snapshots
/// (`src/cls/rbd/cls_rbd_types.cc`, `SnapshotNamespace`).
extension Image {
    /// How `rbd snap ls --all` names a snapshot's namespace.
    public struct SnapshotNamespaceDescription: Sendable, Hashable {
        /// "user", "group", "trash", "mirror" or "unknown".
        public var type: String
        /// For a trashed snapshot, the name it had before.
        public var originalName: String?
    }

    /// The namespace of every snapshot, by snapshot id, as the header was last read.
    public func snapshotNamespaces() -> [UInt64: SnapshotNamespaceDescription] {
        let names: [UInt32: String] = [0: "user", 1: "group", 2: "trash", 3: "mirror"]
        var result: [UInt64: SnapshotNamespaceDescription] = [:]
        for snapshot in snapshots {
            result[snapshot.id] = SnapshotNamespaceDescription(type: names[snapshot.namespaceType] ?? "unknown", originalName: snapshot.originalName)
        }
        return result
    }
}
