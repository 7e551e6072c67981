import NIOCore
import RADOSProto

/// cls_rbd's image trash, pool namespaces and snapshot limit (ceph/ceph
/// `src/cls/rbd/cls_rbd.cc`, `cls_rbd_client.cc`, `cls_rbd_types.h`).
extension ClsRBD {
    // MARK: rbd_trash

    /// `cls::rbd::TrashImageSpec`: why an image is in the trash, under which name, when it
    /// was moved there and until when it must stay (version 2 adds the state).
    package struct TrashImageSpec: Hashable, Sendable {
        /// `TrashImageSource`.
        package enum Source: UInt8, Sendable {
            case user = 0, mirroring = 1, migration = 2, removing = 3, userParent = 4
        }

        /// `TrashImageState`.
        package enum State: UInt8, Sendable {
            case normal = 0, moving = 1, removing = 2, restoring = 3
        }

        package var source: Source
        package var name: String
        package var deletionTime: UTime
        package var defermentEndTime: UTime
        package var state: State

        package init(source: Source, name: String, deletionTime: UTime, defermentEndTime: UTime, state: State) {
            self.source = source
            self.name = name
            self.deletionTime = deletionTime
            self.defermentEndTime = defermentEndTime
            self.state = state
        }
    }

    /// `trash_add` on `rbd_trash`: string image id, then the spec. EEXIST when the id is
    /// there already.
    package static func trashAdd(id: String, spec: TrashImageSpec) -> OSDOp {
        call("trash_add") {
            $0.writeDencString(id)
            $0.writeDencTrashSpec(spec)
        }
    }

    /// `trash_remove`: the entry of image `id`; ENOENT when there is none.
    package static func trashRemove(id: String) -> OSDOp { call("trash_remove") { $0.writeDencString(id) } }

    /// `trash_list`: up to `maxReturn` entries after image id `startAfter`; ENOENT when
    /// the pool (namespace) has no trash object.
    package static func trashList(startAfter: String, maxReturn: UInt64) -> OSDOp {
        call("trash_list") {
            $0.writeDencString(startAfter)
            $0.writeDencU64(maxReturn)
        }
    }

    /// `trash_state_set`: the entry's state becomes `state` if it is `expect` (or is
    /// `state` already); ESTALE otherwise.
    package static func trashStateSet(id: String, state: TrashImageSpec.State, expect: TrashImageSpec.State) -> OSDOp {
        call("trash_state_set") {
            $0.writeDencString(id)
            $0.writeInteger(state.rawValue)
            $0.writeInteger(expect.rawValue)
        }
    }

    /// `trash_get` output.
    package static func decodeTrashSpec(_ output: ByteBuffer) throws -> TrashImageSpec {
        try output.decodeExactly("trash_get") { try $0.readDencTrashSpec() }
    }

    /// `trash_list` output: map of image id to spec.
    package static func decodeTrashList(_ output: ByteBuffer) throws -> [(id: String, spec: TrashImageSpec)] {
        try output.decodeExactly("trash_list") { buffer in
            try buffer.readDencArray(minimumElementSize: 4 + 6 + 4 + 16) { item in
                (try item.readDencString(), try item.readDencTrashSpec())
            }
        }
    }

    // MARK: rbd_namespace, and a namespace's directory state

    /// The object listing a pool's namespaces (in the default namespace).
    package static let namespaceObject = "rbd_namespace"

    /// `namespace_add`: EEXIST when the namespace exists.
    package static func namespaceAdd(_ name: String) -> OSDOp { call("namespace_add") { $0.writeDencString(name) } }

    /// `namespace_remove`: ENOENT when it does not exist.
    package static func namespaceRemove(_ name: String) -> OSDOp { call("namespace_remove") { $0.writeDencString(name) } }

    /// `namespace_list`: up to `maxReturn` names after `startAfter`.
    package static func namespaceList(startAfter: String, maxReturn: UInt64) -> OSDOp {
        call("namespace_list") {
            $0.writeDencString(startAfter)
            $0.writeDencU64(maxReturn)
        }
    }

    /// `namespace_list` output: a list of names.
    package static func decodeNamespaceList(_ output: ByteBuffer) throws -> [String] {
        try output.decodeExactly("namespace_list") { buffer in
            try buffer.readDencArray(minimumElementSize: 4) { try $0.readDencString() }
        }
    }

    /// `cls::rbd::DirectoryState`.
    package enum DirectoryState: UInt8, Sendable {
        case ready = 0, addDisabled = 1
    }

    /// `dir_state_set` on `rbd_directory` (creates it); EBUSY for `addDisabled` while
    /// the directory still names images.
    package static func directoryStateSet(_ state: DirectoryState) -> OSDOp {
        call("dir_state_set") { $0.writeInteger(state.rawValue) }
    }

    // MARK: snapshot limit

    /// `snapshot_set_limit`: at most `limit` snapshots (`UInt64.max` clears the limit);
    /// ERANGE below the current count. `snapshot_add` then fails with EDQUOT.
    package static func snapshotSetLimit(_ limit: UInt64) -> OSDOp { call("snapshot_set_limit") { $0.writeDencU64(limit) } }

    /// `snapshot_get_limit`: the limit, `UInt64.max` when none is set.
    package static func snapshotGetLimit() -> OSDOp { call("snapshot_get_limit") }
}

extension ByteBuffer {
    /// `TrashImageSpec` (version 2, compat 1).
    mutating func writeDencTrashSpec(_ spec: ClsRBD.TrashImageSpec) {
        writeDencVersioned(version: 2, compat: 1) {
            $0.writeInteger(spec.source.rawValue)
            $0.writeDencString(spec.name)
            $0.writeDencUTime(spec.deletionTime)
            $0.writeDencUTime(spec.defermentEndTime)
            $0.writeInteger(spec.state.rawValue)
        }
    }

    /// `TrashImageSpec`; an unknown source or state is refused (a newer writer's).
    mutating func readDencTrashSpec() throws -> ClsRBD.TrashImageSpec {
        try readDencVersioned("TrashImageSpec", understands: 2) { body, version in
            let sourceByte = try body.readDencU8()
            let name = try body.readDencString()
            let deletion = try body.readDencUTime()
            let deferment = try body.readDencUTime()
            let stateByte = version >= 2 ? try body.readDencU8() : 0
            guard let source = ClsRBD.TrashImageSpec.Source(rawValue: sourceByte) else {
                throw DencError(.invalidValue("trash image source \(sourceByte)"), at: body, context: ["TrashImageSpec"])
            }
            guard let state = ClsRBD.TrashImageSpec.State(rawValue: stateByte) else {
                throw DencError(.invalidValue("trash image state \(stateByte)"), at: body, context: ["TrashImageSpec"])
            }
            return ClsRBD.TrashImageSpec(source: source, name: name, deletionTime: deletion, defermentEndTime: deferment, state: state)
        }
    }
}
