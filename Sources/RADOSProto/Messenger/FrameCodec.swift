import NIOCore

/// How frames are protected on the wire after the banner.
package enum FrameProtection: Sendable {
    /// msgr2.1 crc mode (also used for every frame before AUTH_DONE).
    case crc
    /// msgr2.1 secure mode.
    case secure(FrameCipher)
}

/// Encodes frames in msgr2.1 (revision 1) format.
///
/// crc mode: preamble, segment 0, its crc (CRC32C seed ~0); when there is more than one
/// segment, segments 1–3 raw and a 13-byte epilogue (late status 0x0E, crcs of segments
/// 1–3; 0 for segments not sent). secure mode: preamble plus the first 48 bytes of
/// segment 0 (zero-padded) sealed as one block; then, if anything is left, the rest of
/// segment 0 and the other segments, each zero-padded to 16 bytes, plus (for more than
/// one segment) a 16-byte epilogue, sealed as a second block.
package struct FrameEncoder: Sendable {
    package var protection: FrameProtection

    package init(protection: FrameProtection = .crc) {
        self.protection = protection
    }

    static func segmentCount(_ segments: SmallArray<ByteBuffer>) -> Int {
        var count = min(segments.count, FrameLayout.maxSegments)
        while count > 1 && segments[count - 1].readableBytes == 0 { count -= 1 }
        return max(count, 1)
    }

    /// Appends the wire form of `frame` to `out` as one or more buffers. In crc mode the
    /// segments after the first are appended as they are (no copy).
    package mutating func encode(_ frame: Frame, into out: inout [ByteBuffer], allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        // Segments are read in place (no arrays of segments or lengths per frame).
        let count = Self.segmentCount(frame.segments)
        let all = frame.segments
        func segment(_ i: Int) -> ByteBuffer { i < all.count ? all[i] : ByteBuffer() }
        func length(_ i: Int) -> Int { i < all.count ? all[i].readableBytes : 0 }
        out.reserveCapacity(out.count + count + 1)
        switch protection {
        case .crc:
            var head = allocator.buffer(capacity: FrameLayout.preambleLength + length(0) + FrameLayout.crcLength)
            FramePreamble.encode(tag: frame.tag, count: count, length: length, into: &head)
            var seg0 = segment(0)
            head.writeBuffer(&seg0)
            head.writeDencU32(CRC32C.checksum(segment(0), seed: 0xFFFF_FFFF))
            out.append(head)
            guard count > 1 else { return }
            var epilogue = allocator.buffer(capacity: FrameLayout.plainEpilogueLength)
            epilogue.writeDencU8(FrameLayout.lateStatusComplete)
            for i in 1..<FrameLayout.maxSegments {
                if i < count {
                    if length(i) > 0 { out.append(segment(i)) }
                    epilogue.writeDencU32(CRC32C.checksum(segment(i), seed: 0xFFFF_FFFF))
                } else {
                    epilogue.writeDencU32(0)
                }
            }
            out.append(epilogue)
        case .secure(var cipher):
            var block = allocator.buffer(capacity: FrameLayout.preambleLength + FrameLayout.inlineLength)
            FramePreamble.encode(tag: frame.tag, count: count, length: length, into: &block)
            let first = segment(0)
            let inline = min(length(0), FrameLayout.inlineLength)
            if let head = first.getSlice(at: first.readerIndex, length: inline) { block.writeImmutableBuffer(head) }
            block.writeRepeatingByte(0, count: FrameLayout.inlineLength - inline)
            // The rest (segment 0 past the inline part, the other segments, each padded to
            // 16 bytes, and the epilogue) is sealed as it is read from the segments.
            let remainder = length(0) - inline
            var tailLength = 0
            if remainder > 0 || count > 1 {
                tailLength = FrameLayout.padded(remainder)
                for i in 1..<count { tailLength += FrameLayout.padded(length(i)) }
                if count > 1 { tailLength += FrameLayout.secureEpilogueLength }
            }
            var wire = allocator.buffer(capacity: FrameLayout.securePreambleLength + (tailLength > 0 ? tailLength + FrameLayout.gcmTagLength : 0))
            cipher.seal(block, into: &wire)
            if tailLength > 0 {
                cipher.seal(length: tailLength, into: &wire) { stream in
                    if remainder > 0, let rest = first.getSlice(at: first.readerIndex + inline, length: remainder) {
                        stream.append(rest)
                        stream.appendZeros(FrameLayout.padded(remainder) - remainder)
                    }
                    for i in 1..<count {
                        stream.append(segment(i))
                        stream.appendZeros(FrameLayout.padded(length(i)) - length(i))
                    }
                    if count > 1 {
                        stream.append(byte: FrameLayout.lateStatusComplete)
                        stream.appendZeros(FrameLayout.secureEpilogueLength - 1)
                    }
                }
            }
            protection = .secure(cipher)
            out.append(wire)
        }
    }

    /// Appends the wire form of a message frame to `out`. In crc mode the frame's own
    /// bytes (preamble, message header, its crc, epilogue) go into one buffer, appended
    /// as two slices of it around the front, middle and data, which are appended as they
    /// are: one allocation per message instead of a header buffer, a head, an epilogue
    /// and the segment list. The bytes are those of `encode(message.frame(), …)`. Secure
    /// mode seals the frame's pieces into one new buffer anyway and takes that path.
    package mutating func encode(message: Message, into out: inout [ByteBuffer], allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        guard case .crc = protection else { return encode(message.frame(), into: &out, allocator: allocator) }
        func segment(_ i: Int) -> ByteBuffer {
            switch i {
            case 1: return message.front
            case 2: return message.middle
            default: return message.data
            }
        }
        func length(_ i: Int) -> Int { i == 0 ? MessageHeader2.length : segment(i).readableBytes }
        var count = FrameLayout.maxSegments
        while count > 1 && length(count - 1) == 0 { count -= 1 }
        let epilogueLength = count > 1 ? FrameLayout.plainEpilogueLength : 0
        var wire = allocator.buffer(capacity: FrameLayout.preambleLength + MessageHeader2.length + FrameLayout.crcLength + epilogueLength)
        FramePreamble.encode(tag: .message, count: count, length: length, into: &wire)
        let headerStart = wire.writerIndex
        message.header.encode(into: &wire)
        let headerCRC = wire.withUnsafeReadableBytes { bytes in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(headerStart - wire.readerIndex)...]), seed: 0xFFFF_FFFF)
        }
        wire.writeDencU32(headerCRC)
        let headLength = wire.readableBytes
        out.reserveCapacity(out.count + count + 1)
        if count > 1 {
            wire.writeDencU8(FrameLayout.lateStatusComplete)
            for i in 1..<FrameLayout.maxSegments {
                wire.writeDencU32(i < count ? CRC32C.checksum(segment(i), seed: 0xFFFF_FFFF) : 0)
            }
        }
        // Sliced only once written: a slice taken earlier would share the storage, and
        // the next write would copy it.
        if let head = wire.getSlice(at: wire.readerIndex, length: headLength) { out.append(head) }
        guard count > 1 else { return }
        for i in 1..<count where length(i) > 0 { out.append(segment(i)) }
        if let epilogue = wire.getSlice(at: wire.readerIndex + headLength, length: epilogueLength) { out.append(epilogue) }
    }

    /// Appends the wire form of a message whose front is encoded here, straight into the
    /// frame's buffer (crc mode only): preamble, header, its crc, the front and the
    /// epilogue are written into `frames`' arena, shared with the other frames of the
    /// batch, where a front of its own would be another buffer (two allocations). The
    /// data is appended as it is. The bytes are those of ``encode(message:into:allocator:)``
    /// for the same message with the front encoded separately. Secure mode takes that
    /// path (its sealing copies anyway).
    package mutating func encode<Front: EncodableFront>(
        header: MessageHeader2, front: Front, data: ByteBuffer, into frames: inout OutboundFrames
    ) {
        guard case .crc = protection else {
            var buffer = ByteBufferAllocator().buffer(capacity: front.frontCapacity)
            front.encodeFront(into: &buffer)
            var out: [ByteBuffer] = []
            encode(message: Message(header: header, front: buffer, middle: ByteBuffer(), data: data), into: &out)
            return frames.append(contentsOf: out)
        }
        let headLength = FrameLayout.preambleLength + MessageHeader2.length + FrameLayout.crcLength
        let reserving = headLength + front.frontCapacity + FrameLayout.plainEpilogueLength
        frames.writeFrame(reserving: reserving, payload: data) { wire, base in
            // The front first, at its place; the preamble (which carries its length) and
            // the header are written in front of it afterwards.
            let frontStart = base + headLength
            wire.moveWriterIndex(to: frontStart)
            front.encodeFront(into: &wire)
            let frontEnd = wire.writerIndex
            let frontLength = frontEnd - frontStart
            let count = data.readableBytes > 0 ? 4 : (frontLength > 0 ? 2 : 1)
            func length(_ i: Int) -> Int {
                switch i {
                case 0: return MessageHeader2.length
                case 1: return frontLength
                case 3: return data.readableBytes
                default: return 0
                }
            }
            if count > 1 {
                let frontCRC = Self.checksum(of: wire, frontStart..<frontEnd)
                wire.writeDencU8(FrameLayout.lateStatusComplete)
                wire.writeDencU32(frontCRC)
                wire.writeDencU32(count > 2 ? Self.emptySegmentCRC : 0)
                wire.writeDencU32(count > 3 ? CRC32C.checksum(data, seed: 0xFFFF_FFFF) : 0)
            }
            let end = wire.writerIndex
            wire.moveWriterIndex(to: base)
            FramePreamble.encode(tag: .message, count: count, length: length, into: &wire)
            let headerStart = wire.writerIndex
            header.encode(into: &wire)
            wire.writeDencU32(Self.checksum(of: wire, headerStart..<wire.writerIndex))
            wire.moveWriterIndex(to: end)
            return (base..<frontEnd, count > 1 ? frontEnd..<end : nil)
        }
    }

    /// ``encode(header:front:data:into:)`` appending buffers of its own to `out`.
    package mutating func encode<Front: EncodableFront>(
        header: MessageHeader2, front: Front, data: ByteBuffer, into out: inout [ByteBuffer],
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) {
        var frames = OutboundFrames(capacity: front.frontCapacity + 128, allocator: allocator)
        encode(header: header, front: front, data: data, into: &frames)
        frames.drain { out.append($0) }
    }

    /// The CRC32C (seed ~0) of a segment with no bytes.
    static let emptySegmentCRC = CRC32C.checksum(ByteBuffer(), seed: 0xFFFF_FFFF)

    /// The CRC32C (seed ~0) of `range` of `buffer`'s storage, by index.
    private static func checksum(of buffer: ByteBuffer, _ range: Range<Int>) -> UInt32 {
        buffer.withUnsafeReadableBytes { bytes in
            let from = range.lowerBound - buffer.readerIndex
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[from..<(from + range.count)]), seed: 0xFFFF_FFFF)
        }
    }

    /// Convenience: the wire form as one buffer.
    package mutating func encode(_ frame: Frame) -> ByteBuffer {
        var pieces: [ByteBuffer] = []
        encode(frame, into: &pieces)
        guard var first = pieces.first else { return ByteBuffer() }
        for var piece in pieces.dropFirst() { first.writeBuffer(&piece) }
        return first
    }
}

/// A message front that can be encoded into any buffer (``FrameEncoder`` writes it
/// straight into the frame's own buffer).
package protocol EncodableFront {
    /// Room enough for the front (a bound: the encoder allocates once).
    var frontCapacity: Int { get }
    func encodeFront(into buffer: inout ByteBuffer)
}

/// A frame taken off the wire, with the exact bytes it arrived in when asked for
/// (AUTH_SIGNATURE covers the pre-authentication bytes).
package struct DecodedFrame: Sendable {
    package var frame: Frame
    package var wireBytes: ByteBuffer?
}

/// Accumulate-and-process parser for msgr2.1 frames.
///
/// Feed it the connection's inbound cumulation buffer; it consumes whole frames only and
/// tolerates any fragmentation. Every length is checked against ``FrameLimits`` before
/// anything is allocated; a bad crc, GCM tag, tag byte or length throws a
/// ``MessengerError`` and the connection must be closed.
package struct FrameDecoder: Sendable {
    private enum State: Sendable {
        case awaitingPreamble
        /// Preamble taken; `inline` is the decrypted inline part of segment 0 (secure mode),
        /// `rawPreamble` the preamble's wire bytes when recording.
        case awaitingRest(FramePreamble, inline: ByteBuffer, rawPreamble: ByteBuffer?)
    }

    package var protection: FrameProtection
    package var limits: FrameLimits
    /// Keep each frame's wire bytes (needed until authentication completes).
    package var recordWireBytes: Bool
    private var state: State = .awaitingPreamble

    package init(protection: FrameProtection = .crc, limits: FrameLimits = .default, recordWireBytes: Bool = false) {
        self.protection = protection
        self.limits = limits
        self.recordWireBytes = recordWireBytes
    }

    /// Bytes still needed before the next step can run (for diagnostics and tests).
    package var isMidFrame: Bool {
        switch state {
        case .awaitingPreamble: return false
        case .awaitingRest: return true
        }
    }

    /// How many more bytes the frame being read needs in all (its rest after the
    /// preamble), or nil between frames: the receiver reserves room for a large frame
    /// once instead of growing its buffer read by read.
    package var restAwaited: Int? {
        switch state {
        case .awaitingPreamble: return nil
        case .awaitingRest(let preamble, _, _): return restLength(preamble)
        }
    }

    private func restLength(_ preamble: FramePreamble) -> Int {
        let lengths = preamble.lengths
        switch protection {
        case .crc:
            var total = lengths[0] + FrameLayout.crcLength
            if lengths.count > 1 {
                total += lengths[1...].reduce(0, +) + FrameLayout.plainEpilogueLength
            }
            return total
        case .secure:
            let remainder = max(lengths[0] - FrameLayout.inlineLength, 0)
            if lengths.count == 1 {
                return remainder > 0 ? FrameLayout.padded(remainder) + FrameLayout.gcmTagLength : 0
            }
            var total = FrameLayout.padded(remainder)
            for length in lengths[1...] { total += FrameLayout.padded(length) }
            return total + FrameLayout.secureEpilogueLength + FrameLayout.gcmTagLength
        }
    }

    /// Takes the next whole frame from `buffer`, or returns nil when more bytes are needed.
    package mutating func next(from buffer: inout ByteBuffer) throws(MessengerError) -> DecodedFrame? {
        while true {
            switch state {
            case .awaitingPreamble:
                switch protection {
                case .crc:
                    guard let raw = buffer.readSlice(length: FrameLayout.preambleLength) else { return nil }
                    let preamble = try FramePreamble.decode(raw, limits: limits)
                    state = .awaitingRest(preamble, inline: ByteBuffer(), rawPreamble: recordWireBytes ? raw : nil)
                case .secure(var cipher):
                    guard let raw = buffer.readSlice(length: FrameLayout.securePreambleLength) else { return nil }
                    var block = try cipher.open(raw, what: "preamble")
                    protection = .secure(cipher)
                    // The opened block is exactly preamble + inline bytes.
                    let preambleBytes = block.readSlice(length: FrameLayout.preambleLength) ?? ByteBuffer()
                    let preamble = try FramePreamble.decode(preambleBytes, limits: limits)
                    let inlineLength = min(preamble.lengths[0], FrameLayout.inlineLength)
                    let inline = block.readSlice(length: inlineLength) ?? ByteBuffer()
                    state = .awaitingRest(preamble, inline: inline, rawPreamble: recordWireBytes ? raw : nil)
                }
            case .awaitingRest(let preamble, let inline, let rawPreamble):
                let needed = restLength(preamble)
                guard buffer.readableBytes >= needed else { return nil }
                let rest = buffer.readSlice(length: needed) ?? ByteBuffer()
                state = .awaitingPreamble
                let frame = try assemble(preamble, inline: inline, rest: rest)
                var wire: ByteBuffer? = nil
                if var raw = rawPreamble {
                    var restCopy = rest
                    raw.writeBuffer(&restCopy)
                    wire = raw
                }
                return DecodedFrame(frame: frame, wireBytes: wire)
            }
        }
    }

    private mutating func assemble(_ preamble: FramePreamble, inline: ByteBuffer, rest: ByteBuffer) throws(MessengerError) -> Frame {
        let lengths = preamble.lengths
        var rest = rest
        var segments = SmallArray<ByteBuffer>()
        switch protection {
        case .crc:
            // Lengths were checked: `rest` holds exactly what restLength computed.
            let seg0 = rest.readSlice(length: lengths[0]) ?? ByteBuffer()
            let crc0 = rest.readInteger(endianness: .little, as: UInt32.self) ?? 0
            guard CRC32C.checksum(seg0, seed: 0xFFFF_FFFF) == crc0 else { throw .badCRC("segment 0") }
            segments.append(seg0)
            guard lengths.count > 1 else { return Frame(tag: preamble.tag, segments: segments) }
            for length in lengths[1...] { segments.append(rest.readSlice(length: length) ?? ByteBuffer()) }
            let lateStatus = rest.readInteger(as: UInt8.self) ?? 0
            guard lateStatus & FrameLayout.lateStatusMask == FrameLayout.lateStatusComplete else {
                throw .protocolViolation("frame aborted by the sender (late status \(lateStatus))")
            }
            for i in 1..<FrameLayout.maxSegments {
                let crc = rest.readInteger(endianness: .little, as: UInt32.self) ?? 0
                if i < lengths.count, CRC32C.checksum(segments[i], seed: 0xFFFF_FFFF) != crc { throw .badCRC("segment \(i)") }
            }
            return Frame(tag: preamble.tag, segments: segments)
        case .secure(var cipher):
            let remainder = max(lengths[0] - FrameLayout.inlineLength, 0)
            var plain = ByteBuffer()
            if rest.readableBytes > 0 {
                plain = try cipher.open(rest, what: "frame")
                protection = .secure(cipher)
            }
            var seg0 = inline
            if remainder > 0 {
                var more = plain.readSlice(length: remainder) ?? ByteBuffer()
                plain.moveReaderIndex(forwardBy: min(FrameLayout.padded(remainder) - remainder, plain.readableBytes))
                seg0.writeBuffer(&more)
            }
            segments.append(seg0)
            guard lengths.count > 1 else { return Frame(tag: preamble.tag, segments: segments) }
            for length in lengths[1...] {
                segments.append(plain.readSlice(length: length) ?? ByteBuffer())
                plain.moveReaderIndex(forwardBy: min(FrameLayout.padded(length) - length, plain.readableBytes))
            }
            let lateStatus = plain.readInteger(as: UInt8.self) ?? 0
            guard lateStatus & FrameLayout.lateStatusMask == FrameLayout.lateStatusComplete else {
                throw .protocolViolation("frame aborted by the sender (late status \(lateStatus))")
            }
            return Frame(tag: preamble.tag, segments: segments)
        }
    }
}
