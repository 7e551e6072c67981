import NIOCore
import Testing
@testable import RADOSProto

@Suite struct FrameCodecTests {
    static let secret = msgrFixtureBytes("404142434445464748494a4b4c4d4e4f808182838485868788898a8ba0a1a2a3a4a5a6a7a8a9aaab")

    /// HELLO with payload "abc" in crc mode, derived independently (Python, CRC32C by table).
    static let crcHello = """
        01 01                               tag HELLO, 1 segment
        03000000 0800                       segment 0: 3 bytes, align 8
        00000000 0000  00000000 0000  00000000 0000
        00 00                               flags, reserved
        c70daf61                            crc32c(0, first 28 bytes)
        616263                              "abc"
        48c0b4c9                            crc32c(~0, "abc")
        """

    @Test func crcModeMatchesIndependentEncoding() throws {
        var encoder = FrameEncoder()
        let wire = encoder.encode(Frame(tag: .hello, payload: ByteBuffer(string: "abc")))
        #expect(wire.msgrHex == msgrFixtureBuffer(Self.crcHello).msgrHex)
        var decoder = FrameDecoder()
        var input = wire
        let frame = try decoder.next(from: &input)
        #expect(frame?.frame == Frame(tag: .hello, payload: ByteBuffer(string: "abc")))
    }

    /// A message's crc-mode frame written with its header and epilogue in one buffer is
    /// byte for byte the frame of `Message.frame()`, for every mix of empty and
    /// non-empty segments (slices that do not start at index 0 included), and it
    /// decodes back to the message.
    @Test func aMessageFrameInOneBufferIsTheSegmentedFrame() throws {
        var base = ByteBuffer(repeating: 0xEE, count: 7)
        base.writeBytes((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        let front = try #require(base.getSlice(at: 7, length: 200))
        let middle = ByteBuffer(bytes: [1, 2, 3])
        let data = ByteBuffer(repeating: 0xA5, count: 4096)
        let cases: [(String, ByteBuffer, ByteBuffer, ByteBuffer)] = [
            ("header only", ByteBuffer(), ByteBuffer(), ByteBuffer()),
            ("front", front, ByteBuffer(), ByteBuffer()),
            ("front and data", front, ByteBuffer(), data),
            ("all four", front, middle, data),
            ("middle only", ByteBuffer(), middle, ByteBuffer()),
        ]
        for (label, front, middle, data) in cases {
            var message = Message(type: 42, version: 8, compatVersion: 3, tid: 77, front: front, middle: middle, data: data)
            message.header.seq = 9
            message.header.ackSeq = 5
            var segmented = FrameEncoder()
            var inOne = FrameEncoder()
            var expected: [ByteBuffer] = []
            var pieces: [ByteBuffer] = []
            segmented.encode(message.frame(), into: &expected)
            inOne.encode(message: message, into: &pieces)
            func joined(_ pieces: [ByteBuffer]) -> [UInt8] { pieces.flatMap { Array($0.readableBytesView) } }
            #expect(joined(pieces) == joined(expected), "\(label)")
            var decoder = FrameDecoder()
            var input = ByteBuffer(bytes: joined(pieces))
            let decoded = try #require(try decoder.next(from: &input), "\(label)")
            // Trailing empty segments are not sent, so the decoded frame lists fewer.
            let sent = message.frame().segments
            let kept = decoded.frame.segments.count
            #expect(Array(decoded.frame.segments) == Array(sent.prefix(kept)), "\(label)")
            #expect(sent.dropFirst(kept).allSatisfy { $0.readableBytes == 0 }, "\(label)")
            #expect(input.readableBytes == 0, "\(label)")
        }
    }

    /// A front that writes fixed bytes and claims `capacity` (possibly too little).
    struct FixedFront: EncodableFront {
        var bytes: [UInt8]
        var capacity: Int
        var frontCapacity: Int { capacity }
        func encodeFront(into buffer: inout ByteBuffer) { buffer.writeBytes(bytes) }
    }

    /// A message whose front is encoded straight into the frame's buffer (the OSD request
    /// path) is byte for byte the frame of the same message with the front encoded on its
    /// own, with or without data, with an empty front, and when the front outgrows the
    /// room it claimed; in secure mode too (where it takes the message path).
    @Test func aFrontEncodedInPlaceIsTheMessageFrame() throws {
        let front = (0..<150).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let data = ByteBuffer(repeating: 0x3C, count: 4096)
        let cases: [(String, [UInt8], Int, ByteBuffer)] = [
            ("front and data", front, 200, data),
            ("front only", front, 200, ByteBuffer()),
            ("front larger than claimed", front, 10, data),
            ("empty front, data", [], 0, data),
            ("header only", [], 0, ByteBuffer()),
        ]
        for secure in [false, true] {
            for (label, bytes, capacity, data) in cases {
                var header = MessageHeader2(tid: 31, type: 42, version: 8, compatVersion: 3)
                header.seq = 12
                header.ackSeq = 4
                func encoder() throws -> FrameEncoder {
                    secure ? FrameEncoder(protection: .secure(try FrameCipher(connectionSecret: Self.secret))) : FrameEncoder()
                }
                var viaMessage = try encoder()
                var inPlace = try encoder()
                var expected: [ByteBuffer] = []
                var pieces: [ByteBuffer] = []
                let message = Message(header: header, front: ByteBuffer(bytes: bytes), middle: ByteBuffer(), data: data)
                viaMessage.encode(message: message, into: &expected)
                inPlace.encode(header: header, front: FixedFront(bytes: bytes, capacity: capacity), data: data, into: &pieces)
                func joined(_ pieces: [ByteBuffer]) -> [UInt8] { pieces.flatMap { Array($0.readableBytesView) } }
                #expect(joined(pieces) == joined(expected), "\(label), secure \(secure)")
                guard !secure else { continue }
                // The data goes out as the caller's buffer, not a copy of it.
                if data.readableBytes > 0 {
                    func address(_ buffer: ByteBuffer) -> UInt { buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } }
                    #expect(pieces.contains { (piece: ByteBuffer) in piece.readableBytes == data.readableBytes && address(piece) == address(data) }, "\(label)")
                }
                var decoder = FrameDecoder()
                var input = ByteBuffer(bytes: joined(pieces))
                let decoded = try #require(try decoder.next(from: &input), "\(label)")
                #expect(decoded.frame.segments.count > 1 ? decoded.frame.segments[1] == ByteBuffer(bytes: bytes) : bytes.isEmpty, "\(label)")
                #expect(input.readableBytes == 0, "\(label)")
            }
        }
    }

    /// Secure-mode frames sealed by Python's `cryptography` AESGCM with the same secret.
    @Test func secureModeMatchesIndependentEncoding() throws {
        var encoder = FrameEncoder(protection: .secure(try FrameCipher(connectionSecret: Self.secret)))
        let f1 = encoder.encode(Frame(tag: .keepalive2, payload: ByteBuffer(bytes: Array(0..<8))))
        #expect(f1.msgrHex == "04697432d2568dd21b9af4f6d7ca9541225a3ac51c458190160860ef32a21ec6a228dbb4e33b2d5769423ff3f06764181b1f0770d21b8e319a15301749b10841f8d58f77e5bbf09808cad46193eb7ece5ecec1e31b0b3cabe05c6f5b00e3ccd0")
        let message = Frame(tag: .message, segments: [ByteBuffer(bytes: Array(100..<141)), ByteBuffer(string: "hello"), ByteBuffer(), ByteBuffer(string: "xyz")])
        let f2 = encoder.encode(message)
        #expect(f2.msgrHex == "49888bd5470c604deefd3fe90e235b405cc55df87a3746ec36b87e413defe58c525f924ffdc9e297777cc66da25b78cd0412bc4565e936bbd81202537feef6b197857e2e71f8a7ebebec1f4337723a79f5fa921490a0591c22fa875c205b5f4c7d0d42aafca49a31319a64e64ff00e820eec1e82076e6957494aeb6a6c21d45c6852ffbdeb578e54a0c6ae0e1d5bcf9437b82ffe64b6a0ff24e98883e4dbf2c6")
        let big = Frame(tag: .authRequest, payload: ByteBuffer(bytes: Array(0..<60)))
        let f3 = encoder.encode(big)
        #expect(f3.msgrHex == "85f3d55dd69e9e0ceb45c0498ce837a9461a07ab27f804f8ff0c73f1f69c873852deee43c88b099a1dd1cad05be01c96fe78e89c0bce3ff4f0330997116de833f0009ced4c58e098fcf3adaee5388a4b353cb9f5f9d612118f26c7d3b769c296171318c3a51509fdfff00f98245a5d4e9b27a256b2f3eedb5f0e997596fcfc8c")

        // The peer (its receive nonce is our send nonce) decodes them, fed one byte at a time.
        var decoder = FrameDecoder(protection: .secure(try FrameCipher(connectionSecret: Self.secret).mirrored()))
        var all = f1
        var rest = f2
        all.writeBuffer(&rest)
        rest = f3
        all.writeBuffer(&rest)
        var frames: [Frame] = []
        var input = ByteBuffer()
        while let byte = all.readSlice(length: 1) {
            var one = byte
            input.writeBuffer(&one)
            while let decoded = try decoder.next(from: &input) { frames.append(decoded.frame) }
        }
        #expect(frames == [Frame(tag: .keepalive2, payload: ByteBuffer(bytes: Array(0..<8))), message, big])
    }

    @Test func crcMultiSegmentRoundTripOneByteAtATime() throws {
        let frames = [
            Frame(tag: .message, segments: [ByteBuffer(bytes: Array(repeating: 7, count: 41)), ByteBuffer(), ByteBuffer(string: "mid"), ByteBuffer(bytes: Array(repeating: 9, count: 5000))]),
            Frame(tag: .ack, payload: ByteBuffer(bytes: [1, 0, 0, 0, 0, 0, 0, 0])),
            Frame(tag: .message, segments: [ByteBuffer(bytes: Array(repeating: 1, count: 41)), ByteBuffer(string: "front")]),
        ]
        var encoder = FrameEncoder()
        var wire = ByteBuffer()
        for f in frames {
            var e = encoder.encode(f)
            wire.writeBuffer(&e)
        }
        var decoder = FrameDecoder()
        var input = ByteBuffer()
        var out: [Frame] = []
        while let byte = wire.readSlice(length: 1) {
            var one = byte
            input.writeBuffer(&one)
            while let decoded = try decoder.next(from: &input) { out.append(decoded.frame) }
        }
        #expect(out == frames)
    }

    /// Once the preamble is in, the decoder says how many bytes the rest of the frame
    /// takes (segments, their crc, the epilogue): exactly what is left on the wire.
    @Test func restAwaitedIsWhatTheFrameStillNeeds() throws {
        let frame = Frame(tag: .message, segments: [ByteBuffer(bytes: Array(repeating: 3, count: 53)), ByteBuffer(string: "front"), ByteBuffer(), ByteBuffer(bytes: Array(repeating: 4, count: 70_000))])
        var encoder = FrameEncoder()
        var wire = encoder.encode(frame)
        let total = wire.readableBytes
        var decoder = FrameDecoder()
        #expect(decoder.restAwaited == nil)
        var input = wire.readSlice(length: FrameLayout.preambleLength + 10) ?? ByteBuffer()
        #expect(try decoder.next(from: &input) == nil)
        #expect(decoder.restAwaited == total - FrameLayout.preambleLength)
        input.writeBuffer(&wire)
        #expect(try decoder.next(from: &input)?.frame == frame)
        #expect(decoder.restAwaited == nil)
    }

    @Test func rejectsBadInputWithTypedErrors() throws {
        var encoder = FrameEncoder()
        let good = encoder.encode(Frame(tag: .hello, payload: ByteBuffer(string: "abc")))

        // Flipped payload bit: segment crc.
        var bad = good
        bad.setInteger((bad.getInteger(at: 33, as: UInt8.self) ?? 0) ^ 1, at: 33)
        var d = FrameDecoder()
        #expect(throws: MessengerError.badCRC("segment 0")) { try d.next(from: &bad) }

        // Flipped preamble bit: preamble crc.
        bad = good
        bad.setInteger(UInt8(2), at: 0)
        d = FrameDecoder()
        #expect(throws: MessengerError.badCRC("preamble")) { try d.next(from: &bad) }

        // Absurd length with a valid crc: refused before allocating.
        var p = ByteBuffer()
        FramePreamble.encode(tag: .message, lengths: [41, 0xFFFF_FFF0], into: &p)
        d = FrameDecoder()
        #expect(throws: MessengerError.segmentTooLarge(index: 1, length: 0xFFFF_FFF0, limit: FrameLimits.default.front)) { try d.next(from: &p) }

        // Unknown tag with a valid crc.
        var unknown = ByteBuffer()
        unknown.writeInteger(UInt8(99))
        unknown.writeInteger(UInt8(1))
        unknown.writeRepeatingByte(0, count: 26)
        let crc = CRC32C.checksum(unknown, seed: 0)
        unknown.writeInteger(crc, endianness: .little)
        d = FrameDecoder()
        #expect(throws: MessengerError.unknownTag(99)) { try d.next(from: &unknown) }

        // Bad GCM tag.
        var secureEncoder = FrameEncoder(protection: .secure(try FrameCipher(connectionSecret: Self.secret)))
        var sealed = secureEncoder.encode(Frame(tag: .keepalive2, payload: ByteBuffer(bytes: Array(0..<8))))
        sealed.setInteger((sealed.getInteger(at: 90, as: UInt8.self) ?? 0) ^ 0x80, at: 90)
        var sd = FrameDecoder(protection: .secure(try FrameCipher(connectionSecret: Self.secret).mirrored()))
        #expect(throws: MessengerError.badAuthTag("preamble")) { try sd.next(from: &sealed) }
    }

    /// Seeded (``TestSeed``): a trap prints nothing else, so the seed is printed first.
    @Test func randomGarbageNeverTraps() {
        let seed = TestSeed(Self.self)
        var generator = seed.generator()
        for _ in 0..<200 {
            let count = Int.random(in: 0..<200, using: &generator)
            var input = ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            var d = FrameDecoder()
            _ = try? d.next(from: &input)
        }
    }
}
