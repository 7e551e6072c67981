import NIOCore

/// An OSD's answer to ``MOSDOp`` (`CEPH_MSG_OSD_OPREPLY`).
///
/// Front: object name, pg_t, u64 flags, i32 result, a legacy eversion (12 bytes),
/// osdmap epoch, u32 op count and the ops (each op's `payload_len` is the length of its
/// output), retry attempt, one i32 return value per op, then from version 5 the replay
/// version and user version, from version 6/7 an optional redirect, and from version 8
/// a trace. The ops' outputs, concatenated, form the data segment.
/// Source: ceph/ceph `src/messages/MOSDOpReply.h`, Linux `net/ceph/osd_client.c`
/// (`decode_MOSDOpReply`).
package struct MOSDOpReply: Sendable, Hashable {
    package static let messageType: UInt16 = 43
    /// Most ops one reply may carry: a request has at most this many (`CEPH_OSD_MAX_OPS` is 16
    /// in the kernel; librados allows more, so the bound is generous but finite).
    package static let maximumOps = 1024

    /// The object's name as sent (a slice of the front: a name is any bytes, and no
    /// string is made for a name the requester already knows).
    package var objectNameBytes: ByteBuffer
    package var pool: Int64
    package var pgSeed: UInt32
    package var flags: OSDRequestFlags
    /// 0 or a negative errno for the request as a whole.
    package var result: Int32
    package var osdmapEpoch: UInt32
    /// The ops, each with its output length and return value (inline for one or two).
    package var ops: SmallArray<OSDOpReplyHeader>
    package var retryAttempt: Int32
    package var replayVersion: EVersion
    /// The object's version after the request (what `rados_get_last_version` reports).
    package var userVersion: UInt64
    /// The pool the OSD redirects the request to, if it did.
    package var redirectPool: Int64?

    package init(
        objectName: String, pool: Int64, pgSeed: UInt32, flags: OSDRequestFlags, result: Int32, osdmapEpoch: UInt32,
        ops: SmallArray<OSDOpReplyHeader>, retryAttempt: Int32, replayVersion: EVersion, userVersion: UInt64, redirectPool: Int64?
    ) {
        self.init(
            objectNameBytes: ByteBuffer(string: objectName), pool: pool, pgSeed: pgSeed, flags: flags, result: result,
            osdmapEpoch: osdmapEpoch, ops: ops, retryAttempt: retryAttempt, replayVersion: replayVersion,
            userVersion: userVersion, redirectPool: redirectPool)
    }

    package init(
        objectNameBytes: ByteBuffer, pool: Int64, pgSeed: UInt32, flags: OSDRequestFlags, result: Int32, osdmapEpoch: UInt32,
        ops: SmallArray<OSDOpReplyHeader>, retryAttempt: Int32, replayVersion: EVersion, userVersion: UInt64, redirectPool: Int64?
    ) {
        self.objectNameBytes = objectNameBytes
        self.pool = pool
        self.pgSeed = pgSeed
        self.flags = flags
        self.result = result
        self.osdmapEpoch = osdmapEpoch
        self.ops = ops
        self.retryAttempt = retryAttempt
        self.replayVersion = replayVersion
        self.userVersion = userVersion
        self.redirectPool = redirectPool
    }

    /// The object's name (invalid UTF-8 repaired).
    package var objectName: String { String(buffer: objectNameBytes) }

    /// Per-op return values (0 or negative errno, or a class method's return).
    package var returnValues: [Int32] { ops.map(\.returnValue) }

    /// The first failing op's return value, or 0 (what librados reports when the request
    /// as a whole succeeded), without making an array.
    package var firstFailingReturnValue: Int32 {
        for op in ops where op.returnValue < 0 { return op.returnValue }
        return 0
    }

    /// Decodes a reply front of message `version`. Trailing fields newer than we know are ignored.
    package static func decode(front: ByteBuffer, version: UInt16) throws -> MOSDOpReply {
        var buffer = front
        do {
            let objectName = try buffer.readDencBytes(limit: DencLimit.string)
            let pg = try buffer.readDencPlacementGroupID()
            let flags = OSDRequestFlags(rawValue: UInt32(truncatingIfNeeded: try buffer.readDencU64()))
            let result = try buffer.readDencI32()
            _ = try buffer.readDencEVersion()  // legacy "bad" replay version
            let epoch = try buffer.readDencU32()
            let opCount = try buffer.readDencLength(limit: maximumOps, minimumUnitSize: OSDOp.encodedSize)
            var ops = SmallArray<OSDOpReplyHeader>()
            ops.reserveCapacity(opCount)
            for _ in 0..<opCount { ops.append(try OSDOpReplyHeader.read(from: &buffer)) }
            let retryAttempt = try buffer.readDencI32()
            for index in 0..<opCount { ops[index].returnValue = try buffer.readDencI32() }
            var replayVersion = EVersion.zero
            var userVersion: UInt64 = 0
            if version >= 5 {
                replayVersion = try buffer.readDencEVersion()
                userVersion = try buffer.readDencU64()
            }
            var redirectPool: Int64?
            let hasRedirect = version >= 7 ? try buffer.readDencBool() : version == 6
            if hasRedirect {
                let target = try buffer.readDencVersioned("request_redirect_t", understands: 1) { body, _ in
                    let locator = try body.readDencObjectLocator()
                    _ = try body.readDencString()  // redirect object name
                    _ = try body.readDencBytes()  // osd instructions
                    return locator.pool
                }
                if target >= 0 { redirectPool = target }
            }
            return MOSDOpReply(
                objectNameBytes: objectName, pool: pg.pool, pgSeed: pg.seed, flags: flags, result: result,
                osdmapEpoch: epoch, ops: ops, retryAttempt: retryAttempt,
                replayVersion: replayVersion, userVersion: userVersion, redirectPool: redirectPool
            )
        } catch let error as DencError {
            throw error.within("MOSDOpReply")
        }
    }

    /// Splits the data segment into each op's output (slices, no copy). Fails unless the
    /// ops' output lengths add up to the segment's length exactly.
    package func outputs(from data: ByteBuffer) throws -> SmallArray<ByteBuffer> {
        var data = data
        var result = SmallArray<ByteBuffer>()
        result.reserveCapacity(ops.count)
        for op in ops {
            guard let slice = data.readSlice(length: Int(op.outputLength)) else {
                throw DencError(.truncated(needed: Int(op.outputLength), available: data.readableBytes), at: data, context: ["MOSDOpReply", "data"])
            }
            result.append(slice)
        }
        guard data.readableBytes == 0 else {
            throw DencError(.trailingBytes(data.readableBytes), at: data, context: ["MOSDOpReply", "data"])
        }
        return result
    }
}
