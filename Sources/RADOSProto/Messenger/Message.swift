import NIOCore

/// `ceph_msg_header2`, segment 0 of a MESSAGE frame (41 bytes, packed, little-endian).
///
/// Source: kernel `include/linux/ceph/msgr.h`, `net/ceph/messenger_v2.c` (`fill_header2`).
/// u64 seq, u64 tid, u16 type, u16 priority, u16 version, u32 data_pre_padding_len,
/// u16 data_off, u64 ack_seq, u8 flags, u16 compat_version, u16 reserved.
package struct MessageHeader2: Sendable, Equatable {
    package static let length = 41
    package var seq: UInt64 = 0
    package var tid: UInt64 = 0
    package var type: UInt16
    package var priority: UInt16 = 127
    package var version: UInt16
    package var dataPrePaddingLength: UInt32 = 0
    package var dataOffset: UInt16 = 0
    package var ackSeq: UInt64 = 0
    package var flags: UInt8 = 0
    package var compatVersion: UInt16
    package var reserved: UInt16 = 0

    package func encode(into b: inout ByteBuffer) {
        b.writeDencU64(seq)
        b.writeDencU64(tid)
        b.writeDencU16(type)
        b.writeDencU16(priority)
        b.writeDencU16(version)
        b.writeDencU32(dataPrePaddingLength)
        b.writeDencU16(dataOffset)
        b.writeDencU64(ackSeq)
        b.writeDencU8(flags)
        b.writeDencU16(compatVersion)
        b.writeDencU16(reserved)
    }

    package static func decode(_ payload: ByteBuffer) throws -> MessageHeader2 {
        try payload.decodeExactly("ceph_msg_header2") { b in
            var h = MessageHeader2(type: 0, version: 0, compatVersion: 0)
            h.seq = try b.readDencU64()
            h.tid = try b.readDencU64()
            h.type = try b.readDencU16()
            h.priority = try b.readDencU16()
            h.version = try b.readDencU16()
            h.dataPrePaddingLength = try b.readDencU32()
            h.dataOffset = try b.readDencU16()
            h.ackSeq = try b.readDencU64()
            h.flags = try b.readDencU8()
            h.compatVersion = try b.readDencU16()
            h.reserved = try b.readDencU16()
            return h
        }
    }
}

/// A Ceph message: header plus front, middle and data payloads (slices, not copies).
package struct Message: Sendable, Equatable {
    package var header: MessageHeader2
    package var front: ByteBuffer
    package var middle: ByteBuffer
    package var data: ByteBuffer

    package init(type: UInt16, version: UInt16, compatVersion: UInt16? = nil, tid: UInt64 = 0, priority: UInt16 = 127,
                 front: ByteBuffer, middle: ByteBuffer = ByteBuffer(), data: ByteBuffer = ByteBuffer()) {
        self.header = MessageHeader2(tid: tid, type: type, priority: priority, version: version, compatVersion: compatVersion ?? version)
        self.front = front
        self.middle = middle
        self.data = data
    }

    package init(header: MessageHeader2, front: ByteBuffer, middle: ByteBuffer, data: ByteBuffer) {
        self.header = header
        self.front = front
        self.middle = middle
        self.data = data
    }

    package var type: UInt16 { header.type }

    func frame() -> Frame {
        // Sized at creation: `ByteBuffer()` and a later reserve would allocate twice.
        var h = ByteBufferAllocator().buffer(capacity: MessageHeader2.length)
        header.encode(into: &h)
        // Appended, not a literal: a literal's variadic arguments would make an array.
        var segments = SmallArray(h, front)
        segments.append(middle)
        segments.append(data)
        return Frame(tag: .message, segments: segments)
    }
}

/// Message type numbers (`CEPH_MSG_*`, src/include/ceph_fs.h and msgr.h).
package enum MessageType {
    package static let monMap: UInt16 = 4
    package static let monSubscribe: UInt16 = 15
    package static let monSubscribeAck: UInt16 = 16
    package static let auth: UInt16 = 17
    package static let authReply: UInt16 = 18
    package static let monGetVersion: UInt16 = 19
    package static let monGetVersionReply: UInt16 = 20
    package static let osdMap: UInt16 = 41
    package static let monCommand: UInt16 = 50
    package static let monCommandAck: UInt16 = 51
}
