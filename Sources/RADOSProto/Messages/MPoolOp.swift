import NIOCore

extension MessageType {
    /// `CEPH_MSG_POOLOP_REPLY` (src/include/ceph_fs.h).
    package static let poolOpReply: UInt16 = 48
    /// `CEPH_MSG_POOLOP`.
    package static let poolOp: UInt16 = 49
}

/// `MPoolOp` (type 49): asks the monitor to change a pool's snapshots (and, in old
/// releases, to create or delete pools). SwiftRBD sends it for self-managed snapshots,
/// the snapshots RBD images use: the monitor hands out a new snap id, or records one as
/// deleted so the OSDs trim its clones.
///
/// Source: ceph/ceph `src/messages/MPoolOp.h` (version 4, compat 2),
/// `src/osdc/Objecter.cc` (`pool_op_submit`: tid in the header, the paxos version is the
/// newest OSDMap epoch the client has seen), `src/include/rados.h` (`POOL_OP_*`).
/// Front: paxos header (u64 version, s16 -1, u64 0), raw 16-byte fsid, u32 pool, u32 op,
/// u64 auid (0), u64 snap id, string name, u8 pad (0), s16 crush rule (0).
package struct MPoolOp: Sendable, Hashable {
    /// `POOL_OP_*` codes.
    package enum Operation: UInt32, Sendable, Hashable {
        case create = 0x01
        case delete = 0x02
        case createSnapshot = 0x11
        case deleteSnapshot = 0x12
        /// Allocates a self-managed snap id; the reply carries it.
        case createUnmanagedSnapshot = 0x21
        /// Marks self-managed snap id ``MPoolOp/snapID`` deleted.
        case deleteUnmanagedSnapshot = 0x22
    }

    package var tid: UInt64
    package var fsid: [UInt8]
    package var pool: UInt32
    package var operation: Operation
    package var snapID: UInt64
    package var name: String
    /// The newest OSDMap epoch the client has seen (the paxos `version` field).
    package var osdmapEpoch: UInt64

    package init(tid: UInt64, fsid: [UInt8], pool: UInt32, operation: Operation, snapID: UInt64 = 0, name: String = "", osdmapEpoch: UInt64) {
        self.tid = tid
        self.fsid = fsid
        self.pool = pool
        self.operation = operation
        self.snapID = snapID
        self.name = name
        self.osdmapEpoch = osdmapEpoch
    }

    package func encode() -> Message {
        var front = ByteBuffer()
        front.reserveCapacity(67 + name.utf8.count)
        front.writeDencU64(osdmapEpoch)
        front.writeDencI16(-1)
        front.writeDencU64(0)
        front.writeBytes(fsid.count == 16 ? fsid : [UInt8](repeating: 0, count: 16))
        front.writeDencU32(pool)
        front.writeDencU32(operation.rawValue)
        front.writeDencU64(0)  // auid
        front.writeDencU64(snapID)
        front.writeDencString(name)
        front.writeDencU8(0)  // pad (v3 → v4)
        front.writeDencI16(0)  // crush rule
        return Message(type: MessageType.poolOp, version: 4, compatVersion: 2, tid: tid, front: front)
    }
}
