import NIOCore

/// `MMonGetVersionReply` (type 20): u64 handle, u64 newest version, u64 oldest version.
///
/// Source: ceph/ceph `src/messages/MMonGetVersionReply.h`.
package struct MMonGetVersionReply: Sendable, Equatable {
    package var handle: UInt64
    package var newest: UInt64
    package var oldest: UInt64

    package static func decode(_ message: Message) throws -> MMonGetVersionReply {
        var b = message.front
        let handle = try b.readDencU64()
        let newest = try b.readDencU64()
        let oldest = b.readableBytes >= 8 ? try b.readDencU64() : 0
        return MMonGetVersionReply(handle: handle, newest: newest, oldest: oldest)
    }
}
