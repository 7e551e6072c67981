import Foundation
import NIOCore

/// `MMonMap` (type 4): the monitor map, as a byte list in the front segment.
///
/// Source: ceph/ceph `src/messages/MMonMap.h`, `src/mon/MonMap.cc` (`MonMap::encode`).
/// With MONENC the map is a versioned struct whose body starts with the raw 16-byte fsid
/// and the u32 epoch; we decode those and keep the rest as bytes.
package struct MMonMap: Sendable, Equatable {
    /// One monitor of the map (`mon_info_t`: name and public addresses).
    package struct Monitor: Sendable, Equatable {
        package var name: String
        package var addresses: [EntityAddress]
    }

    package var fsid: CephFSID
    package var epoch: UInt32
    /// The whole encoded monmap (a slice of the message).
    package var encodedMap: ByteBuffer
    /// The monitors and their addresses (MonMap v6 and later, i.e. Nautilus on; empty for
    /// older encodings or a `mon_info` we cannot read: the client then hunts through
    /// `mon_host` only).
    package var monitors: [Monitor] = []

    package static func decode(_ message: Message) throws -> MMonMap {
        let map = try message.front.decodeExactly("MMonMap") { try $0.readDencBytes() }
        var b = map
        return try b.readDencVersioned("MonMap", understands: 9) { body, version in
            let fsid = try body.readDencFSID()
            let epoch = try body.readDencU32()
            var result = MMonMap(fsid: fsid, epoch: epoch, encodedMap: map)
            if version >= 6 { result.monitors = (try? readMonitors(&body)) ?? [] }
            return result
        }
    }

    /// After the epoch (`MonMap::encode`, v6+): utime last_changed, utime created,
    /// mon_feature_t persistent and optional (versioned), then map<string, mon_info_t>
    /// where mon_info_t is versioned {string name, entity_addrvec_t public_addrs, u16
    /// priority, …}.
    private static func readMonitors(_ body: inout ByteBuffer) throws -> [Monitor] {
        _ = try body.readDencFixed(16)  // last_changed, created
        for name in ["persistent_features", "optional_features"] {
            try body.readDencVersioned(name, understands: 1) { _, _ in }
        }
        let count = try body.readDencU32()
        guard count <= 64 else { throw DencError(.invalidValue("\(count) monitors"), at: body) }
        var monitors: [Monitor] = []
        for _ in 0..<count {
            _ = try body.readDencString(limit: 256)
            monitors.append(try body.readDencVersioned("mon_info_t", understands: 1) { info, _ in
                Monitor(name: try info.readDencString(limit: 256), addresses: try info.readEntityAddressVector())
            })
        }
        return monitors
    }
}
