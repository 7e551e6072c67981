import NIOCore
import Testing
@testable import RADOSProto

@Suite struct ObjectSnapListTests {
    static let cloneOne: [UInt8] = {
        var fields: [UInt8] = le(UInt64(4))  // clone id 4
        fields += le(UInt32(2)) + le(UInt64(3)) + le(UInt64(4))  // snaps [3, 4]
        fields += le(UInt32(1)) + le(UInt64(0)) + le(UInt64(4096))  // overlap 0~4096
        fields += le(UInt64(8192))  // size
        return [1, 1] + le(UInt32(fields.count)) + fields  // clone_info v1
    }()

    static let head: [UInt8] = {
        let fields = le(UInt64.max - 1) + le(UInt32(0)) + le(UInt32(0)) + le(UInt64(12288))  // head, no snaps, no overlaps, size
        return [1, 1] + le(UInt32(fields.count)) + fields
    }()

    static let fixture: [UInt8] = {
        let body = le(UInt32(2)) + cloneOne + head + le(UInt64(5))  // two clones, seq 5
        return [2, 1] + le(UInt32(body.count)) + body  // obj_list_snap_response_t v2, compat 1
    }()

    @Test func decodesClones() throws {
        let list = try ObjectSnapList.decode(ByteBuffer(bytes: Self.fixture))
        #expect(list.seq == 5)
        #expect(list.clones == [
            .init(cloneID: 4, snaps: [3, 4], overlaps: [.init(offset: 0, length: 4096)], size: 8192),
            .init(cloneID: ObjectSnapList.noSnap, snaps: [], overlaps: [], size: 12288),
        ])
        var out = ByteBuffer()
        list.encode(into: &out)
        #expect(out.bytes == Self.fixture)
        #expect(wireBytes(.listSnaps).prefix(2) == [0x0A, 0x12])  // CEPH_OSD_OP_LIST_SNAPS 0x120A
    }

    @Test func versionOneHasNoSeq() throws {
        let body = le(UInt32(1)) + Self.head
        let v1 = [1, 1] + le(UInt32(body.count)) + body
        let list = try ObjectSnapList.decode(ByteBuffer(bytes: v1))
        #expect(list.seq == ObjectSnapList.noSnap && list.clones.count == 1)
    }

    @Test func truncationThrows() {
        expectEveryTruncationThrows(Self.fixture) { _ = try ObjectSnapList.decode($0) }
        #expect(throws: DencError.self) { try ObjectSnapList.decode(ByteBuffer(bytes: Self.fixture + [0])) }
    }
}
