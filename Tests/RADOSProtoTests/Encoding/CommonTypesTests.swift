import NIOCore
import Testing
@testable import RADOSProto

/// Byte fixtures for Ceph's small common types, field by field.
@Suite struct CommonTypesTests {
    // MARK: utime_t

    @Test func utimeFixture() throws {
        let time = UTime(rawSeconds: 0x6553_F100, nanoseconds: 500_000_000)
        let bytes = Denc.bytes { $0.writeDencUTime(time) }
        #expect(bytes == [
            0x00, 0xF1, 0x53, 0x65, // u32 seconds 0x6553F100 (2023-11-14)
            0x00, 0x65, 0xCD, 0x1D, // u32 nanoseconds 500 000 000
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencUTime() } == time)
        #expect(time.description == "1700000000.500000000")
        #expect(time.timeIntervalSince1970 == 1_700_000_000.5)
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencUTime() }
    }

    @Test func utimeKeepsRawNanosecondsButNormalisesWhatWeBuild() throws {
        let odd = try Denc.decode([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]) { try $0.readDencUTime() }
        #expect(odd.nanoseconds == 0xFFFF_FFFF) // kept, so re-encoding gives the same bytes
        #expect(UTime(seconds: 1, nanoseconds: 2_500_000_000) == UTime(rawSeconds: 3, nanoseconds: 500_000_000))
        #expect(UTime(seconds: .max, nanoseconds: 1_000_000_000) == UTime(rawSeconds: .max, nanoseconds: 999_999_999))
        #expect(UTime(rawSeconds: 1, nanoseconds: 5) < UTime(rawSeconds: 1, nanoseconds: 6))
        #expect(UTime(rawSeconds: 1, nanoseconds: 7).description == "1.000000007")
    }

    // MARK: uuid_d and ceph_fsid

    @Test func uuidFixtureAndText() throws {
        let text = "0123abcd-4567-89ef-fedc-ba9876543210"
        let uuid = try #require(CephUUID(text))
        let bytes = Denc.bytes { $0.writeDencUUID(uuid) }
        #expect(bytes == [
            0x01, 0x23, 0xAB, 0xCD, // time_low, bytes in text order (no byte swapping)
            0x45, 0x67,             // time_mid
            0x89, 0xEF,             // time_hi_and_version
            0xFE, 0xDC,             // clock_seq
            0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, // node
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencUUID() } == uuid)
        #expect(uuid.description == text)
        #expect(uuid.bytes == bytes)
        #expect(CephUUID(bytes: bytes) == uuid)
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencUUID() }
    }

    @Test func uuidParsingFollowsBoost() {
        let canonical = CephUUID("0123abcd-4567-89ef-fedc-ba9876543210")
        #expect(canonical != nil)
        #expect(CephUUID("0123ABCD-4567-89EF-FEDC-BA9876543210") == canonical)
        #expect(CephUUID("0123abcd456789effedcba9876543210") == canonical)
        #expect(CephUUID("{0123abcd-4567-89ef-fedc-ba9876543210}") == canonical)
        #expect(CephUUID("{0123abcd456789effedcba9876543210}") == canonical)
        #expect(CephUUID("") == nil)
        #expect(CephUUID("{}") == nil)
        #expect(CephUUID("{0123abcd-4567-89ef-fedc-ba9876543210") == nil) // unbalanced brace
        #expect(CephUUID("0123abcd-4567-89ef-fedc-ba987654321") == nil)   // too short
        #expect(CephUUID("0123abcd-4567-89ef-fedc-ba98765432100") == nil) // too long
        #expect(CephUUID("0123abcd-456789ef-fedc-ba9876543210-") == nil)  // hyphen misplaced
        #expect(CephUUID("0123abcg-4567-89ef-fedc-ba9876543210") == nil)  // not hex
        #expect(CephUUID("0123abcd-4567-89ef-fedc-ba98765432é") == nil)
        #expect(CephUUID.zero.description == "00000000-0000-0000-0000-000000000000")
        #expect(CephUUID.zero.isZero)
        #expect(CephUUID(bytes: [1, 2, 3]) == nil)
    }

    @Test func uuidOrderIsTextOrder() throws {
        let a = try #require(CephUUID("00000000-0000-0000-0000-0000000000ff"))
        let b = try #require(CephUUID("00000000-0000-0000-0000-000000000100"))
        let c = try #require(CephUUID("10000000-0000-0000-0000-000000000000"))
        #expect(a < b && b < c)
        #expect([c, a, b].sorted().map(\.description) == [a, b, c].map(\.description).sorted())
    }

    @Test func fsidIsTheSixteenRawBytes() throws {
        let fsid = try #require(CephFSID("a7f64266-0894-4f1e-a635-d0aeaca0e993"))
        let bytes = Denc.bytes { $0.writeDencFSID(fsid) }
        #expect(bytes == [0xA7, 0xF6, 0x42, 0x66, 0x08, 0x94, 0x4F, 0x1E, 0xA6, 0x35, 0xD0, 0xAE, 0xAC, 0xA0, 0xE9, 0x93])
        #expect(try Denc.decode(bytes) { try $0.readDencFSID() } == fsid)
        #expect(fsid.description == "a7f64266-0894-4f1e-a635-d0aeaca0e993")
        var short = ByteBuffer(bytes: bytes.prefix(15))
        #expect(Denc.error { _ = try short.readDencFSID() }?.context == ["ceph_fsid"])
    }

    // MARK: entity types and names

    @Test func entityTypeConstants() {
        #expect(EntityType.mon.rawValue == 1)
        #expect(EntityType.mds.rawValue == 2)
        #expect(EntityType.osd.rawValue == 4)
        #expect(EntityType.client.rawValue == 8)
        #expect(EntityType.mgr.rawValue == 16)
        #expect(EntityType.auth.rawValue == 32)
        #expect(EntityType.any.rawValue == 0xFF)
        #expect(EntityType(name: "client") == .client)
        #expect(EntityType(name: "bogus") == nil)
        #expect(EntityType(rawValue: 0x40).name == "unknown")
    }

    @Test func numericEntityNameFixture() throws {
        let name = NumericEntityName.client(4123)
        let bytes = Denc.bytes { $0.writeDencNumericEntityName(name) }
        #expect(bytes == [
            0x08,                                           // u8 type: client
            0x1B, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // i64 number 4123
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencNumericEntityName() } == name)
        #expect(name.description == "client.4123")
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencNumericEntityName() }
    }

    @Test func numericEntityNameNewAndText() throws {
        let new = NumericEntityName(type: .client, number: NumericEntityName.new)
        #expect(Denc.bytes { $0.writeDencNumericEntityName(new) } == [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(new.description == "client.?")
        #expect(NumericEntityName("osd.3") == .osd(3))
        #expect(NumericEntityName("mon.0") == .mon(0))
        #expect(NumericEntityName("osd.") == nil)
        #expect(NumericEntityName("osd. 3") == nil)
        #expect(NumericEntityName("osd.3x") == nil)
        #expect(NumericEntityName("osd.+3") == .osd(3))   // strtoll takes a sign
        #expect(NumericEntityName("client.-1")?.number == NumericEntityName.new)
        #expect(NumericEntityName("auth.1") == nil) // entity_name_t::parse knows five types
        #expect(NumericEntityName("client") == nil)
        // An unknown type from the wire is kept, not refused.
        let odd = try Denc.decode([0x40, 1, 0, 0, 0, 0, 0, 0, 0]) { try $0.readDencNumericEntityName() }
        #expect(odd.type.rawValue == 0x40)
        #expect(NumericEntityName.osd(1) < NumericEntityName.client(0)) // type first
    }

    @Test func entityNameFixture() throws {
        let name = EntityName.client("admin")
        let bytes = Denc.bytes { $0.writeDencEntityName(name) }
        #expect(bytes == [
            0x08, 0x00, 0x00, 0x00,       // u32 type: client
            0x05, 0x00, 0x00, 0x00,       // id length 5
            0x61, 0x64, 0x6D, 0x69, 0x6E, // "admin"
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencEntityName() } == name)
        #expect(name.description == "client.admin")
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencEntityName() }
    }

    @Test func entityNameTextAndBadType() {
        #expect(EntityName("client.admin") == .client("admin"))
        #expect(EntityName("osd.0") == EntityName(type: .osd, id: "0"))
        #expect(EntityName("client.rbd.user")?.id == "rbd.user") // split at the first dot
        #expect(EntityName("client.")?.id == "")
        #expect(EntityName("admin") == nil)
        #expect(EntityName("root.admin") == nil)
        #expect(EntityName("any.x") == nil) // from_str refuses the wildcard type
        #expect(EntityName("auth.x")?.type == .auth)
        var buffer = ByteBuffer(bytes: [0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]) // type 256, id ""
        let error = Denc.error { _ = try buffer.readDencEntityName() }
        #expect(error?.kind == .invalidValue("entity type 256 is not a Ceph entity type"))
        #expect(error?.context == ["EntityName"])
        #expect(buffer.readerIndex == 0)
    }

    // MARK: eversion_t

    @Test func eversionFixture() throws {
        let value = EVersion(epoch: 5, version: 12)
        let bytes = Denc.bytes { $0.writeDencEVersion(value) }
        #expect(bytes == [
            0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // u64 version 12
            0x05, 0x00, 0x00, 0x00,                         // u32 epoch 5
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencEVersion() } == value)
        #expect(value.description == "5'12")
        #expect(EVersion(epoch: 4, version: 99) < EVersion(epoch: 5, version: 1))
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencEVersion() }
    }

    // MARK: SnapContext

    @Test func snapContextFixture() throws {
        let context = SnapContext(seq: 20, snaps: [18, 3])
        let bytes = Denc.bytes { $0.writeDencSnapContext(context) }
        #expect(bytes == [
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // u64 seq 20
            0x02, 0x00, 0x00, 0x00,                         // snap count 2
            0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // snap 18
            0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // snap 3
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencSnapContext() } == context)
        #expect(context.description == "20=[18,3]")
        #expect(Denc.bytes { $0.writeDencSnapContext(.empty) } == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencSnapContext() }
    }

    @Test func snapContextValidity() {
        #expect(SnapContext.empty.isValid)
        #expect(SnapContext(seq: 10, snaps: []).isValid)
        #expect(SnapContext(seq: 20, snaps: [18, 3, 1]).isValid)
        #expect(SnapContext(seq: 18, snaps: [18]).isValid)               // seq may equal the newest
        #expect(!SnapContext(seq: 17, snaps: [18]).isValid)              // a snap newer than seq
        #expect(!SnapContext(seq: 20, snaps: [3, 18]).isValid)           // ascending
        #expect(!SnapContext(seq: 20, snaps: [18, 18]).isValid)          // repeated
        #expect(!SnapContext(seq: 20, snaps: [18, 0, 0]).isValid)
        #expect(SnapContext(seq: SnapContext.maxSnapID, snaps: []).isValid)
        #expect(!SnapContext(seq: .max, snaps: []).isValid)              // CEPH_SNAPDIR is not a snap
        #expect(!SnapContext(seq: .max - 1, snaps: []).isValid)          // nor is CEPH_NOSNAP
    }

    @Test func snapContextHostileCount() {
        var buffer = ByteBuffer(bytes: [
            0x01, 0, 0, 0, 0, 0, 0, 0, // seq 1
            0xFF, 0xFF, 0x00, 0x00,    // 65535 snaps claimed, none present
        ])
        let error = Denc.error { _ = try buffer.readDencSnapContext() }
        #expect(error?.kind == .truncated(needed: 65535 * 8, available: 0))
        #expect(error?.context == ["SnapContext"])
        #expect(error?.offset == 8)
        #expect(buffer.readerIndex == 0)
    }

    // MARK: pg_t and spg_t

    @Test func pgFixture() throws {
        let pg = PlacementGroupID(pool: 3, seed: 0x7F)
        let bytes = Denc.bytes { $0.writeDencPlacementGroupID(pg) }
        #expect(bytes == [
            0x01,                                           // u8 version 1
            0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // u64 pool 3
            0x7F, 0x00, 0x00, 0x00,                         // u32 seed 0x7f
            0xFF, 0xFF, 0xFF, 0xFF,                         // i32 preferred, always -1
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencPlacementGroupID() } == pg)
        #expect(pg.description == "3.7f")
        #expect(PlacementGroupID("3.7f") == pg)
        #expect(PlacementGroupID("3.") == nil)
        #expect(PlacementGroupID("x.1") == nil)
        #expect(PlacementGroupID(pool: 1, seed: 9) < PlacementGroupID(pool: 2, seed: 0))
        // The preferred field is ignored when decoding, as Ceph does.
        var other = bytes
        other[13] = 0x05
        #expect(try Denc.decode(other) { try $0.readDencPlacementGroupID() } == pg)
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencPlacementGroupID() }
    }

    @Test func spgFixture() throws {
        let spg = ShardedPlacementGroupID(pg: PlacementGroupID(pool: 1, seed: 2), shard: 3)
        let bytes = Denc.bytes { $0.writeDencShardedPlacementGroupID(spg) }
        #expect(bytes == [
            0x01,                                           // struct_v 1
            0x01,                                           // struct_compat 1
            0x12, 0x00, 0x00, 0x00,                         // struct_len 18
            0x01,                                           //   pg_t version 1
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   pool 1
            0x02, 0x00, 0x00, 0x00,                         //   seed 2
            0xFF, 0xFF, 0xFF, 0xFF,                         //   preferred -1
            0x03,                                           //   i8 shard 3
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencShardedPlacementGroupID() } == spg)
        #expect(spg.description == "1.2s3")
        #expect(ShardedPlacementGroupID(pg: PlacementGroupID(pool: 1, seed: 0xA)).description == "1.a")
        Denc.expectEveryTruncationThrows(bytes) { try $0.readDencShardedPlacementGroupID() }
    }

    @Test func spgFromANewerEncoderSkipsTheTail() throws {
        var bytes: [UInt8] = [0x02, 0x01, 0x14, 0x00, 0x00, 0x00] // v2, compat 1, len 20
        bytes += [0x01, 9, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF] // pg_t 9.4
        bytes += [0xFF]       // shard: none
        bytes += [0xAB, 0xCD] // a field added in v2
        let spg = try Denc.decode(bytes) { try $0.readDencShardedPlacementGroupID() }
        #expect(spg == ShardedPlacementGroupID(pg: PlacementGroupID(pool: 9, seed: 4)))
        var tooNew = bytes
        tooNew[1] = 2 // compat 2
        #expect(Denc.errorKind { _ = try Denc.decode(tooNew) { try $0.readDencShardedPlacementGroupID() } }
            == .incompatibleVersion(compat: 2, supported: 1))
    }
}
