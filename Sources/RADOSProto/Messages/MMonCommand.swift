import NIOCore

/// `MMonCommand` (type 50): a JSON command for the monitor (what `ceph …` sends).
///
/// Source: ceph/ceph `src/messages/MMonCommand.h`; kernel `net/ceph/mon_client.c`
/// (`do_mon_command`). Front: paxos header (u64 version 0, s16 -1, u64 0), the raw
/// 16-byte cluster fsid, vector<string> command; the data segment carries the input.
/// The monitor drops commands whose fsid is not its own.
package struct MMonCommand: Sendable {
    package var tid: UInt64
    package var fsid: [UInt8]
    package var command: [String]
    package var input: ByteBuffer

    package init(tid: UInt64, fsid: [UInt8], command: [String], input: ByteBuffer = ByteBuffer()) {
        self.tid = tid
        self.fsid = fsid
        self.command = command
        self.input = input
    }

    package func encode() -> Message {
        var front = ByteBuffer()
        front.writeDencU64(0)
        front.writeDencI16(-1)
        front.writeDencU64(0)
        front.writeBytes(fsid.count == 16 ? fsid : [UInt8](repeating: 0, count: 16))
        front.writeDencArray(command) { $0.writeDencString($1) }
        return Message(type: MessageType.monCommand, version: 1, tid: tid, front: front, data: input)
    }
}
