import Foundation
import NIOCore

/// `MMonMap` (type 4): the monitor map, as a byte list in the front segment.
///
/// Source: ceph/ceph `src/messages/MMonMap.h`, `src/mon/MonMap.cc` (`MonMap::encode`).
/// With MONENC the map is a versioned struct whose body starts with the raw 16-byte fsid
/// and the u32 epoch; we decode those and keep the rest as bytes.
package struct MMonMap: Sendable, Equatable {
    package var fsid: CephFSID
    package var epoch: UInt32
    /// The whole encoded monmap (a slice of the message).
    package var encodedMap: ByteBuffer

    package static func decode(_ message: Message) throws -> MMonMap {
        let map = try message.front.decodeExactly("MMonMap") { try $0.readDencBytes() }
        var b = map
        return try b.readDencVersioned("MonMap", understands: 9) { body, _ in
            let fsid = try body.readDencFSID()
            let epoch = try body.readDencU32()
            return MMonMap(fsid: fsid, epoch: epoch, encodedMap: map)
        }
    }
}
