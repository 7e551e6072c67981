import Foundation
import NIOCore
import RADOSProto

/// An image waiting in its pool's (namespace's) trash, as `rbd trash ls` shows it.
public struct ImageTrashEntry: Sendable, Hashable {
    public var id: String
    public var name: String
    /// "USER", "MIRRORING", "MIGRATION", "REMOVING" or "USER_PARENT", as rbd prints it.
    public var source: String
    public var deletedAt: Date
    /// Until when the image must stay (`rbd trash mv --expires-at`); removing it
    /// earlier needs `force`.
    public var defermentEnd: Date
}

/// The image trash, as librbd keeps it (ceph/ceph `src/librbd/api/Trash.cc`,
/// `src/librbd/trash/MoveRequest.cc`, `RemoveRequest.cc`): a moved image keeps its id,
/// header and data, loses its name (`rbd_id.<name>` and the directory entry), and gets an
/// entry in `rbd_trash` until it is restored or removed. Each step is one the next
/// attempt can resume: the entry's state says how far a move, restore or removal came.
public enum ImageTrash {
    /// Moves image `name` to the trash, to stay at least `delay` seconds
    /// (`rbd trash mv`). As librbd: EBUSY when another client holds its exclusive lock
    /// or it is being migrated, EMLINK when it belongs to a group.
    public static func move(_ io: IOContext, name: String, delay: TimeInterval = 0) async throws(RADOSError) {
        guard delay >= 0 else { throw RADOSError(.invalidArgument, "the expiration time must be in the future", errno: 22) }
        let info = try await ImageInfo.load(io, image: name)
        if info.features.contains(.migrating) {
            throw RADOSError(.clusterError, "image \(name) is being migrated; finish or abort the migration first", errno: 16)
        }
        if info.operationFeatures & ClsRBD.operationGroup != 0 {
            throw RADOSError(.clusterError, "image \(name) belongs to a group; remove it from the group first", errno: 31)
        }
        if info.features.contains(.exclusiveLock) {
            let lockers = try await io.lockers(RBDObjectNames.header(imageID: info.id), name: ImageNotify.lockName)
            if let holder = lockers.holders.first {
                throw RADOSError(.clusterError, "image \(name) is in use: \(holder.client) holds its exclusive lock", errno: 16)
            }
        }
        let now = Date()
        let spec = ClsRBD.TrashImageSpec(
            source: .user, name: name, deletionTime: utime(now), defermentEndTime: utime(now.addingTimeInterval(delay)), state: .moving)
        do {
            _ = try await io.operate(ClsRBD.trashObject, [ClsRBD.trashAdd(id: info.id, spec: spec)])
        } catch where error.code == .alreadyExists {}
        var failure: RADOSError?
        do throws(RADOSError) {
            do {
                try await io.remove(RBDObjectNames.id(imageName: name))
            } catch where error.code == .notFound {}
            _ = try await io.operate(RBDObjectNames.directory, [ClsRBD.directoryRemove(name: name, id: info.id)])
        } catch {
            failure = error
        }
        // As librbd: the entry leaves the MOVING state whatever happened, so the image
        // can be restored (or the move resumed).
        do {
            _ = try await io.operate(ClsRBD.trashObject, [ClsRBD.trashStateSet(id: info.id, state: .normal, expect: .moving)])
        } catch where error.errno == 95 {}
        if let failure { throw failure }
    }

    /// The trash's entries, sorted by id, without those being removed; only those
    /// moved by users (`rbd trash ls`) unless `all` (`--all`).
    public static func list(_ io: IOContext, all: Bool = false) async throws(RADOSError) -> [ImageTrashEntry] {
        try await entries(io).filter { _, spec in
            spec.state != .removing && (all || spec.source == .user || spec.source == .userParent)
        }.map { id, spec in
            ImageTrashEntry(
                id: id, name: spec.name, source: sourceName(spec.source),
                deletedAt: Date(timeIntervalSince1970: spec.deletionTime.timeIntervalSince1970),
                defermentEnd: Date(timeIntervalSince1970: spec.defermentEndTime.timeIntervalSince1970))
        }
    }

    /// Gives image `id` its name back (or `name`), like `rbd trash restore`: EEXIST
    /// when another image has that name, EBUSY while the entry is being removed.
    public static func restore(_ io: IOContext, id: String, as newName: String? = nil) async throws(RADOSError) {
        let spec = try await entry(io, id: id)
        guard [.user, .mirroring, .userParent].contains(spec.source) else {
            throw RADOSError(.invalidArgument, "image \(id) was moved to the trash by \(sourceName(spec.source).lowercased()), not by a user; it cannot be restored", errno: 22)
        }
        guard spec.state == .normal || spec.state == .restoring else {
            throw RADOSError(.clusterError, "image \(id) is being \(spec.state == .removing ? "removed" : "moved")", errno: 16)
        }
        _ = try await io.operate(ClsRBD.trashObject, [ClsRBD.trashStateSet(id: id, state: .restoring, expect: .normal)])
        let name = newName ?? spec.name
        do throws(RADOSError) {
            var createID = true
            do throws(RADOSError) {
                let output = try await io.operate(RBDObjectNames.id(imageName: name), [ClsRBD.getID()])
                let existing = try ImageInfo.decode { try ClsRBD.decodeString(output.first ?? ByteBuffer()) }
                guard existing == id else {
                    throw RADOSError(.alreadyExists, "an image named \(name) already exists; restore under another name (--image)", errno: 17)
                }
                createID = false  // a restore that stopped half way
            } catch where error.code == .notFound {}
            if createID { _ = try await io.operate(RBDObjectNames.id(imageName: name), ClsRBD.createIDObject(id: id)) }
            do {
                _ = try await io.operate(RBDObjectNames.directory, [ClsRBD.directoryAdd(name: name, id: id)])
            } catch where error.code == .alreadyExists {}
        } catch {
            _ = try? await io.operate(ClsRBD.trashObject, [ClsRBD.trashStateSet(id: id, state: .normal, expect: .restoring)])
            throw error
        }
        do {
            _ = try await io.operate(ClsRBD.trashObject, [ClsRBD.trashRemove(id: id)])
        } catch where error.code == .notFound {}
    }

    /// Removes image `id` from the trash with its data, like `rbd trash rm`: EPERM
    /// before its deferment ends unless `force`; ENOTEMPTY with snapshots, EBUSY while
    /// open elsewhere (the entry stays, and can be restored).
    public static func remove(_ io: IOContext, id: String, force: Bool = false, now: Date = Date()) async throws(RADOSError) {
        let spec = try await entry(io, id: id)
        if !force, utime(now) < spec.defermentEndTime {
            throw RADOSError(.permissionDenied, "deferment time has not expired, please use --force if you really want to remove the image", errno: 1)
        }
        switch spec.state {
        case .moving: throw RADOSError(.clusterError, "image \(id) is not fully moved to trash", errno: 117)
        case .restoring: throw RADOSError(.clusterError, "image \(id) is being restored", errno: 16)
        case .normal, .removing: break
        }
        _ = try await io.operate(ClsRBD.trashObject, [ClsRBD.trashStateSet(id: id, state: .removing, expect: .normal)])
        do throws(RADOSError) {
            let image: Image
            do {
                image = try await Image.open(io, name: spec.name, id: id, snapshot: nil, readOnly: false, depth: 0)
            } catch where error.code == .notFound {
                // Header already gone (a removal that stopped half way).
                try await Image.removeHeaderObjects(io, id: id)
                return try await finishRemoval(io, id: id)
            }
            try await Image.removeOpened(image, io: io)
        } catch {
            _ = try? await io.operate(ClsRBD.trashObject, [ClsRBD.trashStateSet(id: id, state: .normal, expect: .removing)])
            throw error
        }
        try await finishRemoval(io, id: id)
    }

    /// Removes every user entry whose deferment ended before `expiredBefore` (`rbd
    /// trash purge`), passes repeating while they make progress (a clone's parent goes
    /// once the clone is gone); returns how many were removed. The first refusal is
    /// thrown when some are left.
    @discardableResult
    public static func purge(_ io: IOContext, expiredBefore: Date = Date()) async throws(RADOSError) -> Int {
        var pending = try await entries(io).filter { _, spec in
            (spec.source == .user || spec.source == .userParent) && spec.state != .removing
                && spec.defermentEndTime <= utime(expiredBefore)
        }.map(\.id)
        var removed = 0
        var firstRefusal: RADOSError?
        while !pending.isEmpty {
            var left: [String] = []
            firstRefusal = nil
            for id in pending {
                do {
                    try await remove(io, id: id, force: true)
                    removed += 1
                } catch where error.code == .notFound {
                    removed += 1
                } catch where [39, 16, 31, 117].contains(error.errno) {
                    left.append(id)
                    firstRefusal = firstRefusal ?? error
                }
            }
            if left.count == pending.count { break }
            pending = left
        }
        if let firstRefusal { throw firstRefusal }
        return removed
    }

    // MARK: internals

    static func finishRemoval(_ io: IOContext, id: String) async throws(RADOSError) {
        do {
            _ = try await io.operate(ClsRBD.trashObject, [ClsRBD.trashRemove(id: id)])
        } catch where error.code == .notFound {}
    }

    static func entry(_ io: IOContext, id: String) async throws(RADOSError) -> ClsRBD.TrashImageSpec {
        do {
            let output = try await io.operate(ClsRBD.trashObject, [ClsRBD.trashGet(id: id)])
            return try ImageInfo.decode { try ClsRBD.decodeTrashSpec(output.first ?? ByteBuffer()) }
        } catch where error.code == .notFound {
            throw RADOSError(.notFound, "image \(id) is not in the trash", errno: 2)
        }
    }

    /// Every entry, 1024 at a time as librbd pages them.
    static func entries(_ io: IOContext) async throws(RADOSError) -> [(id: String, spec: ClsRBD.TrashImageSpec)] {
        var all: [(id: String, spec: ClsRBD.TrashImageSpec)] = []
        var after = ""
        while true {
            let page: [(id: String, spec: ClsRBD.TrashImageSpec)]
            do {
                let output = try await io.operate(ClsRBD.trashObject, [ClsRBD.trashList(startAfter: after, maxReturn: 1024)])
                page = try ImageInfo.decode { try ClsRBD.decodeTrashList(output.first ?? ByteBuffer()) }
            } catch where error.code == .notFound {
                return all
            }
            all += page
            guard page.count == 1024, let last = page.last else { return all }
            after = last.id
        }
    }

    static func sourceName(_ source: ClsRBD.TrashImageSpec.Source) -> String {
        switch source {
        case .user: "USER"
        case .mirroring: "MIRRORING"
        case .migration: "MIGRATION"
        case .removing: "REMOVING"
        case .userParent: "USER_PARENT"
        }
    }

    static func utime(_ date: Date) -> UTime { UTime(timeIntervalSince1970: date.timeIntervalSince1970) }
}
