import NIOCore
import Testing
@testable import RADOSProto

@Suite struct MOSDOpTests {
    /// A 5-byte write at offset 4096 to "obj" in pool 2, namespace "ns", PG 2.5.
    @Test func writeRequestFrontMatchesTheV8Layout() {
        var message = MOSDOp(
            pool: 2, pgSeed: 5, objectHash: 0xDEAD_BEEF, osdmapEpoch: 10, flags: [.write, .onDisk],
            objectName: "obj", ops: [.write(offset: 4096, data: ByteBuffer(string: "hello"))], features: 0x0102_0304_0506_0708
        )
        message.namespace = "ns"
        message.mtime = UTime(rawSeconds: 0x6000_0000, nanoseconds: 7)
        message.snapContext = SnapContext(seq: 3, snaps: [3, 1])
        var front = ByteBuffer()
        message.encodeFront(into: &front)

        var expected: [UInt8] = []
        expected += [1, 1, 18, 0, 0, 0]  // spg_t envelope: v1, compat 1, 18 bytes
        expected += [1, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]  // pg_t: v1, pool 2, seed 5, preferred -1
        expected += [0xFF]  // shard: NO_SHARD
        expected += [0xEF, 0xBE, 0xAD, 0xDE]  // raw object hash
        expected += [10, 0, 0, 0]  // osdmap epoch
        expected += [0x24, 0, 0, 0]  // flags: ONDISK | WRITE
        expected += [2, 2, 21, 0, 0, 0] + [UInt8](repeating: 0, count: 21)  // osd_reqid_t, empty
        expected += [UInt8](repeating: 0, count: 24)  // blkin trace
        expected += [0, 0, 0, 0]  // client_inc
        expected += [0, 0, 0, 0x60, 7, 0, 0, 0]  // mtime
        expected += [6, 3, 30, 0, 0, 0]  // object_locator_t envelope: v6, compat 3, 30 bytes
        expected += [2, 0, 0, 0, 0, 0, 0, 0]  // pool 2
        expected += [0xFF, 0xFF, 0xFF, 0xFF]  // preferred -1
        expected += [0, 0, 0, 0]  // key ""
        expected += [2, 0, 0, 0, 0x6E, 0x73]  // namespace "ns"
        expected += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]  // hash -1
        expected += [3, 0, 0, 0, 0x6F, 0x62, 0x6A]  // object name "obj"
        expected += [1, 0]  // one op
        expected += [0x01, 0x22]  // CEPH_OSD_OP_WRITE 0x2201
        expected += [0, 0, 0, 0]  // op flags
        expected += [0, 0x10, 0, 0, 0, 0, 0, 0]  // extent.offset 4096
        expected += [5, 0, 0, 0, 0, 0, 0, 0]  // extent.length 5
        expected += [0, 0, 0, 0, 0, 0, 0, 0]  // truncate_size
        expected += [0, 0, 0, 0]  // truncate_seq
        expected += [5, 0, 0, 0]  // payload_len 5
        expected += [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]  // snapid CEPH_NOSNAP
        expected += [3, 0, 0, 0, 0, 0, 0, 0]  // snap_seq 3
        expected += [2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]  // snaps [3, 1]
        expected += [0, 0, 0, 0]  // retry_attempt
        expected += [8, 7, 6, 5, 4, 3, 2, 1]  // features
        #expect(Array(front.readableBytesView) == expected)
        #expect(message.dataLength == 5)
        #expect(String(buffer: message.data) == "hello")
    }

    @Test func classCallCarriesNamesAndInputAsData() throws {
        let op = try OSDOp.call(class: "rbd", method: "get_size", input: ByteBuffer(bytes: [0xFE, 0xFF]))
        var encoded = ByteBuffer()
        op.encode(into: &encoded)
        #expect(encoded.readableBytes == OSDOp.encodedSize)
        #expect(Array(encoded.readableBytesView.prefix(13)) == [0x01, 0x14, 0, 0, 0, 0, 3, 8, 0, 2, 0, 0, 0])  // CALL 0x1401, flags, class_len 3, method_len 8, argc 0, indata_len 2
        #expect(Array(encoded.readableBytesView.suffix(4)) == [13, 0, 0, 0])  // payload = 3 + 8 + 2
        #expect(String(buffer: op.input).hasPrefix("rbdget_size"))
        #expect(throws: RADOSError.self) { try OSDOp.call(class: "", method: "x", input: ByteBuffer()) }
    }
}

@Suite struct MOSDOpReplyTests {
    /// A v8 reply to a two-op request (stat, then read of 3 bytes), no redirect.
    static func fixture(result: Int32 = 0) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes += [3, 0, 0, 0, 0x6F, 0x62, 0x6A]  // object name "obj"
        bytes += [1, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]  // pg_t 2.5
        bytes += [0x15, 0, 0, 0, 0, 0, 0, 0]  // flags: ACK | ONDISK | READ
        bytes += withUnsafeBytes(of: result.littleEndian, Array.init)  // result
        bytes += [UInt8](repeating: 0, count: 12)  // legacy replay version
        bytes += [11, 0, 0, 0]  // epoch 11
        bytes += [2, 0, 0, 0]  // two ops
        bytes += [0x02, 0x12, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 28) + [16, 0, 0, 0]  // STAT, 16 bytes out
        bytes += [0x01, 0x12, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 28) + [3, 0, 0, 0]  // READ, 3 bytes out
        bytes += [0, 0, 0, 0]  // retry attempt 0
        bytes += [0, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF]  // rvals: 0, -2
        bytes += [9, 0, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0]  // replay version 9'11
        bytes += [42, 0, 0, 0, 0, 0, 0, 0]  // user version 42
        bytes += [0]  // no redirect
        bytes += [UInt8](repeating: 0, count: 24)  // trace (v8)
        return bytes
    }

    @Test func decodesEveryField() throws {
        let reply = try MOSDOpReply.decode(front: ByteBuffer(bytes: Self.fixture()), version: 8)
        #expect(reply.objectName == "obj")
        #expect(reply.pool == 2 && reply.pgSeed == 5)
        #expect(reply.flags == [.ack, .onDisk, .read])
        #expect(reply.result == 0)
        #expect(reply.osdmapEpoch == 11)
        #expect(reply.ops.map(\.code) == [.stat, .read])
        #expect(reply.ops.map(\.outputLength) == [16, 3])
        #expect(reply.returnValues == [0, -2])
        #expect(reply.replayVersion == EVersion(epoch: 11, version: 9))
        #expect(reply.userVersion == 42)
        #expect(reply.redirectPool == nil)
        let outputs = try reply.outputs(from: ByteBuffer(bytes: Array(0..<16) + [0x61, 0x62, 0x63]))
        #expect(outputs.map(\.readableBytes) == [16, 3])
        #expect(String(buffer: outputs[1]) == "abc")
        #expect(throws: DencError.self) { try reply.outputs(from: ByteBuffer(bytes: [1, 2, 3])) }
        #expect(throws: DencError.self) { try reply.outputs(from: ByteBuffer(bytes: [UInt8](repeating: 0, count: 20))) }
    }

    @Test func negativeResultIsKept() throws {
        let reply = try MOSDOpReply.decode(front: ByteBuffer(bytes: Self.fixture(result: -2)), version: 8)
        #expect(reply.result == -2)
    }

    /// Every truncation of the front throws a decode error naming the message; none traps.
    @Test func everyTruncationThrows() {
        let bytes = Self.fixture()
        // Up to the redirect flag every byte is required (the trace after it is optional).
        let required = bytes.count - 24
        for cut in 0..<required {
            #expect(throws: DencError.self) {
                try MOSDOpReply.decode(front: ByteBuffer(bytes: bytes[0..<cut]), version: 8)
            }
        }
    }

    @Test func absurdOpCountIsRefusedBeforeAllocating() {
        var bytes = Self.fixture()
        // The op count sits after name (7), pg_t (17), flags (8), result (4), legacy version (12), epoch (4).
        let countOffset = 7 + 17 + 8 + 4 + 12 + 4
        bytes.replaceSubrange(countOffset..<(countOffset + 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
        #expect(throws: DencError.self) { try MOSDOpReply.decode(front: ByteBuffer(bytes: bytes), version: 8) }
    }
}
