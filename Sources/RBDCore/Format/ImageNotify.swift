import NIOCore
import RADOSProto

/// librbd's messages on an image header's watch/notify channel, and what a client that
/// has the image open but does not own its exclusive lock answers to each.
///
/// Every client with an image open for writing watches `rbd_header.<id>`; a client that
/// changed the header (snapshots, size, metadata …) notifies it with `HEADER_UPDATE` so
/// the others reread it before their next I/O. The same channel carries lock and
/// operation requests meant for the exclusive-lock owner, which a non-owner answers
/// with an empty acknowledgement so the notifier does not wait for its timeout.
///
/// Wire forms (ceph/ceph `src/librbd/WatchNotifyTypes.{h,cc}`, Pacific):
/// - `NotifyMessage`: versioned struct (`ENCODE_START(7, 1)`), u32 notify op, then the
///   op's payload. `HEADER_UPDATE` (op 3) has an empty payload. An empty notify buffer
///   is a legacy header update.
/// - `ResponseMessage`: versioned struct (`ENCODE_START(1, 1)`) holding an s32 result.
///
/// Replies (`src/librbd/ImageWatcher.cc`, `handle_payload` with no exclusive lock held):
/// header update → `ResponseMessage(0)` after the refresh is scheduled
/// (`C_ResponseMessage`); quiesce → `ResponseMessage(0)` (no quiesce watchers: nothing
/// to wait for); everything else → an empty acknowledgement.
package enum ImageNotify {
    /// `NotifyOp` values (`src/librbd/WatchNotifyTypes.h`).
    package enum Op: UInt32, Sendable {
        case acquiredLock = 0
        case releasedLock = 1
        case requestLock = 2
        case headerUpdate = 3
        case asyncProgress = 4
        case asyncComplete = 5
        case flatten = 6
        case resize = 7
        case snapCreate = 8
        case snapRemove = 9
        case rebuildObjectMap = 10
        case snapRename = 11
        case snapProtect = 12
        case snapUnprotect = 13
        case rename = 14
        case updateFeatures = 15
        case migrate = 16
        case sparsify = 17
        case quiesce = 18
        case unquiesce = 19
        case metadataUpdate = 20
    }

    /// The `NotifyMessage` version librbd (Pacific) encodes; its compat is 1.
    static let messageVersion: UInt8 = 7

    /// A decoded `NotifyMessage`: the op (raw, since newer clients may send ops this
    /// code does not know), the struct version, and the op's payload bytes.
    package struct Message: Sendable, Equatable {
        package var rawOp: UInt32
        package var version: UInt8
        package var payload: ByteBuffer

        package var op: Op? { Op(rawValue: rawOp) }
    }

    /// The `HEADER_UPDATE` notify librbd sends after changing the header
    /// (`ImageWatcher::notify_header_update`).
    package static func headerUpdate() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeDencVersioned(version: messageVersion, compat: 1) { $0.writeDencU32(Op.headerUpdate.rawValue) }
        return buffer
    }

    /// Decodes a notify's payload. An empty payload is the legacy header update.
    ///
    /// - Throws: ``DencError`` when it is truncated or its compat is above 1.
    package static func decodeMessage(_ payload: ByteBuffer) throws -> Message {
        guard payload.readableBytes > 0 else {
            return Message(rawOp: Op.headerUpdate.rawValue, version: 0, payload: ByteBuffer())
        }
        var buffer = payload
        return try buffer.readDencVersioned("librbd NotifyMessage", understands: 1) { body, version in
            let op = try body.readDencU32()
            return Message(rawOp: op, version: version, payload: body.readSlice(length: body.readableBytes) ?? ByteBuffer())
        }
    }

    /// `ResponseMessage(result)`.
    package static func response(_ result: Int32) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeDencVersioned(version: 1, compat: 1) { $0.writeDencU32(UInt32(bitPattern: result)) }
        return buffer
    }

    /// Decodes a `ResponseMessage` (a watcher's reply); nil for an empty reply.
    ///
    /// - Throws: ``DencError`` when it is truncated or its compat is above 1.
    package static func decodeResponse(_ reply: ByteBuffer) throws -> Int32? {
        guard reply.readableBytes > 0 else { return nil }
        var buffer = reply
        return try buffer.readDencVersioned("librbd ResponseMessage", understands: 1) { body, _ in
            Int32(bitPattern: try body.readDencU32())
        }
    }

    /// What a watcher does with one notify.
    package struct Reaction: Sendable, Equatable {
        /// The image must be reread before its next I/O or operation.
        package var refreshRequired: Bool
        /// The acknowledgement's reply.
        package var reply: ByteBuffer
    }

    /// How a client with the image open, not owning its exclusive lock and executing no
    /// requests on others' behalf, answers the notify `payload` (librbd's
    /// `ImageWatcher::handle_notify`/`handle_payload` in that situation).
    ///
    /// A payload that does not decode is acknowledged empty (librbd drops it and lets the
    /// notifier time out; answering costs nothing and spares the notifier the wait).
    package static func reaction(to payload: ByteBuffer) -> Reaction {
        guard let message = try? decodeMessage(payload) else {
            return Reaction(refreshRequired: false, reply: ByteBuffer())
        }
        switch message.op {
        case .headerUpdate:
            return Reaction(refreshRequired: true, reply: response(0))
        case .quiesce:
            return Reaction(refreshRequired: false, reply: response(0))
        default:
            return Reaction(refreshRequired: false, reply: ByteBuffer())
        }
    }
}
