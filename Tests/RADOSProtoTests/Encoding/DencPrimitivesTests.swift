import NIOCore
import Testing
@testable import RADOSProto

/// Fixtures for the denc primitives of `src/include/denc.h` / `encoding.h`.
@Suite struct DencPrimitivesTests {
    @Test func integersAreLittleEndian() throws {
        let bytes = Denc.bytes {
            $0.writeDencU8(0xAB)
            $0.writeDencU16(0x0102)
            $0.writeDencU32(0x0304_0506)
            $0.writeDencU64(0x0708_090A_0B0C_0D0E)
            $0.writeDencI32(-2)
            $0.writeDencI64(-1)
        }
        #expect(bytes == [
            0xAB,                                           // u8
            0x02, 0x01,                                     // u16 0x0102
            0x06, 0x05, 0x04, 0x03,                         // u32 0x03040506
            0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08, 0x07, // u64 0x0708090A0B0C0D0E
            0xFE, 0xFF, 0xFF, 0xFF,                         // i32 -2
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // i64 -1
        ])
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try buffer.readDencU8() == 0xAB)
        #expect(try buffer.readDencU16() == 0x0102)
        #expect(try buffer.readDencU32() == 0x0304_0506)
        #expect(try buffer.readDencU64() == 0x0708_090A_0B0C_0D0E)
        #expect(try buffer.readDencI32() == -2)
        #expect(try buffer.readDencI64() == -1)
        #expect(buffer.readableBytes == 0)
    }

    @Test func signedSmallIntegers() throws {
        let bytes = Denc.bytes {
            $0.writeDencI8(-128)
            $0.writeDencI16(-300)
        }
        #expect(bytes == [0x80, 0xD4, 0xFE]) // i8 -128; i16 -300 = 0xFED4
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try buffer.readDencI8() == -128)
        #expect(try buffer.readDencI16() == -300)
    }

    @Test func boolIsOneByteAndAnyNonZeroIsTrue() throws {
        #expect(Denc.bytes { $0.writeDencBool(true); $0.writeDencBool(false) } == [0x01, 0x00])
        var buffer = ByteBuffer(bytes: [0x00, 0x01, 0x02, 0xFF])
        #expect(try buffer.readDencBool() == false)
        #expect(try buffer.readDencBool() == true)
        #expect(try buffer.readDencBool() == true)
        #expect(try buffer.readDencBool() == true)
    }

    @Test func stringIsU32LengthThenBytes() throws {
        let bytes = Denc.bytes { $0.writeDencString("rbd") }
        #expect(bytes == [
            0x03, 0x00, 0x00, 0x00, // length 3
            0x72, 0x62, 0x64,       // "rbd"
        ])
        #expect(try Denc.decode(bytes) { try $0.readDencString() } == "rbd")
        #expect(try Denc.decode([0, 0, 0, 0]) { try $0.readDencString() } == "")
        // Multi-byte UTF-8: the length counts bytes, not characters.
        #expect(Denc.bytes { $0.writeDencString("é") } == [0x02, 0, 0, 0, 0xC3, 0xA9])
    }

    @Test func invalidUTF8IsRepairedNotTrapped() throws {
        let text = try Denc.decode([0x02, 0, 0, 0, 0xFF, 0xFE]) { try $0.readDencString() }
        #expect(text == "\u{FFFD}\u{FFFD}")
    }

    @Test func byteListIsASliceOfTheInput() throws {
        var buffer = ByteBuffer(bytes: [
            0x04, 0x00, 0x00, 0x00, // length 4
            0xDE, 0xAD, 0xBE, 0xEF, // payload
            0x2A,                   // the next field
        ])
        let payload = try buffer.readDencBytes()
        #expect(Array(payload.readableBytesView) == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(try buffer.readDencU8() == 0x2A)
        #expect(Denc.bytes { $0.writeDencBytes(payload) } == [4, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF])
        #expect(Denc.bytes { $0.writeDencBytes([1, 2] as [UInt8]) } == [2, 0, 0, 0, 1, 2])
    }

    @Test func fixedBytesHaveNoPrefix() throws {
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        #expect(Array(try buffer.readDencFixed(2).readableBytesView) == [1, 2])
        #expect(Array(try buffer.readDencFixed(0).readableBytesView) == [])
        #expect(Denc.errorKind { _ = try buffer.readDencFixed(2) } == .truncated(needed: 2, available: 1))
        #expect(Denc.errorKind { _ = try buffer.readDencFixed(-1) } == .invalidValue("negative fixed length -1"))
        #expect(buffer.readableBytes == 1)
    }

    @Test func arrayIsCountThenElements() throws {
        let bytes = Denc.bytes { $0.writeDencArray([7, 8] as [UInt16]) { $0.writeDencU16($1) } }
        #expect(bytes == [
            0x02, 0x00, 0x00, 0x00, // count 2
            0x07, 0x00,             // [0] = 7
            0x08, 0x00,             // [1] = 8
        ])
        let decoded = try Denc.decode(bytes) { try $0.readDencArray(minimumElementSize: 2) { try $0.readDencU16() } }
        #expect(decoded == [7, 8])
    }

    @Test func mapIsCountThenSortedPairs() throws {
        let map: [String: UInt32] = ["b": 2, "a": 1]
        let bytes = Denc.bytes { $0.writeDencMap(map, key: { $0.writeDencString($1) }, value: { $0.writeDencU32($1) }) }
        #expect(bytes == [
            0x02, 0x00, 0x00, 0x00,       // count 2
            0x01, 0x00, 0x00, 0x00, 0x61, // key "a"
            0x01, 0x00, 0x00, 0x00,       // value 1
            0x01, 0x00, 0x00, 0x00, 0x62, // key "b"
            0x02, 0x00, 0x00, 0x00,       // value 2
        ])
        let decoded = try Denc.decode(bytes) {
            try $0.readDencMap(minimumEntrySize: 8, key: { try $0.readDencString() }, value: { try $0.readDencU32() })
        }
        #expect(decoded == map)
    }

    @Test func repeatedMapKeyKeepsTheLastValue() throws {
        let bytes: [UInt8] = [
            0x02, 0x00, 0x00, 0x00, // count 2
            0x05, 0x0A,             // 5 → 10
            0x05, 0x0B,             // 5 → 11
        ]
        let decoded = try Denc.decode(bytes) { try $0.readDencMap(key: { try $0.readDencU8() }, value: { try $0.readDencU8() }) }
        #expect(decoded == [5: 11])
    }

    @Test func optionalIsBoolThenValue() throws {
        let some = Denc.bytes { $0.writeDencOptional(UInt32(9)) { $0.writeDencU32($1) } }
        let none = Denc.bytes { $0.writeDencOptional(UInt32?.none) { $0.writeDencU32($1) } }
        #expect(some == [0x01, 0x09, 0x00, 0x00, 0x00]) // present, u32 9
        #expect(none == [0x00])                         // absent
        #expect(try Denc.decode(some) { try $0.readDencOptional { try $0.readDencU32() } } == 9)
        #expect(try Denc.decode(none) { try $0.readDencOptional { try $0.readDencU32() } } == nil)
    }
}
