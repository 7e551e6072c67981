import NIOCore

/// `MAuthReply` (type 18). Source: ceph/ceph `src/messages/MAuthReply.h`; kernel
/// `net/ceph/auth.c` (`ceph_handle_auth_reply`). Front: u32 protocol, s32 result,
/// u64 global_id, byte list payload, string message.
package struct MAuthReply: Sendable {
    package var protocolID: UInt32
    package var result: Int32
    package var globalID: UInt64
    package var payload: ByteBuffer
    package var message: String

    package static func decode(_ message: Message) throws -> MAuthReply {
        try message.front.decodeExactly("MAuthReply") { b in
            MAuthReply(
                protocolID: try b.readDencU32(), result: try b.readDencI32(), globalID: try b.readDencU64(),
                payload: try b.readDencBytes(limit: 1 << 20), message: try b.readDencString(limit: 4096))
        }
    }
}
