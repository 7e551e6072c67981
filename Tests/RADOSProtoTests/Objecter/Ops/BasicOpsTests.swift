import NIOCore
import Testing
@testable import RADOSProto

@Suite struct ObjectStatTests {
    static let fixture: [UInt8] =
        [0x00, 0x10, 0, 0, 0, 0, 0, 0]  // size 4096
        + [0x00, 0x00, 0x00, 0x65]  // mtime seconds 0x65000000
        + [0x15, 0xCD, 0x5B, 0x07]  // mtime nanoseconds 123456789

    @Test func decodesSizeAndMtime() throws {
        let stat = try ObjectStat.decode(ByteBuffer(bytes: Self.fixture))
        #expect(stat == ObjectStat(size: 4096, mtime: UTime(rawSeconds: 0x6500_0000, nanoseconds: 123_456_789)))
        var out = ByteBuffer()
        stat.encode(into: &out)
        #expect(out.bytes == Self.fixture)
    }

    @Test func truncationAndTrailingBytesThrow() {
        expectEveryTruncationThrows(Self.fixture) { _ = try ObjectStat.decode($0) }
        #expect(throws: DencError.self) { try ObjectStat.decode(ByteBuffer(bytes: Self.fixture + [0])) }
    }

    @Test func statOpHasNoInput() {
        let bytes = wireBytes(.stat)
        #expect(bytes.prefix(2) == [0x02, 0x12])  // CEPH_OSD_OP_STAT 0x1202
        #expect(bytes.suffix(4) == [0, 0, 0, 0])  // payload_len 0
    }
}

@Suite struct ObjectXattrsTests {
    static let fixture: [UInt8] =
        le(UInt32(2))  // two attributes
        + dencString("a") + le(UInt32(3)) + [1, 2, 3]  // "a" → 01 02 03
        + dencString("lock") + le(UInt32(0))  // "lock" → empty

    @Test func decodesTheMap() throws {
        let attributes = try ObjectXattrs.decode(ByteBuffer(bytes: Self.fixture))
        #expect(attributes.count == 2)
        #expect(attributes["a"]?.bytes == [1, 2, 3])
        #expect(attributes["lock"]?.readableBytes == 0)
        var out = ByteBuffer()
        ObjectXattrs.encode(attributes, into: &out)
        #expect(out.bytes == Self.fixture)
    }

    @Test func emptyMapAndBadInputs() throws {
        #expect(try ObjectXattrs.decode(ByteBuffer(bytes: [0, 0, 0, 0])).isEmpty)
        expectEveryTruncationThrows(Self.fixture) { _ = try ObjectXattrs.decode($0) }
        #expect(throws: DencError.self) { try ObjectXattrs.decode(ByteBuffer(bytes: Self.fixture + [9])) }
        // A count that could not fit in the bytes left is refused before allocating.
        #expect(throws: DencError.self) { try ObjectXattrs.decode(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0, 0])) }
    }
}

@Suite struct CompareXattrTests {
    @Test func bytesComparisonLayout() {
        let op = OSDOp.compareXattr("ver", .equal, .bytes(ByteBuffer(string: "42")))
        var expected: [UInt8] = []
        expected += [0x03, 0x13]  // CEPH_OSD_OP_CMPXATTR 0x1303
        expected += [0, 0, 0, 0]  // op flags
        expected += [3, 0, 0, 0]  // xattr.name_len 3
        expected += [2, 0, 0, 0]  // xattr.value_len 2
        expected += [1]  // cmp_op EQ
        expected += [1]  // cmp_mode STRING
        expected += [UInt8](repeating: 0, count: 18)  // rest of the union
        expected += [5, 0, 0, 0]  // payload_len: name + value
        #expect(wireBytes(op) == expected)
        #expect(op.input.bytes == Array("ver42".utf8))
    }

    @Test func u64ComparisonSendsEightBytes() {
        let op = OSDOp.compareXattr("n", .greaterThanOrEqual, .u64(7))
        let bytes = wireBytes(op)
        #expect(bytes[6..<16] == [1, 0, 0, 0, 8, 0, 0, 0, 4, 2])  // name_len 1, value_len 8, GTE, MODE_U64
        #expect(op.input.bytes == [0x6E] + le(UInt64(7)))
    }
}

@Suite struct AssertVersionAndAllocHintTests {
    @Test func assertVersionLayout() {
        var expected: [UInt8] = [0x08, 0x12, 0, 0, 0, 0]  // CEPH_OSD_OP_ASSERT_VER 0x1208, flags
        expected += [UInt8](repeating: 0, count: 8)  // assert_ver.unused
        expected += le(UInt64(0x1234))  // assert_ver.ver
        expected += [UInt8](repeating: 0, count: 12)  // rest of the union
        expected += [0, 0, 0, 0]  // no input
        #expect(wireBytes(.assertVersion(0x1234)) == expected)
    }

    @Test func allocHintLayoutIsFailOK() {
        let op = OSDOp.setAllocHint(expectedObjectSize: 4 << 20, expectedWriteSize: 4096, flags: [.sequentialWrite, .compressible])
        var expected: [UInt8] = [0x23, 0x22]  // CEPH_OSD_OP_SETALLOCHINT 0x2223
        expected += [2, 0, 0, 0]  // CEPH_OSD_OP_FLAG_FAILOK
        expected += le(UInt64(4 << 20))  // expected_object_size
        expected += le(UInt64(4096))  // expected_write_size
        expected += le(UInt32(0x101))  // flags: SEQUENTIAL_WRITE | COMPRESSIBLE
        expected += [UInt8](repeating: 0, count: 8)  // rest of the union
        expected += [0, 0, 0, 0]  // no input
        #expect(wireBytes(op) == expected)
    }
}

@Suite struct SparseReadResultTests {
    /// Object range 0..<16 asked for; data at 2..<5 and 10..<12.
    static let fixture: [UInt8] =
        le(UInt32(2))  // two extents
        + le(UInt64(2)) + le(UInt64(3))  // 2, length 3
        + le(UInt64(10)) + le(UInt64(2))  // 10, length 2
        + le(UInt32(5)) + [0xA1, 0xA2, 0xA3, 0xB1, 0xB2]  // data, 5 bytes

    @Test func decodesExtentsAndData() throws {
        let result = try SparseReadResult.decode(ByteBuffer(bytes: Self.fixture))
        #expect(result.extents == [.init(offset: 2, length: 3), .init(offset: 10, length: 2)])
        #expect(result.data.bytes == [0xA1, 0xA2, 0xA3, 0xB1, 0xB2])
        var out = ByteBuffer()
        result.encode(into: &out)
        #expect(out.bytes == Self.fixture)
    }

    @Test func denseFillsHolesWithZeros() throws {
        let result = try SparseReadResult.decode(ByteBuffer(bytes: Self.fixture))
        #expect(result.dense(offset: 0, length: 14).bytes == [0, 0, 0xA1, 0xA2, 0xA3, 0, 0, 0, 0, 0, 0xB1, 0xB2, 0, 0])
        // A window that starts inside the first extent and ends inside the second.
        #expect(result.dense(offset: 3, length: 8).bytes == [0xA2, 0xA3, 0, 0, 0, 0, 0, 0xB1])
        // Past the object's data: all zeros.
        #expect(result.dense(offset: 100, length: 4).bytes == [0, 0, 0, 0])
        #expect(result.dense(offset: 0, length: 0).readableBytes == 0)
    }

    @Test func emptyResultIsAllHoles() throws {
        let result = try SparseReadResult.decode(ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 0]))
        #expect(result.extents.isEmpty)
        #expect(result.dense(offset: 0, length: 3).bytes == [0, 0, 0])
    }

    @Test func inconsistentOutputsThrow() {
        expectEveryTruncationThrows(Self.fixture) { _ = try SparseReadResult.decode($0) }
        #expect(throws: DencError.self) { try SparseReadResult.decode(ByteBuffer(bytes: Self.fixture + [0])) }
        // Data shorter than the extents claim.
        var short = Array(Self.fixture.dropLast(5 + 4))
        short += le(UInt32(4)) + [1, 2, 3, 4]
        #expect(throws: DencError.self) { try SparseReadResult.decode(ByteBuffer(bytes: short)) }
        // Overlapping extents.
        let overlapping = le(UInt32(2)) + le(UInt64(0)) + le(UInt64(4)) + le(UInt64(3)) + le(UInt64(1)) + le(UInt32(5)) + [1, 2, 3, 4, 5]
        #expect(throws: DencError.self) { try SparseReadResult.decode(ByteBuffer(bytes: overlapping)) }
        // An extent that wraps around 2^64.
        let wrapping = le(UInt32(1)) + le(UInt64.max) + le(UInt64(2)) + le(UInt32(2)) + [1, 2]
        #expect(throws: DencError.self) { try SparseReadResult.decode(ByteBuffer(bytes: wrapping)) }
    }
}
