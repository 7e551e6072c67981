import NIOCore
import Testing
@testable import RADOSProto

/// Untrusted input: every failure is a thrown `DencError`, never a trap, and absurd
/// lengths are refused before anything is allocated.
@Suite struct DencHostileInputTests {
    @Test func truncatedIntegersThrowAndLeaveTheReaderAlone() {
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        #expect(Denc.errorKind { _ = try buffer.readDencU32() } == .truncated(needed: 4, available: 3))
        #expect(Denc.errorKind { _ = try buffer.readDencU64() } == .truncated(needed: 8, available: 3))
        #expect(buffer.readerIndex == 0)
        var empty = ByteBuffer()
        #expect(Denc.errorKind { _ = try empty.readDencU8() } == .truncated(needed: 1, available: 0))
        #expect(Denc.errorKind { _ = try empty.readDencBool() } == .truncated(needed: 1, available: 0))
    }

    @Test func hugeStringLengthIsRefusedByTheLimit() {
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x61]) // length 4 GiB - 1, then "a"
        let error = Denc.error { _ = try buffer.readDencString() }
        #expect(error?.kind == .lengthTooLarge(0xFFFF_FFFF, limit: DencLimit.string))
        #expect(error?.offset == 0)
        #expect(error?.bytes == [0xFF, 0xFF, 0xFF, 0xFF, 0x61])
        #expect(buffer.readerIndex == 0)
    }

    @Test func lengthBeyondTheInputIsTruncated() {
        var buffer = ByteBuffer(bytes: [0x10, 0x00, 0x00, 0x00, 0x61, 0x62]) // length 16, 2 bytes follow
        #expect(Denc.errorKind { _ = try buffer.readDencString() } == .truncated(needed: 16, available: 2))
        #expect(Denc.errorKind { _ = try buffer.readDencBytes() } == .truncated(needed: 16, available: 2))
        #expect(buffer.readerIndex == 0)
        #expect(Denc.errorKind { _ = try buffer.readDencBytes(limit: 8) } == .lengthTooLarge(16, limit: 8))
    }

    @Test func absurdCountIsRefusedBeforeDecodingAnyElement() {
        // 2^32-1 elements claimed, 4 bytes present.
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4])
        var calls = 0
        let kind = Denc.errorKind {
            _ = try buffer.readDencArray(minimumElementSize: 8) { (b: inout ByteBuffer) -> UInt64 in
                calls += 1
                return try b.readDencU64()
            }
        }
        #expect(kind == .lengthTooLarge(0xFFFF_FFFF, limit: DencLimit.count))
        #expect(calls == 0)

        // Under the count limit but more than the bytes left can hold: truncated, no call.
        var small = ByteBuffer(bytes: [0x00, 0x00, 0x10, 0x00, 1, 2, 3, 4]) // count 1 Mi
        let smallKind = Denc.errorKind {
            _ = try small.readDencArray(minimumElementSize: 8) { (b: inout ByteBuffer) -> UInt64 in
                calls += 1
                return try b.readDencU64()
            }
        }
        #expect(smallKind == .truncated(needed: 8 << 20, available: 4))
        #expect(calls == 0)

        var map = ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x01]) // count 16 Mi, nothing follows
        #expect(Denc.errorKind {
            _ = try map.readDencMap(key: { try $0.readDencU8() }, value: { try $0.readDencU8() })
        } == .truncated(needed: 32 << 20, available: 0))
    }

    @Test func overflowingMinimumSizeIsTruncatedNotTrapped() {
        var buffer = ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x01]) // count 16 Mi
        #expect(Denc.errorKind {
            _ = try buffer.readDencLength(limit: .max, minimumUnitSize: .max)
        } == .truncated(needed: .max, available: 0))
    }

    @Test func reservationForAHostileCountIsBounded() {
        // Zero-size elements pass the byte check for any count under the limit; the
        // memory reserved up front must still be bounded.
        #expect(ByteBuffer.dencReservation(DencLimit.count, of: (UInt64, UInt64, UInt64, UInt64).self)
            == DencLimit.reservationBytes / 32)
        #expect(ByteBuffer.dencReservation(3, of: UInt64.self) == 3)
        var buffer = ByteBuffer(bytes: [0x00, 0x00, 0x10, 0x00]) // 1 Mi empty elements
        let decoded: [Void]? = try? buffer.readDencArray(minimumElementSize: 0) { _ in () }
        #expect(decoded?.count == 1 << 20)
    }

    @Test func truncationAtEveryOffsetOfACompositeThrows() {
        let bytes = Denc.bytes {
            $0.writeDencVersioned(version: 3, compat: 1) { body in
                body.writeDencString("rbd_header.1234")
                body.writeDencArray([1, 2, 3] as [UInt64]) { $0.writeDencU64($1) }
                body.writeDencMap(["k": "v"], key: { $0.writeDencString($1) }, value: { $0.writeDencString($1) })
                body.writeDencOptional(UInt32(5)) { $0.writeDencU32($1) }
                body.writeDencBool(true)
            }
        }
        Denc.expectEveryTruncationThrows(bytes) { buffer in
            try buffer.readDencVersioned("composite", understands: 3) { body, _ in
                let name = try body.readDencString()
                let numbers = try body.readDencArray(minimumElementSize: 8) { try $0.readDencU64() }
                let map = try body.readDencMap(key: { try $0.readDencString() }, value: { try $0.readDencString() })
                let optional = try body.readDencOptional { try $0.readDencU32() }
                let flag = try body.readDencBool()
                return (name, numbers, map, optional, flag)
            }
        }
    }

    @Test func randomGarbageNeverTraps() {
        var generator = SeededGenerator(seed: 0xDEC0DE)
        for _ in 0..<2000 {
            let count = Int.random(in: 0..<48, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var buffer = ByteBuffer(bytes: bytes)
            do {
                _ = try buffer.readDencVersioned("garbage", understands: 2) { body, _ in
                    (try body.readDencString(limit: 64),
                     try body.readDencArray(limit: 64) { try $0.readDencSnapContext(limit: 8) },
                     try body.readDencEntityName(limit: 64))
                }
            } catch is DencError {
                // expected for most inputs
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }
}
