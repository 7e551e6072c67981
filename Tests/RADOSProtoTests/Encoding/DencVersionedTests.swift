import NIOCore
import Testing
@testable import RADOSProto

/// The versioned struct envelope (`ENCODE_START` / `DECODE_START`, `DENC_START`).
@Suite struct DencVersionedTests {
    @Test func envelopeFixture() {
        let bytes = Denc.bytes {
            $0.writeDencVersioned(version: 2, compat: 1) { $0.writeDencU32(7) }
        }
        #expect(bytes == [
            0x02,                   // struct_v 2
            0x01,                   // struct_compat 1
            0x04, 0x00, 0x00, 0x00, // struct_len 4
            0x07, 0x00, 0x00, 0x00, // body: u32 7
        ])
    }

    @Test func newerBodyTailIsSkipped() throws {
        // A version-3 encoder appended a u16 our version-1 decoder does not know.
        var buffer = ByteBuffer(bytes: [
            0x03,                   // struct_v 3
            0x01,                   // struct_compat 1: we can read it
            0x06, 0x00, 0x00, 0x00, // struct_len 6
            0x07, 0x00, 0x00, 0x00, // u32 7 (known)
            0xAA, 0xBB,             // u16 added in v3 (unknown to us)
            0x2A,                   // the next field, after the struct
        ])
        var seenVersion: UInt8 = 0
        let value = try buffer.readDencVersioned("thing", understands: 1) { body, version in
            seenVersion = version
            return try body.readDencU32()
        }
        #expect(value == 7)
        #expect(seenVersion == 3)
        #expect(try buffer.readDencU8() == 0x2A)
    }

    @Test func tooNewCompatIsRefused() {
        var buffer = ByteBuffer(bytes: [
            0x05,                   // struct_v 5
            0x04,                   // struct_compat 4: needs a v4 decoder
            0x00, 0x00, 0x00, 0x00, // struct_len 0
        ])
        var called = false
        let error = Denc.error {
            _ = try buffer.readDencVersioned("thing", understands: 3) { _, _ in called = true }
        }
        #expect(error?.kind == .incompatibleVersion(compat: 4, supported: 3))
        #expect(error?.context == ["thing"])
        #expect(error?.offset == 0)
        #expect(!called)
        #expect(buffer.readerIndex == 0)
    }

    @Test func compatEqualToOurVersionIsAccepted() throws {
        var buffer = ByteBuffer(bytes: [0x03, 0x03, 0x01, 0x00, 0x00, 0x00, 0x09])
        #expect(try buffer.readDencVersioned("thing", understands: 3) { body, _ in try body.readDencU8() } == 9)
    }

    @Test func bodyCannotReadPastItsLength() {
        var buffer = ByteBuffer(bytes: [
            0x01, 0x01,             // v1, compat 1
            0x02, 0x00, 0x00, 0x00, // struct_len 2
            0x07, 0x00,             // only 2 body bytes
            0x00, 0x00,             // bytes after the struct that must not be read
        ])
        let error = Denc.error {
            _ = try buffer.readDencVersioned("thing", understands: 1) { body, _ in try body.readDencU32() }
        }
        #expect(error?.kind == .truncated(needed: 4, available: 2))
        #expect(error?.context == ["thing"])
        #expect(error?.offset == 6) // offset in the outer buffer, where the body starts
        #expect(buffer.readerIndex == 0)
    }

    @Test func lengthBeyondTheInputIsTruncated() {
        var buffer = ByteBuffer(bytes: [0x01, 0x01, 0x09, 0x00, 0x00, 0x00, 0x01]) // len 9, 1 byte left
        #expect(Denc.errorKind {
            _ = try buffer.readDencVersioned("thing", understands: 1) { _, _ in () }
        } == .truncated(needed: 9, available: 1))
        #expect(buffer.readerIndex == 0)
    }

    @Test func nestedErrorsNameTheirPathAndOuterOffset() {
        let bytes = Denc.bytes {
            $0.writeDencU16(0xFFFF) // 2 bytes before the outer struct
            $0.writeDencVersioned(version: 1, compat: 1) { outer in
                outer.writeDencU8(1)
                outer.writeDencVersioned(version: 1, compat: 1) { inner in
                    inner.writeDencU8(2) // the inner decoder wants a u32 here
                }
            }
        }
        var buffer = ByteBuffer(bytes: bytes)
        let error = Denc.error {
            _ = try buffer.readDencU16()
            _ = try buffer.readDencVersioned("outer", understands: 1) { outer, _ in
                _ = try outer.readDencU8()
                return try outer.readDencVersioned("inner", understands: 1) { inner, _ in try inner.readDencU32() }
            }
        }
        #expect(error?.context == ["outer", "inner"])
        #expect(error?.kind == .truncated(needed: 4, available: 1))
        // 2 (u16) + 6 (outer envelope) + 1 (u8) + 6 (inner envelope) = 15.
        #expect(error?.offset == 15)
        #expect(error?.bytes == [0x02])
    }

    @Test func decodeExactlyReportsTrailingBytes() {
        let buffer = ByteBuffer(bytes: [0x01, 0x00, 0xEE, 0xFF]) // u16 1, then 2 stray bytes
        let error = Denc.error { _ = try buffer.decodeExactly("Message") { try $0.readDencU16() } }
        #expect(error?.kind == .trailingBytes(2))
        #expect(error?.offset == 2)
        #expect(error?.context == ["Message"])
        #expect(error?.bytes == [0xEE, 0xFF])
        #expect(error?.description.contains("Message") == true)
    }

    @Test func decodeExactlyAnnotatesInnerErrors() {
        let buffer = ByteBuffer(bytes: [0x01])
        let error = Denc.error { _ = try buffer.decodeExactly("Message") { try $0.readDencU16() } }
        #expect(error?.context == ["Message"])
        #expect(error?.kind == .truncated(needed: 2, available: 1))
    }

    @Test func errorConvertsToThePublicError() {
        let error = DencError(.trailingBytes(1), at: ByteBuffer(bytes: [0x42]), context: ["X"])
        #expect(error.radosError.code == .malformedData)
        #expect(error.radosError.details?.contains("42") == true)
    }
}
