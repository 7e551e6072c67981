import Foundation
import NIOCore
import RADOSProto

/// msgr2.1 frames as an OSD write request carries them (a 200-byte front, 4 KiB of data),
/// encoded and decoded in crc and secure mode; and secure mode's seal and open alone on
/// 4 KiB and 4 MiB (AES-128-GCM, the one pass over the payload it cannot avoid).
func benchFrames() {
    print("frames (msgr2.1)")
    let front = ByteBuffer(repeating: 0x5a, count: 200)
    let data = ByteBuffer(repeating: 0xa5, count: 4096)
    let frame = Frame(tag: .message, segments: [ByteBuffer(repeating: 1, count: 53), front, ByteBuffer(), data])
    let secret = (0..<FrameCipher.requiredSecretLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    guard let cipher = try? FrameCipher(connectionSecret: secret) else { return print("  no cipher") }
    for (label, protection, peer) in [("crc", FrameProtection.crc, FrameProtection.crc), ("secure", .secure(cipher), .secure(cipher.mirrored()))] {
        var encoder = FrameEncoder(protection: protection)
        var decoder = FrameDecoder(protection: peer)
        let rounds = label == "crc" ? 400_000 : 100_000
        var encodeNanos: UInt64 = 0, decodeNanos: UInt64 = 0, check = 0
        for _ in 0..<rounds {
            var pieces: [ByteBuffer] = []
            let started = now()
            encoder.encode(frame, into: &pieces)
            let encoded = now()
            var wire = pieces[0]
            for var piece in pieces.dropFirst() { wire.writeBuffer(&piece) }
            let joined = now()
            do {
                if let decoded = try decoder.next(from: &wire) { check &+= decoded.frame.segments.count }
            } catch {
                print("  decode failed: \(error)")
                exit(1)
            }
            decodeNanos += now() - joined
            encodeNanos += encoded - started
        }
        print(String(format: "  %-7@ 4 KiB write frame: encode %6.0f ns, decode %6.0f ns  (check %d)",
                     label as NSString, Double(encodeNanos) / Double(rounds), Double(decodeNanos) / Double(rounds), check))
    }
    for size in [4096, 4 << 20] {
        var sealer = cipher
        var opener = cipher.mirrored()
        let plain = ByteBuffer(repeating: 0x33, count: size)
        let rounds = max(1, (1 << 30) / size)
        var sealNanos: UInt64 = 0, openNanos: UInt64 = 0, check = 0
        for _ in 0..<rounds {
            var sealed = ByteBuffer()
            sealed.reserveCapacity(size + FrameLayout.gcmTagLength)
            let started = now()
            sealer.seal(plain, into: &sealed)
            let middle = now()
            guard let opened = try? opener.open(sealed, what: "bench") else { return print("  open failed") }
            openNanos += now() - middle
            sealNanos += middle - started
            check &+= opened.readableBytes
        }
        let bytes = Double(rounds * size)
        print(String(format: "  AES-128-GCM %8d-byte blocks: seal %5.2f GB/s, open %5.2f GB/s  (check %d)",
                     size, bytes / Double(sealNanos), bytes / Double(openNanos), check))
    }
}
