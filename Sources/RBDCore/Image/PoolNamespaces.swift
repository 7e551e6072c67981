import NIOCore
import RADOSProto

/// RBD namespaces of a pool (`rbd namespace create|ls|rm`), as librbd keeps them
/// (ceph/ceph `src/librbd/api/Namespace.cc`): their names in `rbd_namespace` of the
/// default namespace, and in each namespace a directory marked ready and a trash.
public enum PoolNamespaces {
    /// The objects librbd may keep in a namespace, removed with it.
    static let namespaceObjects = ["rbd_children", "rbd_group_directory", "rbd_info", "rbd_mirroring", "rbd_task", ClsRBD.trashObject, RBDObjectNames.directory]

    /// Creates namespace `name` in `io`'s pool. EEXIST when it exists.
    public static func create(_ io: IOContext, name: String) async throws(RADOSError) {
        guard !name.isEmpty else { throw RADOSError(.invalidArgument, "namespace name was not specified", errno: 22) }
        var root = io
        root.namespace = ""
        do {
            _ = try await root.operate(ClsRBD.namespaceObject, [ClsRBD.namespaceAdd(name)])
        } catch where error.code == .alreadyExists {
            throw RADOSError(.alreadyExists, "namespace \(name) already exists in pool \(io.poolName)", errno: 17)
        }
        var inside = io
        inside.namespace = name
        do throws(RADOSError) {
            _ = try await inside.operate(ClsRBD.trashObject, [.create(exclusive: false)])
            _ = try await inside.operate(RBDObjectNames.directory, [ClsRBD.directoryStateSet(.ready)])
        } catch {
            for object in [RBDObjectNames.directory, ClsRBD.trashObject] { try? await inside.remove(object) }
            _ = try? await root.operate(ClsRBD.namespaceObject, [ClsRBD.namespaceRemove(name)])
            throw error
        }
    }

    /// The pool's namespaces, sorted (none when the pool has never had one).
    public static func list(_ io: IOContext) async throws(RADOSError) -> [String] {
        var root = io
        root.namespace = ""
        var names: [String] = []
        var after = ""
        while true {
            let page: [String]
            do {
                let output = try await root.operate(ClsRBD.namespaceObject, [ClsRBD.namespaceList(startAfter: after, maxReturn: 1024)])
                page = try ImageInfo.decode { try ClsRBD.decodeNamespaceList(output.first ?? ByteBuffer()) }
            } catch where error.code == .notFound {
                break
            }
            names += page
            guard page.count == 1024, let last = page.last else { break }
            after = last
        }
        return names.sorted()
    }

    /// Removes namespace `name`: EBUSY while it holds images (in its directory or its
    /// trash), ENOENT when there is no such namespace.
    public static func remove(_ io: IOContext, name: String) async throws(RADOSError) {
        guard !name.isEmpty else { throw RADOSError(.invalidArgument, "namespace name was not specified", errno: 22) }
        guard try await list(io).contains(name) else {
            throw RADOSError(.notFound, "namespace \(name) does not exist in pool \(io.poolName)", errno: 2)
        }
        var inside = io
        inside.namespace = name
        let busy = RADOSError(.clusterError, "namespace \(name) contains images which must be deleted first (rbd trash ls shows trashed ones)", errno: 16)
        // New images are refused from here on; the directory goes if it is empty.
        do {
            _ = try await inside.operate(RBDObjectNames.directory, [ClsRBD.directoryStateSet(.addDisabled), .delete])
        } catch where error.code == .notFound {
        } catch where error.errno == 16 {
            throw busy
        }
        var trashed = false
        do {
            let output = try await inside.operate(ClsRBD.trashObject, [ClsRBD.trashList(startAfter: "", maxReturn: 1)])
            trashed = !(try ImageInfo.decode { try ClsRBD.decodeTrashList(output.first ?? ByteBuffer()) }).isEmpty
        } catch where error.code == .notFound {}
        if trashed {
            _ = try? await inside.operate(RBDObjectNames.directory, [ClsRBD.directoryStateSet(.ready)])
            throw busy
        }
        for object in namespaceObjects {
            do {
                try await inside.remove(object)
            } catch where error.code == .notFound {}
        }
        var root = io
        root.namespace = ""
        do {
            _ = try await root.operate(ClsRBD.namespaceObject, [ClsRBD.namespaceRemove(name)])
        } catch where error.code == .notFound {}
    }
}
