import NIOCore
import Testing
@testable import RADOSProto

/// Random values round trip through encode and decode (seeded, so failures reproduce).
@Suite struct DencPropertyTests {
    static let rounds = 300

    @Test(arguments: [UInt64(1), 0xC0FFEE, 0x5EED_5EED])
    func commonTypesRoundTrip(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        for _ in 0..<Self.rounds {
            let time = UTime(rawSeconds: .random(in: 0...UInt32.max, using: &g), nanoseconds: .random(in: 0...UInt32.max, using: &g))
            let uuid = CephUUID(high: g.next(), low: g.next())
            let numeric = NumericEntityName(type: EntityType(rawValue: .random(in: 0...255, using: &g)), number: Int64(bitPattern: g.next()))
            let name = EntityName(type: EntityType.known.filter { $0 != .any }.randomElement(using: &g) ?? .client, id: Self.randomString(using: &g))
            let eversion = EVersion(epoch: .random(in: 0...UInt32.max, using: &g), version: g.next())
            let snaps = (0..<Int.random(in: 0..<6, using: &g)).map { _ in g.next() }
            let snapContext = SnapContext(seq: g.next(), snaps: snaps)
            let spg = ShardedPlacementGroupID(
                pg: PlacementGroupID(pool: Int64(bitPattern: g.next()), seed: .random(in: 0...UInt32.max, using: &g)),
                shard: .random(in: -128...127, using: &g))

            let bytes = Denc.bytes {
                $0.writeDencUTime(time)
                $0.writeDencUUID(uuid)
                $0.writeDencFSID(CephFSID(uuid))
                $0.writeDencNumericEntityName(numeric)
                $0.writeDencEntityName(name)
                $0.writeDencEVersion(eversion)
                $0.writeDencSnapContext(snapContext)
                $0.writeDencShardedPlacementGroupID(spg)
            }
            var buffer = ByteBuffer(bytes: bytes)
            #expect(try buffer.readDencUTime() == time)
            #expect(try buffer.readDencUUID() == uuid)
            #expect(try buffer.readDencFSID() == CephFSID(uuid))
            #expect(try buffer.readDencNumericEntityName() == numeric)
            #expect(try buffer.readDencEntityName() == name)
            #expect(try buffer.readDencEVersion() == eversion)
            #expect(try buffer.readDencSnapContext() == snapContext)
            #expect(try buffer.readDencShardedPlacementGroupID() == spg)
            #expect(buffer.readableBytes == 0)

            // Text forms round trip too.
            #expect(CephUUID(uuid.description) == uuid)
            #expect(EntityName(name.description) == name)
            #expect(PlacementGroupID(spg.pg.description) == spg.pg)
        }
    }

    @Test func containersRoundTrip() throws {
        var g = SeededGenerator(seed: 42)
        for _ in 0..<Self.rounds {
            let array = (0..<Int.random(in: 0..<10, using: &g)).map { _ in Int32(truncatingIfNeeded: g.next()) }
            var map: [String: UInt64] = [:]
            for _ in 0..<Int.random(in: 0..<6, using: &g) { map[Self.randomString(using: &g)] = g.next() }
            let optional: UInt16? = Bool.random(using: &g) ? UInt16.random(in: 0...UInt16.max, using: &g) : nil
            let blob = (0..<Int.random(in: 0..<40, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            let version = UInt8.random(in: 1...255, using: &g)

            let bytes = Denc.bytes {
                $0.writeDencVersioned(version: version, compat: 1) { body in
                    body.writeDencArray(array) { $0.writeDencI32($1) }
                    body.writeDencMap(map, key: { $0.writeDencString($1) }, value: { $0.writeDencU64($1) })
                    body.writeDencOptional(optional) { $0.writeDencU16($1) }
                    body.writeDencBytes(blob)
                }
            }
            let decoded = try Denc.decode(bytes) { buffer in
                try buffer.readDencVersioned("random", understands: 1) { body, v in
                    (v,
                     try body.readDencArray(minimumElementSize: 4) { try $0.readDencI32() },
                     try body.readDencMap(minimumEntrySize: 12, key: { try $0.readDencString() }, value: { try $0.readDencU64() }),
                     try body.readDencOptional { try $0.readDencU16() },
                     Array(try body.readDencBytes().readableBytesView))
                }
            }
            #expect(decoded.0 == version)
            #expect(decoded.1 == array)
            #expect(decoded.2 == map)
            #expect(decoded.3 == optional)
            #expect(decoded.4 == blob)
        }
    }

    @Test func everyTruncationOfRandomValuesThrows() {
        var g = SeededGenerator(seed: 7)
        for _ in 0..<20 {
            let context = SnapContext(seq: g.next(), snaps: (0..<Int.random(in: 0..<4, using: &g)).map { _ in g.next() })
            let name = EntityName(type: .client, id: Self.randomString(using: &g))
            let bytes = Denc.bytes {
                $0.writeDencSnapContext(context)
                $0.writeDencEntityName(name)
            }
            Denc.expectEveryTruncationThrows(bytes) { ($0.readerIndex, try $0.readDencSnapContext(), try $0.readDencEntityName()) }
        }
    }

    /// ASCII letters, digits, dots and some multi-byte characters.
    static func randomString(using g: inout SeededGenerator) -> String {
        let alphabet = Array("abcxyzABC019._-éß中")
        return String((0..<Int.random(in: 0..<12, using: &g)).map { _ in alphabet.randomElement(using: &g) ?? "a" })
    }
}
