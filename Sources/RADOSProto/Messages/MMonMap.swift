import Foundation
import NIOCore

/// `MMonMap` (type 4): the monitor map, as a byte list in the front segment.
///
/// Source: ceph/ceph `src/messages/MMonMap.h`, `src/mon/MonMap.cc` (`MonMap::encode`).
/// With MONENC the map is a versioned struct whose body starts with the raw 16-byte fsid
/// and the u32 epoch; we decode those and keep the rest as bytes.
package struct MMonMap: Sendable, Equatable {
    package var fsid: UUIDBytes
    package var epoch: UInt32
    /// The whole encoded monmap (a slice of the message).
    package var encodedMap: ByteBuffer

    /// The 16 raw bytes of a `uuid_d`, printed in the usual 8-4-4-4-12 form.
    package struct UUIDBytes: Sendable, Hashable, CustomStringConvertible {
        package var bytes: [UInt8]

        package var description: String {
            let hex = bytes.map { String(format: "%02x", $0) }
            return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
        }
    }

    package static func decode(_ message: Message) throws -> MMonMap {
        let map = try message.front.decodeExactly("MMonMap") { try $0.readDencBytes() }
        var b = map
        return try b.readDencVersioned("MonMap", understands: 9) { body, _ in
            var raw = try body.readDencFixed(16)
            let fsid = UUIDBytes(bytes: raw.readBytes(length: 16) ?? [])
            let epoch = try body.readDencU32()
            return MMonMap(fsid: fsid, epoch: epoch, encodedMap: map)
        }
    }
}
