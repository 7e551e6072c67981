import NIOCore

/// `MMonSubscribeAck` (type 16): u32 interval (seconds to renew), then the fsid.
///
/// Source: ceph/ceph `src/messages/MMonSubscribeAck.h`. Monitors since Jewel rarely send
/// it (subscriptions no longer expire), so it is decoded leniently.
package struct MMonSubscribeAck: Sendable, Equatable {
    package var interval: UInt32

    package static func decode(_ message: Message) throws -> MMonSubscribeAck {
        var b = message.front
        return MMonSubscribeAck(interval: try b.readDencU32())
    }
}
