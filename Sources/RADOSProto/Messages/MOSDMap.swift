import NIOCore

/// `MOSDMap` (type 41): OSD maps from a monitor (or OSD), full and incremental, keyed by
/// epoch. The map bodies are left as byte slices for the OSDMap decoder.
///
/// Source: ceph/ceph `src/messages/MOSDMap.h` (`decode_payload`); kernel
/// `net/ceph/osd_client.c` (`ceph_osdc_handle_map`). Front: raw 16-byte fsid,
/// map<u32 epoch, byte list> incrementals, map<u32 epoch, byte list> full maps; from
/// version 2 u32 oldest and u32 newest epoch the sender has; from version 4 more
/// fields we do not need.
package struct MOSDMap: Sendable {
    package var fsid: CephFSID
    package var incrementalMaps: [UInt32: ByteBuffer]
    package var fullMaps: [UInt32: ByteBuffer]
    package var oldest: UInt32
    package var newest: UInt32

    package static func decode(_ message: Message) throws -> MOSDMap {
        var b = message.front
        do {
            let fsid = try b.readDencFSID()
            let incrementals = try b.readDencMap(limit: 100_000, minimumEntrySize: 8, key: { try $0.readDencU32() }, value: { try $0.readDencBytes() })
            let full = try b.readDencMap(limit: 100_000, minimumEntrySize: 8, key: { try $0.readDencU32() }, value: { try $0.readDencBytes() })
            var oldest: UInt32 = 0
            var newest: UInt32 = 0
            if message.header.version >= 2 {
                oldest = try b.readDencU32()
                newest = try b.readDencU32()
            }
            return MOSDMap(fsid: fsid, incrementalMaps: incrementals, fullMaps: full, oldest: oldest, newest: newest)
        } catch let error as DencError {
            throw error.within("MOSDMap")
        }
    }
}
