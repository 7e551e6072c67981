import NIOCore

/// A client's request to an OSD: one or more ops on one object (`CEPH_MSG_OSD_OP`).
///
/// Front layout of version 8, which every OSD since Luminous (RESEND_ON_SPLIT) takes:
/// spg_t (the PG after `ceph_stable_mod`, and the shard), the object's raw 32-bit hash,
/// osdmap epoch, flags, osd_reqid_t (left empty: the OSD derives it from the message
/// source and tid), a 24-byte blkin trace (zeros), client_inc, mtime,
/// object_locator_t, the object name, u16 count and the ops, the snap id to read, the
/// writer's snap context, retry attempt, and the connection's features. The ops'
/// inputs form the data segment. Source: ceph/ceph `src/messages/MOSDOp.h`
/// (`encode_payload`), Linux `net/ceph/osd_client.c` (`encode_request_partial`,
/// `encode_request_finish`).
package struct MOSDOp: Sendable {
    package static let messageType: UInt16 = 42
    package static let version: UInt16 = 8
    package static let compatVersion: UInt16 = 3
    /// The snap id that means "the head object, not a snapshot" (`CEPH_NOSNAP`).
    package static let noSnap: UInt64 = 0xFFFF_FFFF_FFFF_FFFE

    /// Pool of the object (and of the PG).
    package var pool: Int64
    /// The PG's seed: the object's hash folded by `ceph_stable_mod` over pg_num.
    package var pgSeed: UInt32
    /// Erasure-code shard of the PG, or -1 for replicated pools (`NO_SHARD`).
    package var shard: Int8 = -1
    /// The object's full 32-bit name hash (`ceph_str_hash_rjenkins`).
    package var objectHash: UInt32
    package var osdmapEpoch: UInt32
    package var flags: OSDRequestFlags
    /// Modification time for writes.
    package var mtime: UTime = .zero
    package var namespace: String = ""
    /// Object locator key (rarely used; empty normally).
    package var locatorKey: String = ""
    /// The locator's explicit hash, -1 for none. A PG op (nameless object) carries its
    /// PG seed here, as `MOSDOp::get_object_locator` encodes it.
    package var locatorHash: Int64 = -1
    package var name: ObjectName
    /// The object's name as a string (made anew for a data object's name).
    package var objectName: String { name.description }
    package var ops: SmallArray<OSDOp>
    /// Snapshot to read, or ``noSnap`` for the head.
    package var snapID: UInt64 = MOSDOp.noSnap
    /// The writer's snap context: latest snap seq and existing snaps, newest first.
    package var snapContext: SnapContext = .empty
    /// 0 on the first send, then counts resends.
    package var retryAttempt: Int32 = 0
    /// The features of the connection the request goes on.
    package var features: UInt64

    package init(
        pool: Int64, pgSeed: UInt32, objectHash: UInt32, osdmapEpoch: UInt32, flags: OSDRequestFlags,
        objectName: String, ops: SmallArray<OSDOp>, features: UInt64
    ) {
        self.init(pool: pool, pgSeed: pgSeed, objectHash: objectHash, osdmapEpoch: osdmapEpoch, flags: flags, name: ObjectName(objectName), ops: ops, features: features)
    }

    package init(
        pool: Int64, pgSeed: UInt32, objectHash: UInt32, osdmapEpoch: UInt32, flags: OSDRequestFlags,
        name: ObjectName, ops: SmallArray<OSDOp>, features: UInt64
    ) {
        self.pool = pool
        self.pgSeed = pgSeed
        self.objectHash = objectHash
        self.osdmapEpoch = osdmapEpoch
        self.flags = flags
        self.name = name
        self.ops = ops
        self.features = features
    }

    /// Total bytes of the data segment (the ops' inputs, in order).
    package var dataLength: Int { ops.reduce(0) { $0 + $1.input.readableBytes } }

    /// The data segment: the ops' inputs in order (the one input as it is when only one
    /// op has any, the common case of a write; no array is made).
    package var data: ByteBuffer {
        var data: ByteBuffer?
        for op in ops where op.input.readableBytes > 0 {
            if data == nil {
                data = op.input
            } else {
                data?.writeImmutableBuffer(op.input)
            }
        }
        return data ?? ByteBuffer()
    }

    /// Room enough for ``encodeFront(into:)`` (one allocation, no growing): the fixed
    /// fields, the names, the snap context, and a generous bound per op.
    package var frontCapacity: Int {
        160 + name.utf8Count + namespace.utf8.count + locatorKey.utf8.count + 8 * snapContext.snaps.count + 48 * ops.count
    }

    /// Writes the message front.
    package func encodeFront(into buffer: inout ByteBuffer) {
        // spg_t: versioned { pg_t, shard }
        buffer.writeDencShardedPlacementGroupID(ShardedPlacementGroupID(pg: PlacementGroupID(pool: pool, seed: pgSeed), shard: shard))
        buffer.writeDencU32(objectHash)
        buffer.writeDencU32(osdmapEpoch)
        buffer.writeDencU32(flags.rawValue)
        // osd_reqid_t: versioned { entity_name_t (u8 type, i64 num), u64 tid, i32 inc }, all zero
        buffer.writeDencVersioned(version: 2, compat: 2) { reqid in
            reqid.writeRepeatingByte(0, count: 1 + 8 + 8 + 4)
        }
        // blkin_trace_info: trace id, span id, parent span id
        buffer.writeRepeatingByte(0, count: 24)
        buffer.writeDencU32(0)  // client_inc
        buffer.writeDencUTime(mtime)
        buffer.writeDencObjectLocator(ObjectLocator(pool: pool, key: locatorKey, namespace: namespace, hash: locatorHash))
        buffer.writeDencObjectName(name)
        buffer.writeDencU16(UInt16(truncatingIfNeeded: ops.count))
        for op in ops { op.encode(into: &buffer) }
        buffer.writeDencU64(snapID)
        buffer.writeDencSnapContext(snapContext)
        buffer.writeDencI32(retryAttempt)
        buffer.writeDencU64(features)
    }
}

extension MOSDOp: EncodableFront {}
