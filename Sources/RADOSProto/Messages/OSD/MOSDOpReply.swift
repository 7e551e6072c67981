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

    package var objectName: String
    package var pool: Int64
    package var pgSeed: UInt32
    package var flags: OSDRequestFlags
    /// 0 or a negative errno for the request as a whole.
    package var result: Int32
    package var osdmapEpoch: UInt32
    package var ops: [OSDOpReplyHeader]
    package var retryAttempt: Int32
    /// Per-op return values (0 or negative errno, or a class method's return).
    package var returnValues: [Int32]
    package var replayVersion: EVersion
    /// The object's version after the request (what `rados_get_last_version` reports).
    package var userVersion: UInt64
    /// The pool the OSD redirects the request to, if it did.
    package var redirectPool: Int64?

    /// Decodes a reply front of message `version`. Trailing fields newer than we know are ignored.
    package static func decode(front: ByteBuffer, version: UInt16) throws -> MOSDOpReply {
        var buffer = front
        do {
            let objectName = try buffer.readDencString()
            let pg = try buffer.readDencPlacementGroupID()
            let flags = OSDRequestFlags(rawValue: UInt32(truncatingIfNeeded: try buffer.readDencU64()))
            let result = try buffer.readDencI32()
            _ = try buffer.readDencEVersion()  // legacy "bad" replay version
            let epoch = try buffer.readDencU32()
            let opCount = try buffer.readDencLength(limit: maximumOps, minimumUnitSize: OSDOp.encodedSize)
            var ops: [OSDOpReplyHeader] = []
            ops.reserveCapacity(opCount)
            for _ in 0..<opCount { ops.append(try OSDOpReplyHeader.read(from: &buffer)) }
            let retryAttempt = try buffer.readDencI32()
            var returnValues: [Int32] = []
            returnValues.reserveCapacity(opCount)
            for _ in 0..<opCount { returnValues.append(try buffer.readDencI32()) }
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
                objectName: objectName, pool: pg.pool, pgSeed: pg.seed, flags: flags, result: result,
                osdmapEpoch: epoch, ops: ops, retryAttempt: retryAttempt, returnValues: returnValues,
                replayVersion: replayVersion, userVersion: userVersion, redirectPool: redirectPool
            )
        } catch let error as DencError {
            throw error.within("MOSDOpReply")
        }
    }

    /// Splits the data segment into each op's output (slices, no copy). Fails unless the
    /// ops' output lengths add up to the segment's length exactly.
    package func outputs(from data: ByteBuffer) throws -> [ByteBuffer] {
        var data = data
        var result: [ByteBuffer] = []
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
