import NIOCore

/// `MMonSubscribe` (type 15, version 3): ask a monitor to send maps as they change.
///
/// Source: ceph/ceph `src/messages/MMonSubscribe.h`, kernel `net/ceph/mon_client.c`
/// (`__send_subscribe`). Front: map<string, ceph_mon_subscribe_item> (u64 start epoch,
/// u8 flags; flag 1 = ONETIME), then the string hostname.
package struct MMonSubscribe: Sendable, Equatable {
    package static let version: UInt16 = 3
    package static let flagOneTime: UInt8 = 1

    package struct Item: Sendable, Equatable {
        package var start: UInt64
        package var flags: UInt8

        package init(start: UInt64, flags: UInt8 = 0) {
            self.start = start
            self.flags = flags
        }
    }

    package var what: [String: Item]
    package var hostname: String

    package init(what: [String: Item], hostname: String = "") {
        self.what = what
        self.hostname = hostname
    }

    package func encode() -> Message {
        var front = ByteBuffer()
        front.writeDencMap(what, key: { $0.writeDencString($1) }, value: { b, item in
            b.writeDencU64(item.start)
            b.writeDencU8(item.flags)
        })
        front.writeDencString(hostname)
        return Message(type: MessageType.monSubscribe, version: Self.version, compatVersion: 1, front: front)
    }

    package static func decode(_ message: Message) throws -> MMonSubscribe {
        try message.front.decodeExactly("MMonSubscribe") { b in
            let what = try b.readDencMap(limit: 64, minimumEntrySize: 13, key: { try $0.readDencString(limit: 256) }, value: { b in
                Item(start: try b.readDencU64(), flags: try b.readDencU8())
            })
            return MMonSubscribe(what: what, hostname: try b.readDencString(limit: 1024))
        }
    }
}
