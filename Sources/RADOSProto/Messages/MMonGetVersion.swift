import NIOCore

/// `MMonGetVersion` (type 19): ask for the newest and oldest epochs of a map.
///
/// Source: ceph/ceph `src/messages/MMonGetVersion.h`, kernel `mon_client.c`
/// (`__ceph_monc_get_version`). Front: u64 handle (tid), string what ("osdmap", …).
package struct MMonGetVersion: Sendable, Equatable {
    package var handle: UInt64
    package var what: String

    package func encode() -> Message {
        var front = ByteBuffer()
        front.writeDencU64(handle)
        front.writeDencString(what)
        return Message(type: MessageType.monGetVersion, version: 1, tid: handle, front: front)
    }
}
