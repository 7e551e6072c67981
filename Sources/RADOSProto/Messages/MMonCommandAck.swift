import NIOCore

/// `MMonCommandAck` (type 51): the answer to an ``MMonCommand`` with the same tid.
///
/// Source: ceph/ceph `src/messages/MMonCommandAck.h`. Front: paxos header, s32 result
/// (negative errno), string status, vector<string> the command; the data segment holds
/// the output.
package struct MMonCommandAck: Sendable {
    package var tid: UInt64
    package var result: Int32
    package var status: String
    package var output: ByteBuffer

    package static func decode(_ message: Message) throws -> MMonCommandAck {
        var b = message.front
        _ = try b.readDencU64()
        _ = try b.readDencI16()
        _ = try b.readDencU64()
        let result = try b.readDencI32()
        let status = try b.readDencString(limit: 1 << 20)
        // The echoed command follows; it is not needed.
        return MMonCommandAck(tid: message.header.tid, result: result, status: status, output: message.data)
    }
}
