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

/// `rbd pool init` (ceph/ceph `src/librbd/api/Pool.cc`, `image/ValidatePoolRequest.cc`):
/// the pool is tagged for the rbd application, and checked once for what RBD needs —
/// self-managed snapshots and overwrites — leaving "overwrite validated" in `rbd_info`.
public enum PoolInitialization {
    static let infoObject = "rbd_info"
    static let validated = "overwrite validated"

    /// Initializes pool `pool` for RBD. `force` enables the application even when the
    /// pool is tagged for another one (the monitor refuses that with EPERM otherwise).
    public static func initialize(_ client: RADOSClient, pool: String, force: Bool = false) async throws(RADOSError) {
        var command = #"{"prefix": "osd pool application enable", "pool": \#(jsonString(pool)), "app": "rbd""#
        if force { command += #", "yes_i_really_mean_it": true"# }
        _ = try await client.monCommand(command + "}")
        let io = try await client.ioContext(pool: pool)
        let current: String
        do {
            current = String(decoding: try await io.read(infoObject, length: 64).readableBytesView, as: UTF8.self)
        } catch where error.code == .notFound {
            current = ""
        }
        if current == validated { return }
        if current != "validate" {
            // A pool-managed-snapshot pool refuses this (EINVAL): RBD cannot use it.
            let snapID = try await io.selfManagedSnapCreate()
            do {
                _ = try await io.operate(infoObject, [.create(exclusive: true), .writeFull(ByteBuffer(string: "validate"))])
            } catch where error.code == .alreadyExists {
            } catch where error.errno == 95 {
                throw RADOSError(.invalidArgument, "pool \(pool) does not support overwrites (an erasure-coded pool needs allow_ec_overwrites)", errno: 22)
            }
            try? await io.selfManagedSnapRemove(snapID)
        }
        do {
            _ = try await io.operate(infoObject, [.write(offset: 0, data: ByteBuffer(string: validated))])
        } catch where error.errno == 95 {
            throw RADOSError(.invalidArgument, "pool \(pool) does not support overwrites (an erasure-coded pool needs allow_ec_overwrites)", errno: 22)
        }
    }

    static func jsonString(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
