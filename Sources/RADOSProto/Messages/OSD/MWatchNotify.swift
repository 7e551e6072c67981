import NIOCore

/// An OSD's message to a watcher or a notifier (`CEPH_MSG_WATCH_NOTIFY`, type 44):
/// a notify to acknowledge, the completion of our own notify, or the loss of a watch.
///
/// Front layout (ceph/ceph `src/messages/MWatchNotify.h`, `encode_payload` /
/// `decode_payload`; Linux `net/ceph/osd_client.c`, `handle_watch_notify`): u8 inner
/// protocol version (1), u8 opcode, u64 cookie (the watch's or the notifier's linger
/// cookie), u64 version (unused), u64 notify id, then — when the inner version is at
/// least 1 — the payload as a bufferlist; from message version 2 an i32 return code
/// (`errorcode32_t`, a negative errno), from message version 3 the notifier's global
/// id. Pacific sends message version 3, compat 1. The front must be consumed exactly
/// up to version 3; later versions may append fields, which are skipped.
///
/// Where the payload travels depends on the opcode: a `.notify` carries the
/// notifier's payload in the front's bufferlist, but a `.notifyComplete` leaves that
/// bufferlist empty and carries the ``NotifyCompletion`` in the message's *data
/// segment* (`Notify::maybe_complete_notify` in `src/osd/Watch.cc` calls `set_data`;
/// librados reads `m->get_data()`, the kernel takes the message's data pages).
package struct MWatchNotify: Hashable, Sendable {
    package static let messageType: UInt16 = 44
    package static let version: UInt16 = 3
    package static let compatVersion: UInt16 = 1

    /// `CEPH_WATCH_EVENT_*` (`src/include/rados.h`).
    package enum Opcode: Hashable, Sendable {
        /// A notify for one of our watches: acknowledge it with a notify-ack op.
        case notify
        /// Our notify finished; the payload is a ``NotifyCompletion``.
        case notifyComplete
        /// The OSD dropped our watch (the return code says why): reconnect it.
        case disconnect
        case unknown(UInt8)

        package init(rawValue: UInt8) {
            switch rawValue {
            case 1: self = .notify
            case 2: self = .notifyComplete
            case 3: self = .disconnect
            default: self = .unknown(rawValue)
            }
        }

        package var rawValue: UInt8 {
            switch self {
            case .notify: 1
            case .notifyComplete: 2
            case .disconnect: 3
            case .unknown(let value): value
            }
        }
    }

    package var opcode: Opcode
    package var cookie: UInt64
    /// Unused by current Ceph; kept for round trips.
    package var objectVersion: UInt64 = 0
    package var notifyID: UInt64
    /// The front's bufferlist: the notify's payload for `.notify` (a slice of the front,
    /// not a copy); empty otherwise.
    package var payload: ByteBuffer
    /// The message's data segment: the encoded ``NotifyCompletion`` for
    /// `.notifyComplete`; empty otherwise.
    package var data: ByteBuffer = ByteBuffer()
    /// 0, or a negative errno (`-ETIMEDOUT` for a notify some watchers missed).
    package var returnCode: Int32 = 0
    /// Global id of the client that sent the notify.
    package var notifierGID: UInt64 = 0

    package init(
        opcode: Opcode, cookie: UInt64, notifyID: UInt64, payload: ByteBuffer = ByteBuffer(), data: ByteBuffer = ByteBuffer(),
        returnCode: Int32 = 0, notifierGID: UInt64 = 0
    ) {
        self.opcode = opcode
        self.cookie = cookie
        self.notifyID = notifyID
        self.payload = payload
        self.data = data
        self.returnCode = returnCode
        self.notifierGID = notifierGID
    }

    /// Decodes a message of `version` from its front and data segment.
    package static func decode(front: ByteBuffer, data: ByteBuffer = ByteBuffer(), version: UInt16) throws -> MWatchNotify {
        var buffer = front
        do {
            let innerVersion = try buffer.readDencU8()
            let opcode = Opcode(rawValue: try buffer.readDencU8())
            let cookie = try buffer.readDencU64()
            let objectVersion = try buffer.readDencU64()
            let notifyID = try buffer.readDencU64()
            let payload = innerVersion >= 1 ? try buffer.readDencBytes() : ByteBuffer()
            let returnCode = version >= 2 ? try buffer.readDencI32() : 0
            let notifierGID = version >= 3 ? try buffer.readDencU64() : 0
            if version <= Self.version, buffer.readableBytes > 0 {
                throw DencError(.trailingBytes(buffer.readableBytes), at: buffer)
            }
            var message = MWatchNotify(
                opcode: opcode, cookie: cookie, notifyID: notifyID, payload: payload, data: data, returnCode: returnCode,
                notifierGID: notifierGID
            )
            message.objectVersion = objectVersion
            return message
        } catch let error as DencError {
            throw error.within("MWatchNotify")
        }
    }

    /// The result of our notify, for a `.notifyComplete` (decoded from ``data``).
    package func completion() throws -> NotifyCompletion {
        try NotifyCompletion.decode(data)
    }

    /// Writes the front of message version 3 (the data segment is ``data``, as is).
    package func encodeFront(into buffer: inout ByteBuffer) {
        buffer.writeDencU8(1)
        buffer.writeDencU8(opcode.rawValue)
        buffer.writeDencU64(cookie)
        buffer.writeDencU64(objectVersion)
        buffer.writeDencU64(notifyID)
        buffer.writeDencBytes(payload)
        buffer.writeDencI32(returnCode)
        buffer.writeDencU64(notifierGID)
    }
}
