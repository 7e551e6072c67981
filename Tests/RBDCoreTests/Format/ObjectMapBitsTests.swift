import NIOCore
import RADOSProto
import Testing

@testable import RBDCore

/// The stored object map (`BitVector<2>`): byte layout, CRC checks, and the in-memory
/// changes that mirror the object class's.
struct ObjectMapBitsTests {
    /// Five objects: EXISTS, NONEXISTENT, PENDING, EXISTS_CLEAN, EXISTS.
    static func sample() -> ObjectMapBits {
        var map = ObjectMapBits(count: 5)
        map[0] = .exists
        map[2] = .pending
        map[3] = .existsClean
        map[4] = .exists
        return map
    }

    @Test func layoutIsTwoBitsPerObjectHighBitsFirst() throws {
        let stored = Self.sample().encode()
        let bytes = Array(stored.readableBytesView)
        // Header: u32 length 14; struct v1 compat 1, u32 length 8; u64 count 5.
        #expect(Array(bytes[0..<18]) == [14, 0, 0, 0, 1, 1, 8, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0])
        // Data: 01 00 10 11 | 01 00 00 00 (objects 0-3, then object 4 and padding).
        #expect(Array(bytes[18..<20]) == [0x4b, 0x40])
        // Footer: u32 length 12; header CRC; 1 block; the block's CRC.
        #expect(Array(bytes[20..<24]) == [12, 0, 0, 0])
        #expect(Array(bytes[28..<32]) == [1, 0, 0, 0])
        #expect(bytes.count == 36)
        let headerCRC = CRC32C.checksum(ByteBuffer(bytes: bytes[4..<18]), seed: 0)
        #expect(Array(bytes[24..<28]) == withUnsafeBytes(of: headerCRC.littleEndian, Array.init))
        let dataCRC = CRC32C.checksum(ByteBuffer(bytes: [0x4b, 0x40]), seed: 0)
        #expect(Array(bytes[32..<36]) == withUnsafeBytes(of: dataCRC.littleEndian, Array.init))
    }

    @Test func decodesWhatItEncodes() throws {
        let map = Self.sample()
        let back = try ObjectMapBits.decode(map.encode())
        #expect(back == map)
        #expect((0..<5).map { back[$0] } == [.exists, .nonexistent, .pending, .existsClean, .exists])
        #expect(back[99] == .nonexistent)  // past the end
    }

    @Test func badCRCsAndLengthsAreRefused() {
        var stored = Self.sample().encode()
        stored.setInteger(UInt8(0x4c), at: 18)  // a flipped data bit
        #expect(throws: DencError.self) { try ObjectMapBits.decode(stored) }
        var short = Self.sample().encode()
        short.moveWriterIndex(to: 19)
        #expect(throws: DencError.self) { try ObjectMapBits.decode(short) }
        // A count beyond the limit is refused before any allocation for it.
        var huge = ByteBuffer()
        huge.writeDencU32(14)
        huge.writeDencVersioned(version: 1, compat: 1) { $0.writeDencU64(1 << 40) }
        #expect(throws: DencError.self) { try ObjectMapBits.decode(huge) }
    }

    @Test func updatesMirrorTheObjectClass() {
        var map = Self.sample()
        // Only objects in `current` change; EXISTS also matches EXISTS_CLEAN.
        map.update(0..<5, to: .nonexistent, from: .exists)
        #expect((0..<5).map { map[$0] } == [.nonexistent, .nonexistent, .pending, .nonexistent, .nonexistent])
        map.update(1..<3, to: .exists)
        map.markClean()
        #expect((0..<5).map { map[$0] } == [.nonexistent, .existsClean, .existsClean, .nonexistent, .nonexistent])
    }

    @Test func resizingKeepsTheOldAndFillsTheNew() {
        var map = Self.sample()
        map.resize(to: 3)
        #expect(map.count == 3 && map.encode() == { var m = ObjectMapBits(count: 3); m[0] = .exists; m[2] = .pending; return m }().encode())
        map.resize(to: 9, state: .exists)
        #expect((0..<9).map { map[$0] } == [.exists, .nonexistent, .pending] + Array(repeating: .exists, count: 6))
    }
}
