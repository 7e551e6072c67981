import NIOCore

/// msgr2 frame tags. Source: ceph/ceph `src/msg/async/frames_v2.h`, kernel
/// `net/ceph/messenger_v2.c`.
package enum FrameTag: UInt8, Sendable, CaseIterable {
    case hello = 1
    case authRequest = 2
    case authBadMethod = 3
    case authReplyMore = 4
    case authRequestMore = 5
    case authDone = 6
    case authSignature = 7
    case clientIdent = 8
    case serverIdent = 9
    case identMissingFeatures = 10
    case sessionReconnect = 11
    case sessionReset = 12
    case sessionRetry = 13
    case sessionRetryGlobal = 14
    case sessionReconnectOK = 15
    case wait = 16
    case message = 17
    case keepalive2 = 18
    case keepalive2Ack = 19
    case ack = 20
}

/// Connection modes negotiated during authentication (`CEPH_CON_MODE_*`).
package enum ConnectionMode: UInt32, Sendable {
    case crc = 1
    case secure = 2
}

/// One msgr2 frame: a tag and one to four segments.
///
/// Segment 0 is the control payload; MESSAGE frames put `ceph_msg_header2` there and
/// front, middle and data in segments 1–3. Trailing empty segments are not sent.
package struct Frame: Sendable, Equatable {
    package var tag: FrameTag
    /// The segments (inline: a decoded frame allocates no list for them).
    package var segments: SmallArray<ByteBuffer>

    package init(tag: FrameTag, segments: SmallArray<ByteBuffer>) {
        self.tag = tag
        self.segments = segments
    }

    package init(tag: FrameTag, payload: ByteBuffer) {
        self.init(tag: tag, segments: SmallArray(single: payload))
    }

    /// The control segment.
    package var payload: ByteBuffer { segments.first ?? ByteBuffer() }
}

/// Sizes and limits of the msgr2.1 wire format.
package enum FrameLayout {
    package static let preambleLength = 32
    package static let maxSegments = 4
    package static let crcLength = 4
    /// Bytes of segment 0 sealed together with the preamble in secure mode.
    package static let inlineLength = 48
    package static let gcmTagLength = 16
    package static let gcmBlockLength = 16
    /// Secure preamble block on the wire: preamble + inline part + tag.
    package static let securePreambleLength = preambleLength + inlineLength + gcmTagLength
    /// crc-mode epilogue: late status, then the crcs of segments 1–3.
    package static let plainEpilogueLength = 13
    /// secure-mode epilogue: late status padded to one block.
    package static let secureEpilogueLength = 16
    package static let lateStatusComplete: UInt8 = 0x0E
    package static let lateStatusMask: UInt8 = 0x0F
    /// Alignment hints written into the preamble (advisory).
    package static let alignments: [UInt16] = [8, 8, 8, 4096]

    package static func padded(_ length: Int) -> Int { (length + gcmBlockLength - 1) / gcmBlockLength * gcmBlockLength }
}

/// Upper bounds for segment lengths accepted from a peer; checked before anything is allocated.
package struct FrameLimits: Sendable, Hashable {
    package var control: Int
    package var front: Int
    package var middle: Int
    package var data: Int

    package init(control: Int = 16 << 20, front: Int = 16 << 20, middle: Int = 16 << 20, data: Int = 64 << 20) {
        self.control = control
        self.front = front
        self.middle = middle
        self.data = data
    }

    package static let `default` = FrameLimits()

    func limit(segment index: Int) -> Int {
        switch index {
        case 0: return control
        case 1: return front
        case 2: return middle
        default: return data
        }
    }
}

/// A decoded preamble.
package struct FramePreamble: Sendable, Equatable {
    package var tag: FrameTag
    package var lengths: SegmentLengths

    /// A frame's segment lengths, one to four, held inline: decoding a preamble, once per
    /// frame received, makes no array.
    package struct SegmentLengths: RandomAccessCollection, Sendable, Equatable {
        private var storage: (Int, Int, Int, Int) = (0, 0, 0, 0)
        package private(set) var count = 0

        package init() {}

        package var startIndex: Int { 0 }
        package var endIndex: Int { count }

        package subscript(position: Int) -> Int {
            precondition(position >= 0 && position < count, "segment \(position) of \(count)")
            switch position {
            case 0: return storage.0
            case 1: return storage.1
            case 2: return storage.2
            default: return storage.3
            }
        }

        /// Appends a length; a preamble has at most ``FrameLayout/maxSegments``.
        package mutating func append(_ length: Int) {
            precondition(count < FrameLayout.maxSegments, "more than \(FrameLayout.maxSegments) segments")
            switch count {
            case 0: storage.0 = length
            case 1: storage.1 = length
            case 2: storage.2 = length
            default: storage.3 = length
            }
            count += 1
        }

        package static func == (a: SegmentLengths, b: SegmentLengths) -> Bool { a.elementsEqual(b) }
    }

    /// Encodes the 32-byte preamble with its crc (CRC32C seed 0 over the first 28 bytes).
    package static func encode(tag: FrameTag, lengths: [Int], into buffer: inout ByteBuffer) {
        encode(tag: tag, count: lengths.count, length: { lengths[$0] }, into: &buffer)
    }

    /// The same from a segment count and each segment's length (no array needed).
    static func encode(tag: FrameTag, count: Int, length: (Int) -> Int, into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeDencU8(tag.rawValue)
        buffer.writeDencU8(UInt8(count))
        for i in 0..<FrameLayout.maxSegments {
            if i < count {
                buffer.writeDencU32(UInt32(truncatingIfNeeded: length(i)))
                buffer.writeDencU16(FrameLayout.alignments[i])
            } else {
                buffer.writeDencU32(0)
                buffer.writeDencU16(0)
            }
        }
        buffer.writeDencU8(0)  // flags: no compression
        buffer.writeDencU8(0)  // reserved
        let crc = buffer.withUnsafeReadableBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start - buffer.readerIndex)..<(start - buffer.readerIndex + 28)]), seed: 0)
        }
        buffer.writeDencU32(crc)
    }

    /// Decodes and checks a 32-byte preamble.
    package static func decode(_ bytes: ByteBuffer, limits: FrameLimits) throws(MessengerError) -> FramePreamble {
        guard bytes.readableBytes >= FrameLayout.preambleLength else { throw .protocolViolation("short preamble") }
        let computed = bytes.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<28]), seed: 0) }
        let expected = bytes.getInteger(at: bytes.readerIndex + 28, endianness: .little, as: UInt32.self) ?? 0
        guard computed == expected else { throw .badCRC("preamble") }
        var b = bytes
        let rawTag = b.readInteger(as: UInt8.self) ?? 0
        let count = Int(b.readInteger(as: UInt8.self) ?? 0)
        guard let tag = FrameTag(rawValue: rawTag) else { throw .unknownTag(rawTag) }
        guard (1...FrameLayout.maxSegments).contains(count) else { throw .protocolViolation("segment count \(count)") }
        var lengths = SegmentLengths()
        for i in 0..<FrameLayout.maxSegments {
            let length = Int(b.readInteger(endianness: .little, as: UInt32.self) ?? 0)
            _ = b.readInteger(endianness: .little, as: UInt16.self)
            if i < count {
                guard length <= limits.limit(segment: i) else { throw .segmentTooLarge(index: i, length: length, limit: limits.limit(segment: i)) }
                lengths.append(length)
            }
        }
        let flags = b.readInteger(as: UInt8.self) ?? 0
        guard flags == 0 else { throw .protocolViolation("compressed frames are not supported") }
        // A frame of more than one segment must not end with an empty one.
        if count > 1, lengths[count - 1] == 0 { throw .protocolViolation("last segment is empty") }
        return FramePreamble(tag: tag, lengths: lengths)
    }
}

/// Why a connection was dropped by the messenger layer. Never carries key material.
package enum MessengerError: Error, Hashable, Sendable, CustomStringConvertible {
    case badBanner(String)
    case unsupportedFeatures(String)
    case badCRC(String)
    case badAuthTag(String)
    case unknownTag(UInt8)
    case segmentTooLarge(index: Int, length: Int, limit: Int)
    case protocolViolation(String)
    case malformed(DencError)
    case authenticationFailed(String)
    case badSignature
    case peerClosed
    /// Nothing arrived from the peer for too long (keepalives unanswered).
    case peerSilent

    package var description: String {
        switch self {
        case .badBanner(let s): return "bad banner: \(s)"
        case .unsupportedFeatures(let s): return "missing msgr2 features: \(s)"
        case .badCRC(let s): return "bad crc in \(s)"
        case .badAuthTag(let s): return "bad AES-GCM tag in \(s)"
        case .unknownTag(let t): return "unknown frame tag \(t)"
        case .segmentTooLarge(let i, let l, let limit): return "segment \(i) length \(l) exceeds the limit \(limit)"
        case .protocolViolation(let s): return "protocol violation: \(s)"
        case .malformed(let e): return e.description
        case .authenticationFailed(let s): return "authentication failed: \(s)"
        case .badSignature: return "peer's AUTH_SIGNATURE does not match"
        case .peerClosed: return "peer closed the connection"
        case .peerSilent: return "the peer stopped answering keepalives"
        }
    }

    /// The public form.
    package var radosError: RADOSError {
        switch self {
        case .authenticationFailed, .badSignature:
            return RADOSError(.authenticationFailed, "authentication with the peer failed", details: description)
        case .unsupportedFeatures:
            return RADOSError(.unsupported, "the peer requires features we do not support", details: description)
        case .peerClosed:
            return RADOSError(.connectionFailed, "the peer closed the connection")
        case .peerSilent:
            return RADOSError(.timedOut, "the peer stopped answering keepalives")
        case .malformed(let e):
            return e.radosError
        case .badBanner, .badCRC, .badAuthTag, .unknownTag, .segmentTooLarge, .protocolViolation:
            return RADOSError(.malformedData, "the peer sent invalid msgr2 data; the connection was dropped", details: description)
        }
    }
}
