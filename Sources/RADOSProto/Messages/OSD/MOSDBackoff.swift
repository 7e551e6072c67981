import NIOCore

/// An OSD asking a client to hold requests for a range of objects in a PG, and
/// letting them go again (`CEPH_MSG_OSD_BACKOFF`, type 61).
///
/// Front layout (ceph/ceph `src/messages/MOSDBackoff.h`; Linux `net/ceph/osd_client.c`,
/// `decode_MOSDBackoff`, `encode_MOSDBackoff`): spg_t (a versioned struct, version 1:
/// pg_t and the i8 shard), u32 osdmap epoch, u8 op, u64 backoff id, then the range's
/// begin and end as `hobject_t` (``HObject``). Message version 1, compat 1; the
/// front must be consumed exactly at version 1, later versions may append fields.
///
/// The exchange (`Objecter::handle_osd_backoff`, kernel `handle_backoff_block` and
/// `handle_backoff_unblock`): on `.block` the client stops sending requests whose
/// object falls in [begin, end) to that PG and answers with the same message, op
/// `.ackBlock`; on `.unblock` with a matching id it resends the held requests.
package struct MOSDBackoff: Hashable, Sendable {
    package static let messageType: UInt16 = 61
    package static let version: UInt16 = 1
    package static let compatVersion: UInt16 = 1

    /// `CEPH_OSD_BACKOFF_OP_*` (`src/include/rados.h`).
    package enum Operation: Hashable, Sendable {
        case block
        case ackBlock
        case unblock
        case unknown(UInt8)

        package init(rawValue: UInt8) {
            switch rawValue {
            case 1: self = .block
            case 2: self = .ackBlock
            case 3: self = .unblock
            default: self = .unknown(rawValue)
            }
        }

        package var rawValue: UInt8 {
            switch self {
            case .block: 1
            case .ackBlock: 2
            case .unblock: 3
            case .unknown(let value): value
            }
        }
    }

    /// The PG (and shard: `NO_SHARD` for replicated pools) the backoff applies to.
    package var pg: ShardedPlacementGroupID
    package var osdmapEpoch: UInt32
    package var operation: Operation
    package var id: UInt64
    package var begin: HObject
    package var end: HObject

    package init(
        pg: ShardedPlacementGroupID, osdmapEpoch: UInt32, operation: Operation, id: UInt64, begin: HObject, end: HObject
    ) {
        self.pg = pg
        self.osdmapEpoch = osdmapEpoch
        self.operation = operation
        self.id = id
        self.begin = begin
        self.end = end
    }

    /// The client's answer to a `.block`: the same PG, id and range, op `.ackBlock`.
    package var acknowledgement: MOSDBackoff {
        var ack = self
        ack.operation = .ackBlock
        return ack
    }

    /// Decodes a front of message `version`.
    package static func decode(front: ByteBuffer, version: UInt16) throws -> MOSDBackoff {
        var buffer = front
        do {
            let pg = try buffer.readDencShardedPlacementGroupID()
            let epoch = try buffer.readDencU32()
            let operation = Operation(rawValue: try buffer.readDencU8())
            let id = try buffer.readDencU64()
            let begin = try buffer.readDencHObject()
            let end = try buffer.readDencHObject()
            if version <= Self.version, buffer.readableBytes > 0 {
                throw DencError(.trailingBytes(buffer.readableBytes), at: buffer)
            }
            return MOSDBackoff(pg: pg, osdmapEpoch: epoch, operation: operation, id: id, begin: begin, end: end)
        } catch let error as DencError {
            throw error.within("MOSDBackoff")
        }
    }

    /// Writes the front of message version 1.
    package func encodeFront(into buffer: inout ByteBuffer) {
        buffer.writeDencShardedPlacementGroupID(pg)
        buffer.writeDencU32(osdmapEpoch)
        buffer.writeDencU8(operation.rawValue)
        buffer.writeDencU64(id)
        buffer.writeDencHObject(begin)
        buffer.writeDencHObject(end)
    }
}
