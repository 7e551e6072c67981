import NIOCore
import Testing
@testable import RADOSProto

/// Byte fixtures for `hobject_t`.
enum HObjectFixtures {
    /// `hobject_t()`: the start of a listing.
    static let min: [UInt8] =
        [4, 3, 33, 0, 0, 0]  // envelope: v4, compat 3, 33 bytes
        + le(UInt32(0))  // key ""
        + le(UInt32(0))  // name ""
        + le(UInt64(0))  // snap 0
        + le(UInt32(0))  // hash 0
        + [0]  // max false
        + le(UInt32(0))  // namespace ""
        + le(Int64.min)  // pool INT64_MIN

    /// Head of "obj" in namespace "ns", pool 3, hash 0xA1B2C3D4.
    static let object: [UInt8] =
        [4, 3, 38, 0, 0, 0]  // envelope: v4, compat 3, 38 bytes
        + dencString("")  // key ""
        + dencString("obj")  // name
        + le(UInt64.max - 1)  // snap CEPH_NOSNAP
        + le(UInt32(0xA1B2_C3D4))  // hash
        + [0]  // max false
        + dencString("ns")  // namespace
        + le(Int64(3))  // pool 3

    /// `hobject_t::get_max()`.
    static let max: [UInt8] =
        [4, 3, 33, 0, 0, 0]  // envelope
        + le(UInt32(0)) + le(UInt32(0))  // key, name ""
        + le(UInt64(0)) + le(UInt32(0))  // snap 0, hash 0
        + [1]  // max true
        + le(UInt32(0))  // namespace ""
        + le(Int64.min)  // pool INT64_MIN
}

/// The cursors and bounds these ops carry are the shared `HObject`; check it against
/// the fixtures used below.
@Suite struct CursorFixtureTests {
    @Test func fixturesAreHObjectEncodings() throws {
        var out = ByteBuffer()
        out.writeDencHObject(.min)
        #expect(out.bytes == HObjectFixtures.min)
        out.clear()
        out.writeDencHObject(HObject(name: "obj", hash: 0xA1B2_C3D4, namespace: "ns", pool: 3))
        #expect(out.bytes == HObjectFixtures.object)
        out.clear()
        out.writeDencHObject(.max)
        #expect(out.bytes == HObjectFixtures.max)
        var buffer = ByteBuffer(bytes: HObjectFixtures.object)
        #expect(try buffer.readDencHObject() == HObject(name: "obj", hash: 0xA1B2_C3D4, namespace: "ns", pool: 3))
    }
}

@Suite struct PGNamespacedListTests {
    @Test func requestLayout() {
        let op = OSDOp.pgNamespacedList(maxEntries: 1024, cursor: .min, startEpoch: 77)
        var expected: [UInt8] = [0x05, 0x15]  // CEPH_OSD_OP_PGNLS 0x1505
        expected += [0, 0, 0, 0]  // op flags
        expected += le(UInt64(1024))  // pgls.count
        expected += le(UInt32(77))  // pgls.start_epoch
        expected += [UInt8](repeating: 0, count: 16)  // rest of the union
        expected += le(UInt32(39))  // payload_len: the cursor
        #expect(wireBytes(op) == expected)
        #expect(op.input.bytes == HObjectFixtures.min)
        #expect(PGNamespacedList.requestFlags.rawValue == 0x0002_0010)  // READ | IGNORE_OVERLAY, as librados sends it
        #expect(PGNamespacedList.allNamespaces.utf8.elementsEqual([1]))
    }

    static let fixture: [UInt8] = {
        var body: [UInt8] = HObjectFixtures.object  // handle: continue at "obj"
        body += le(UInt32(2))  // two entries
        body += dencString("") + dencString("rbd_directory") + dencString("")  // default namespace
        body += dencString("ns") + dencString("a") + dencString("k")  // "a" in "ns", locator "k"
        return [1, 1] + le(UInt32(body.count)) + body  // pg_nls_response_t v1, compat 1
    }()

    @Test func decodesTheResponse() throws {
        let response = try PGNamespacedListResponse.decode(ByteBuffer(bytes: Self.fixture))
        #expect(response.cursor.name == "obj" && response.cursor.pool == 3)
        #expect(!response.isEndOfPool)
        #expect(response.entries == [
            .init(namespace: "", name: "rbd_directory"),
            .init(namespace: "ns", name: "a", locator: "k"),
        ])
        var out = ByteBuffer()
        response.encode(into: &out)
        #expect(out.bytes == Self.fixture)
    }

    @Test func endOfPoolAndLegacyExtraInfo() throws {
        let end = PGNamespacedListResponse(cursor: .max, entries: [])
        var out = ByteBuffer()
        end.encode(into: &out)
        let decoded = try PGNamespacedListResponse.decode(out)
        #expect(decoded.isEndOfPool && decoded.entries.isEmpty)
        // An old OSD's trailing "extra info" bufferlist is accepted and dropped.
        let withExtra = Self.fixture + le(UInt32(2)) + [7, 7]
        #expect(try PGNamespacedListResponse.decode(ByteBuffer(bytes: withExtra)).entries.count == 2)
    }

    @Test func truncationAndJunkThrow() {
        expectEveryTruncationThrows(Self.fixture) { _ = try PGNamespacedListResponse.decode($0) }
        // A trailing byte is neither nothing nor a bufferlist.
        #expect(throws: DencError.self) { try PGNamespacedListResponse.decode(ByteBuffer(bytes: Self.fixture + [0])) }
        // An entry count larger than the body can hold is refused before allocating.
        var huge = Self.fixture
        let countOffset = 6 + HObjectFixtures.object.count
        huge.replaceSubrange(countOffset..<(countOffset + 4), with: le(UInt32(0x0FFF_FFFF)))
        #expect(throws: DencError.self) { try PGNamespacedListResponse.decode(ByteBuffer(bytes: huge)) }
    }
}
