import NIOCore
import Testing
@testable import RADOSProto

/// The batch of request frames a session writes at a flush: frames encoded one after the
/// other into a shared arena are byte for byte the frames encoded alone, payloads stay
/// the caller's buffers, and bytes already handed to the channel are never written over.
@Suite struct OutboundFramesTests {
    typealias FixedFront = FrameCodecTests.FixedFront

    static func header(_ seq: UInt64) -> MessageHeader2 {
        var header = MessageHeader2(tid: 100 + seq, type: 42, version: 8, compatVersion: 3)
        header.seq = seq
        header.ackSeq = 2
        return header
    }

    /// The frame of one message encoded on its own, the message path's way.
    static func alone(_ seq: UInt64, _ front: [UInt8], _ data: ByteBuffer) -> [UInt8] {
        var encoder = FrameEncoder()
        var pieces: [ByteBuffer] = []
        encoder.encode(message: Message(header: header(seq), front: ByteBuffer(bytes: front), middle: ByteBuffer(), data: data), into: &pieces)
        return pieces.flatMap { Array($0.readableBytesView) }
    }

    static func drained(_ frames: inout OutboundFrames) -> [ByteBuffer] {
        var pieces: [ByteBuffer] = []
        frames.drain { pieces.append($0) }
        return pieces
    }

    static func address(_ buffer: ByteBuffer) -> UInt {
        buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
    }

    /// Five frames of every shape (front and data, front only twice running, data with
    /// an empty front, header only) in one batch, the arena starting too small for them:
    /// the batch is the five frames encoded alone, one after the other; each payload is
    /// the caller's buffer; frames without payload next to each other are one piece.
    @Test func aBatchIsItsFramesEncodedAloneOneAfterAnother() throws {
        let front = (0..<150).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let cases: [([UInt8], ByteBuffer)] = [
            (front, ByteBuffer(repeating: 0x3C, count: 4096)),
            (Array(front.prefix(90)), ByteBuffer()),
            (Array(front.suffix(60)), ByteBuffer()),
            ([], ByteBuffer(repeating: 0x11, count: 512)),
            ([], ByteBuffer()),
        ]
        var encoder = FrameEncoder()
        var frames = OutboundFrames(capacity: 64)
        var expected: [UInt8] = []
        for (index, (bytes, data)) in cases.enumerated() {
            let seq = UInt64(index + 1)
            encoder.encode(header: Self.header(seq), front: FixedFront(bytes: bytes, capacity: bytes.count), data: data, into: &frames)
            expected += Self.alone(seq, bytes, data)
        }
        let pieces = Self.drained(&frames)
        #expect(pieces.flatMap { Array($0.readableBytesView) } == expected)
        // [head 1] [data 1] [epilogue 1, frame 2, frame 3, head 4] [data 4] [epilogue 4, frame 5]
        #expect(pieces.count == 5)
        #expect(Self.address(pieces[1]) == Self.address(cases[0].1))
        #expect(Self.address(pieces[3]) == Self.address(cases[3].1))
        #expect(frames.isEmpty && Self.drained(&frames).isEmpty)
    }

    /// Slices still held (the channel has not written them yet) keep their bytes when the
    /// next batch is encoded: it gets storage of its own. Once its slices are let go, the
    /// batch after it is written into the same storage again (no allocation).
    @Test func bytesHandedOutAreNeverWrittenOver() throws {
        var encoder = FrameEncoder()
        var frames = OutboundFrames(capacity: 1024)
        let first = Array(repeating: UInt8(0xA1), count: 100)
        encoder.encode(header: Self.header(1), front: FixedFront(bytes: first, capacity: 100), data: ByteBuffer(), into: &frames)
        let held = Self.drained(&frames)
        #expect(held.count == 1)

        let second = Array(repeating: UInt8(0xB2), count: 100)
        encoder.encode(header: Self.header(2), front: FixedFront(bytes: second, capacity: 100), data: ByteBuffer(), into: &frames)
        var secondPieces = Self.drained(&frames)
        #expect(held.flatMap { Array($0.readableBytesView) } == Self.alone(1, first, ByteBuffer()))
        #expect(secondPieces.flatMap { Array($0.readableBytesView) } == Self.alone(2, second, ByteBuffer()))
        #expect(Self.address(held[0]) != Self.address(secondPieces[0]))
        let secondAddress = Self.address(secondPieces[0])
        secondPieces = []

        let third = Array(repeating: UInt8(0xC3), count: 100)
        encoder.encode(header: Self.header(3), front: FixedFront(bytes: third, capacity: 100), data: ByteBuffer(), into: &frames)
        let thirdPieces = Self.drained(&frames)
        #expect(thirdPieces.flatMap { Array($0.readableBytesView) } == Self.alone(3, third, ByteBuffer()))
        #expect(Self.address(thirdPieces[0]) == secondAddress, "the arena was not reused once its slices were let go")
        #expect(held.flatMap { Array($0.readableBytesView) } == Self.alone(1, first, ByteBuffer()))
    }

    /// What is discarded (the connection closed) is not written later.
    @Test func discardedFramesAreGone() {
        var encoder = FrameEncoder()
        var frames = OutboundFrames()
        encoder.encode(header: Self.header(1), front: FixedFront(bytes: [1, 2, 3], capacity: 3), data: ByteBuffer(repeating: 9, count: 10), into: &frames)
        #expect(!frames.isEmpty)
        frames.discard()
        #expect(frames.isEmpty && Self.drained(&frames).isEmpty)
    }
}
