import NIOCore
import Testing
@testable import RADOSProto

@Suite struct OmapBuilderTests {
    @Test func getKeysInputAndExtent() {
        let op = OSDOp.omapGetKeys(startAfter: "k1", maxReturn: 512)
        let expectedInput = dencString("k1") + le(UInt64(512))  // start_after "k1", max_return 512
        #expect(op.input.bytes == expectedInput)
        var expected: [UInt8] = [0x11, 0x12, 0, 0, 0, 0]  // CEPH_OSD_OP_OMAPGETKEYS 0x1211, flags
        expected += le(UInt64(0))  // extent.offset 0
        expected += le(UInt64(14))  // extent.length: the input's length
        expected += [UInt8](repeating: 0, count: 12)  // truncate_size, truncate_seq
        expected += le(UInt32(14))  // payload_len
        #expect(wireBytes(op) == expected)
    }

    @Test func getValuesInputOrder() {
        let op = OSDOp.omapGetValues(startAfter: "", filterPrefix: "id_", maxReturn: 64)
        #expect(op.code == .omapGetValues)
        // start_after "", max_return 64, filter_prefix "id_"
        #expect(op.input.bytes == dencString("") + le(UInt64(64)) + dencString("id_"))
        #expect(op.arguments == .extent(offset: 0, length: 19))
    }

    @Test func keySetsAreSortedByBytesAndDistinct() {
        // "é" (C3 A9) sorts after "z" byte-wise, though Swift's String order agrees here;
        // "Z" (5A) sorts before "a" (61).
        let op = OSDOp.omapGetValues(forKeys: ["z", "a", "é", "Z", "a"])
        #expect(op.code == .omapGetValuesByKeys)
        let expected = le(UInt32(4)) + dencString("Z") + dencString("a") + dencString("z") + dencString("é")
        #expect(op.input.bytes == expected)
        let remove = OSDOp.omapRemoveKeys(["b", "a"])
        #expect(remove.code == .omapRemoveKeys)
        #expect(remove.input.bytes == le(UInt32(2)) + dencString("a") + dencString("b"))
        #expect(remove.arguments == .extent(offset: 0, length: 14))
    }

    @Test func setValuesHeaderAndClear() {
        let set = OSDOp.omapSetValues(["b": ByteBuffer(bytes: [2]), "a": ByteBuffer(bytes: [1, 1])])
        #expect(set.code == .omapSetValues)
        // two pairs, keys ascending: "a" → 01 01, "b" → 02
        let expected = le(UInt32(2)) + dencString("a") + le(UInt32(2)) + [1, 1] + dencString("b") + le(UInt32(1)) + [2]
        #expect(set.input.bytes == expected)
        #expect(set.arguments == .extent(offset: 0, length: UInt64(expected.count)))

        let header = OSDOp.omapSetHeader(ByteBuffer(bytes: [9, 8, 7]))
        #expect(header.code == .omapSetHeader)
        #expect(header.input.bytes == [9, 8, 7])  // raw, no length prefix
        #expect(header.arguments == .extent(offset: 0, length: 3))

        #expect(wireBytes(.omapClear).prefix(2) == [0x17, 0x22])  // CEPH_OSD_OP_OMAPCLEAR 0x2217
        #expect(OSDOp.omapClear.input.readableBytes == 0)
        #expect(wireBytes(.omapGetHeader).prefix(2) == [0x13, 0x12])  // CEPH_OSD_OP_OMAPGETHEADER 0x1213
    }
}

@Suite struct OmapOutputTests {
    static let keysFixture: [UInt8] =
        le(UInt32(2))  // two keys
        + dencString("alpha") + dencString("beta")
        + [1]  // truncated: more follow

    static let valuesFixture: [UInt8] =
        le(UInt32(2))  // two pairs
        + dencString("a") + le(UInt32(1)) + [0x41]  // "a" → "A"
        + dencString("b") + le(UInt32(0))  // "b" → empty
        + [0]  // not truncated

    @Test func keysPage() throws {
        let page = try OmapKeysPage.decode(ByteBuffer(bytes: Self.keysFixture), maxReturn: 2)
        #expect(page == OmapKeysPage(keys: ["alpha", "beta"], more: true))
        var out = ByteBuffer()
        page.encode(into: &out)
        #expect(out.bytes == Self.keysFixture)
    }

    @Test func keysPageWithoutTheBoolInfersFromAFullPage() throws {
        let legacy = Array(Self.keysFixture.dropLast())
        #expect(try OmapKeysPage.decode(ByteBuffer(bytes: legacy), maxReturn: 2).more)
        #expect(try !OmapKeysPage.decode(ByteBuffer(bytes: legacy), maxReturn: 3).more)
    }

    @Test func valuesPage() throws {
        let page = try OmapValuesPage.decode(ByteBuffer(bytes: Self.valuesFixture), maxReturn: 10)
        #expect(page.values.mapValues(\.bytes) == ["a": [0x41], "b": []])
        #expect(page.lastKey == "b")
        #expect(!page.more)
        var out = ByteBuffer()
        page.encode(into: &out)
        #expect(out.bytes == Self.valuesFixture)
        let legacy = Array(Self.valuesFixture.dropLast())
        #expect(try OmapValuesPage.decode(ByteBuffer(bytes: legacy), maxReturn: 2).more)
    }

    @Test func valuesByKeysHasNoBool() throws {
        let bytes = Array(Self.valuesFixture.dropLast())
        let values = try OmapValues.decode(ByteBuffer(bytes: bytes))
        #expect(values.mapValues(\.bytes) == ["a": [0x41], "b": []])
        #expect(throws: DencError.self) { try OmapValues.decode(ByteBuffer(bytes: Self.valuesFixture)) }
        expectEveryTruncationThrows(bytes) { _ = try OmapValues.decode($0) }
    }

    /// Cutting inside the entries throws; cutting exactly before the optional bool
    /// reads as a pre-Jewel reply, which is valid.
    @Test func truncationThrows() {
        let keysWithoutBool = Array(Self.keysFixture.dropLast())
        expectEveryTruncationThrows(keysWithoutBool) { _ = try OmapKeysPage.decode($0, maxReturn: 5) }
        let valuesWithoutBool = Array(Self.valuesFixture.dropLast())
        expectEveryTruncationThrows(valuesWithoutBool) { _ = try OmapValuesPage.decode($0, maxReturn: 5) }
        #expect(throws: DencError.self) { try OmapKeysPage.decode(ByteBuffer(bytes: Self.keysFixture + [0]), maxReturn: 5) }
        #expect(throws: DencError.self) { try OmapValuesPage.decode(ByteBuffer(bytes: Self.valuesFixture + [0]), maxReturn: 5) }
        // Absurd counts are refused before allocating.
        #expect(throws: DencError.self) { try OmapKeysPage.decode(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x00]), maxReturn: 5) }
        #expect(throws: DencError.self) { try OmapValuesPage.decode(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x00]), maxReturn: 5) }
    }
}
