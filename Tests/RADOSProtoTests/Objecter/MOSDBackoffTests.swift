import NIOCore
import Testing
@testable import RADOSProto

@Suite struct MOSDBackoffTests {
    /// Block id 7 on PG 3.1f (replicated) at epoch 40, from `obj` to the PG's end.
    static let fixture: [UInt8] =
        [1, 1] + le(UInt32(18))  // spg_t envelope: v1, compat 1, 18 bytes
        + [1] + le(UInt64(3)) + le(UInt32(0x1F)) + le(Int32(-1))  // pg_t: v1, pool 3, seed 0x1f, preferred -1
        + [0xFF]  // shard NO_SHARD
        + le(UInt32(40))  // osdmap epoch
        + [1]  // op CEPH_OSD_BACKOFF_OP_BLOCK
        + le(UInt64(7))  // backoff id
        + HObjectFixtures.object  // begin
        + HObjectFixtures.max  // end

    @Test func decodesAndAcknowledges() throws {
        let message = try MOSDBackoff.decode(front: ByteBuffer(bytes: Self.fixture), version: 1)
        #expect(message.pg == ShardedPlacementGroupID(pg: PlacementGroupID(pool: 3, seed: 0x1F), shard: -1))
        #expect(message.osdmapEpoch == 40 && message.operation == .block && message.id == 7)
        #expect(message.begin.name == "obj" && message.end.isMax)
        var out = ByteBuffer()
        message.encodeFront(into: &out)
        #expect(out.bytes == Self.fixture)

        let ack = message.acknowledgement
        out.clear()
        ack.encodeFront(into: &out)
        var expected = Self.fixture
        expected[6 + 18 + 4] = 2  // op CEPH_OSD_BACKOFF_OP_ACK_BLOCK
        #expect(out.bytes == expected)
        #expect(MOSDBackoff.messageType == 61)
        #expect(MOSDBackoff.Operation(rawValue: 3) == .unblock)
    }

    @Test func trailingBytesAndTruncation() {
        #expect(throws: DencError.self) { try MOSDBackoff.decode(front: ByteBuffer(bytes: Self.fixture + [0]), version: 1) }
        #expect(throws: Never.self) { try MOSDBackoff.decode(front: ByteBuffer(bytes: Self.fixture + [0]), version: 2) }
        expectEveryTruncationThrows(Self.fixture) { _ = try MOSDBackoff.decode(front: $0, version: 1) }
    }
}
