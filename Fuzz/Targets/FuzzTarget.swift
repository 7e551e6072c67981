import DiskImageFormats
import NIOCore
import RADOSProto
import RBDCore

/// The decoders of untrusted input that the fuzzer drives, one per case: what comes
/// from the network (frames, messages, maps, auth replies), what comes from files a user
/// points us at (ceph.conf, keyrings, qcow2 images) and what a user types (`rbd:` names).
///
/// Each run takes arbitrary bytes and must return or throw, never trap, and stay within
/// bounded memory. It returns whether the input was accepted (decoded without error), so
/// the seed corpus can be checked to be made of valid inputs.
package enum FuzzTarget: String, CaseIterable, Sendable {
    /// The msgr2.1 frame decoder in crc mode, each frame's payload then handed to the
    /// control-frame or message decoder its tag and type name.
    case frameCRC = "frame-crc"
    /// The frame decoder in secure mode (AES-128-GCM with a fixed session secret): the
    /// input is split into chunks that the harness seals with that secret, so frames
    /// reach the decoder past the GCM check, as from a peer that holds the key.
    case frameSecure = "frame-secure"
    /// An `MOSDOpReply` front (message version 8).
    case osdOpReply = "osd-op-reply"
    /// An `MOSDMap` front: full and incremental OSD maps, each decoded in turn.
    case osdMapMessage = "osd-map-message"
    /// An `MMonMap` front (a monmap as a byte list).
    case monMap = "mon-map"
    /// An `MAuthReply` front, its payload then read as a cephx reply for a fixed key.
    case authReply = "auth-reply"
    /// A whole encoded OSDMap (what `ceph osd getmap` writes), placement then computed.
    case osdMap = "osd-map"
    /// A compiled CRUSH map (what `ceph osd getcrushmap` writes), a rule then run.
    case crushMap = "crush-map"
    /// ceph.conf text.
    case confFile = "conf-file"
    /// A keyring file.
    case keyring = "keyring"
    /// An image name as `rbdctl` and QEMU's `rbd:` take it.
    case imageSpec = "image-spec"
    /// A qcow2 file, read as `rbdctl convert` reads it.
    case qcow2 = "qcow2"

    /// Runs the target on `bytes`; true when the input decoded without error.
    @discardableResult
    package func run(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .frameCRC: return Self.frames(ByteBuffer(bytes: bytes), secure: false)
        case .frameSecure: return Self.frames(ByteBuffer(bytes: bytes), secure: true)
        case .osdOpReply:
            return (try? MOSDOpReply.decode(front: ByteBuffer(bytes: bytes), version: 8)) != nil
        case .osdMapMessage:
            return Self.osdMapMessage(ByteBuffer(bytes: bytes))
        case .monMap:
            return (try? MMonMap.decode(Message(type: MessageType.monMap, version: 1, front: ByteBuffer(bytes: bytes)))) != nil
        case .authReply:
            return Self.authReply(ByteBuffer(bytes: bytes))
        case .osdMap:
            guard let map = try? OSDMap(decoding: ByteBuffer(bytes: bytes)) else { return false }
            Self.exercise(map)
            return true
        case .crushMap:
            guard let map = try? CRUSHMap(decoding: ByteBuffer(bytes: bytes)) else { return false }
            Self.exercise(map)
            return true
        case .confFile:
            return (try? ConfFile.parse(bytes: Array(bytes), origin: "fuzz")) != nil
        case .keyring:
            return (try? Keyring.parse(bytes: Array(bytes), origin: "fuzz")) != nil
        case .imageSpec:
            return (try? ImageSpec.parse(String(decoding: bytes, as: UTF8.self))) != nil
        case .qcow2:
            return Self.qcow2(Array(bytes))
        }
    }

    /// Runs the target on a byte array (tests and corpus replay).
    @discardableResult
    package func run(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { run($0) }
    }

    // MARK: Frames

    /// The fixed connection secret of the secure-mode target (key and two nonces).
    static let sessionSecret: [UInt8] = (0..<UInt8(FrameCipher.requiredSecretLength)).map { $0 &* 37 &+ 11 }

    /// Limits small enough that a frame claiming more is refused before allocation, as a
    /// client's decoder does with its own limits.
    static let limits = FrameLimits(control: 1 << 16, front: 1 << 20, middle: 1 << 16, data: 1 << 20)

    static func frames(_ input: ByteBuffer, secure: Bool) -> Bool {
        var decoder: FrameDecoder
        var stream: ByteBuffer
        if secure {
            guard let cipher = try? FrameCipher(connectionSecret: sessionSecret) else { return false }
            // The peer seals with the mirrored cipher of ours.
            var sealer = cipher.mirrored()
            decoder = FrameDecoder(protection: .secure(cipher), limits: limits)
            stream = ByteBuffer()
            // Chunk layout: u16 little-endian length, then that many bytes to seal.
            var rest = input
            while let length = rest.readInteger(endianness: .little, as: UInt16.self) {
                guard let chunk = rest.readSlice(length: min(Int(length), rest.readableBytes)) else { break }
                sealer.seal(chunk, into: &stream)
            }
        } else {
            decoder = FrameDecoder(protection: .crc, limits: limits)
            stream = input
        }
        var accepted = false
        do {
            while let decoded = try decoder.next(from: &stream) {
                accepted = true
                dispatch(decoded.frame)
            }
        } catch {
            return false
        }
        return accepted
    }

    /// Hands a frame to the decoder the client would use for it.
    static func dispatch(_ frame: Frame) {
        let payload = frame.payload
        switch frame.tag {
        case .hello: _ = try? HelloFrame.decode(payload)
        case .authBadMethod: _ = try? AuthBadMethodFrame.decode(payload)
        case .authDone: _ = try? AuthDoneFrame.decode(payload)
        case .serverIdent: _ = try? ServerIdentFrame.decode(payload)
        case .message:
            let segments = frame.segments
            guard let first = segments.first, let header = try? MessageHeader2.decode(first) else { return }
            func segment(_ i: Int) -> ByteBuffer { i < segments.count ? segments[i] : ByteBuffer() }
            let message = Message(header: header, front: segment(1), middle: segment(2), data: segment(3))
            switch header.type {
            case MessageType.monMap: _ = try? MMonMap.decode(message)
            case MessageType.authReply: _ = try? MAuthReply.decode(message)
            case MessageType.osdMap: _ = try? MOSDMap.decode(message)
            case MessageType.monSubscribeAck: _ = try? MMonSubscribeAck.decode(message)
            case MessageType.monGetVersionReply: _ = try? MMonGetVersionReply.decode(message)
            case MessageType.monCommandAck: _ = try? MMonCommandAck.decode(message)
            case MOSDOpReply.messageType: _ = try? MOSDOpReply.decode(front: message.front, version: header.version)
            case MWatchNotify.messageType: _ = try? MWatchNotify.decode(front: message.front, data: message.data, version: header.version)
            case MOSDBackoff.messageType: _ = try? MOSDBackoff.decode(front: message.front, version: header.version)
            default: _ = try? MPoolOpReply.decode(message)
            }
        default: break
        }
    }

    // MARK: Messages and maps

    static func osdMapMessage(_ front: ByteBuffer) -> Bool {
        guard let message = try? MOSDMap.decode(Message(type: MessageType.osdMap, version: 4, front: front)) else { return false }
        for bytes in message.fullMaps.values {
            if let map = try? OSDMap(decoding: bytes) { exercise(map) }
        }
        for bytes in message.incrementalMaps.values {
            _ = try? OSDMapIncremental(decoding: bytes)
        }
        return true
    }

    /// The fixed key the auth target decrypts with.
    static let authKey = CryptoKey(secret: (0..<16).map { UInt8($0) &* 7 })

    static func authReply(_ front: ByteBuffer) -> Bool {
        guard let reply = try? MAuthReply.decode(Message(type: MessageType.authReply, version: 1, front: front)) else { return false }
        _ = try? CephXMonitorAuth.decodeAuthenticateReply(reply.payload, secret: authKey, previousTickets: [])
        var auth = CephXMonitorAuth(entityName: "client.fuzz", secret: authKey)
        _ = auth.initialPayload()
        _ = try? auth.handleReplyMore(reply.payload)
        return true
    }

    /// Computes a few placements, as the objecter does with every new map.
    static func exercise(_ map: OSDMap) {
        let mapper = CRUSHMapper(map: map.crush)
        for pool in map.pools.keys.sorted().prefix(4) {
            for name in ["rbd_header.0", "rbd_data.1.0000000000000000"] {
                guard let pg = map.placementGroup(object: name, pool: pool) else { continue }
                _ = map.mapping(pg, mapper: mapper)
            }
        }
    }

    /// Runs each rule for a few inputs, as placement does.
    static func exercise(_ map: CRUSHMap) {
        let mapper = CRUSHMapper(map: map)
        let weights = [UInt32](repeating: 0x10000, count: 64)
        var result: [Int32] = []
        weights.withUnsafeBufferPointer { weights in
            for ruleID in 0..<min(map.rules.count, 4) {
                for x in 0..<Int32(8) {
                    mapper.doRule(ruleID, x: x, resultMax: 3, weights: weights, into: &result)
                }
            }
        }
    }

    // MARK: Files

    static func qcow2(_ bytes: [UInt8]) -> Bool {
        guard var reader = try? QCOW2Reader(source: MemorySource(bytes)) else { return false }
        // Read the whole guest in steps, bounded so a huge virtual size costs little.
        var offset: UInt64 = 0
        var steps = 0
        while offset < reader.virtualSize, steps < 64 {
            guard (try? reader.segments(at: offset, length: 1 << 20)) != nil else { return false }
            offset += 1 << 20
            steps += 1
        }
        return true
    }
}
