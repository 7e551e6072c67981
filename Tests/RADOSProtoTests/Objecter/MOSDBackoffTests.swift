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

    /// A real exchange with a Pacific OSD (16.2.15, captured with `strace`): with the
    /// pool's min_size raised above its one OSD, PG 1.1f went peered-but-inactive and
    /// the OSD blocked the whole PG for a client's stat; the client acknowledged; once
    /// min_size was lowered the OSD unblocked it (and the cycle repeated at the next epoch).
    @Test func capturedBlockAckUnblock() throws {
        func front(epoch: UInt8, op: UInt8, id: UInt8) -> [UInt8] {
            [1, 1] + le(UInt32(18)) + [1] + le(UInt64(1)) + le(UInt32(0x1F)) + le(Int32(-1))  // spg_t 1.1f
                + [0xFF]  // NO_SHARD
                + [epoch, 0, 0, 0]  // osdmap epoch
                + [op]  // backoff op
                + [id, 0, 0, 0, 0, 0, 0, 0]  // backoff id
                + [4, 3, 33, 0, 0, 0] + le(UInt32(0)) + le(UInt32(0))  // begin: hobject_t v4, key "", name ""
                + le(UInt64(0)) + le(UInt32(0x1F)) + [0] + le(UInt32(0)) + le(Int64(1))  // snap 0, hash 0x1f, pool 1: the PG's start
                + [4, 3, 33, 0, 0, 0] + le(UInt32(0)) + le(UInt32(0))  // end: hobject_t v4
                + le(UInt64(0)) + le(UInt32(0)) + [1] + le(UInt32(0)) + le(Int64.min)  // max: the PG's end in bitwise order
        }
        let captured = CapturedRepliesTests.bytes(
            "0101120000000101000000000000001f000000ffffffffff0f000000010100000000000000040321000000000000000000000000000000000000001f00000000000000000100000000000000040321000000000000000000000000000000000000000000000001000000000000000000000080"
        )
        #expect(front(epoch: 15, op: 1, id: 1) == captured)

        let block = try MOSDBackoff.decode(front: ByteBuffer(bytes: captured), version: 1)
        #expect(block.operation == .block && block.id == 1 && block.osdmapEpoch == 15)
        #expect(block.pg == ShardedPlacementGroupID(pg: PlacementGroupID(pool: 1, seed: 0x1F)))
        #expect(block.begin == HObject(name: "", snap: 0, hash: 0x1F, pool: 1))
        #expect(block.end == .max)

        // librados answered with the same message, op ACK_BLOCK: so does `acknowledgement`.
        var out = ByteBuffer()
        block.acknowledgement.encodeFront(into: &out)
        #expect(out.bytes == front(epoch: 15, op: 2, id: 1))

        let unblock = try MOSDBackoff.decode(front: ByteBuffer(bytes: front(epoch: 16, op: 3, id: 1)), version: 1)
        #expect(unblock.operation == .unblock && unblock.id == 1 && unblock.begin == block.begin && unblock.end == block.end)
    }
}
