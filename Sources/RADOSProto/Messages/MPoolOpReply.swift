import NIOCore

/// `MPoolOpReply` (type 48): the monitor's answer to an ``MPoolOp`` with the same tid.
///
/// Source: ceph/ceph `src/messages/MPoolOpReply.h` (version 1). Front: paxos header
/// (u64 version, s16, u64), raw 16-byte fsid, u32 reply code (a negative errno as
/// two's complement), u32 OSDMap epoch that holds the change, bool, and when true a
/// bufferlist of response data (for `POOL_OP_CREATE_UNMANAGED_SNAP`: the new snap id,
/// a u64; `librados::IoCtxImpl::selfmanaged_snap_create`).
package struct MPoolOpReply: Sendable, Hashable {
    package var tid: UInt64
    package var fsid: [UInt8]
    /// 0 or a negative errno.
    package var result: Int32
    /// The OSDMap epoch from which the change is in force.
    package var epoch: UInt32
    package var responseData: ByteBuffer?
    /// The monitor's last committed paxos version (the header's `version`).
    package var paxosVersion: UInt64

    package init(tid: UInt64, fsid: [UInt8], result: Int32, epoch: UInt32, responseData: ByteBuffer? = nil, paxosVersion: UInt64 = 0) {
        self.paxosVersion = paxosVersion
        self.tid = tid
        self.fsid = fsid
        self.result = result
        self.epoch = epoch
        self.responseData = responseData
    }

    /// Longest response data accepted: the only one used is an 8-byte snap id.
    static let maximumResponseData = 1 << 16

    package static func decode(_ message: Message) throws -> MPoolOpReply {
        try message.front.decodeExactly("MPoolOpReply") { b in
            let paxosVersion = try b.readDencU64()
            _ = try b.readDencI16()
            _ = try b.readDencU64()
            let fsid = Array(try b.readDencFixed(16).readableBytesView)
            let result = try b.readDencI32()
            let epoch = try b.readDencU32()
            let data = try b.readDencBool() ? try b.readDencBytes(limit: maximumResponseData) : nil
            return MPoolOpReply(tid: message.header.tid, fsid: fsid, result: result, epoch: epoch, responseData: data, paxosVersion: paxosVersion)
        }
    }

    package func encode() -> Message {
        var front = ByteBuffer()
        front.writeDencU64(paxosVersion)
        front.writeDencI16(-1)
        front.writeDencU64(0)
        front.writeBytes(fsid.count == 16 ? fsid : [UInt8](repeating: 0, count: 16))
        front.writeDencI32(result)
        front.writeDencU32(epoch)
        if let responseData, responseData.readableBytes > 0 {
            front.writeDencBool(true)
            front.writeDencBytes(responseData)
        } else {
            front.writeDencBool(false)
        }
        return Message(type: MessageType.poolOpReply, version: 1, tid: tid, front: front)
    }

    /// The snap id a `POOL_OP_CREATE_UNMANAGED_SNAP` reply carries.
    package func createdSnapID() throws -> UInt64 {
        guard let responseData else {
            throw DencError(.invalidValue("pool op reply without a snap id"), at: ByteBuffer(), context: ["MPoolOpReply"])
        }
        return try responseData.decodeExactly("snapid") { try $0.readDencU64() }
    }
}
