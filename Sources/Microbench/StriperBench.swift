import Foundation
import RBDCore

/// Image extents mapped to object extents, as every image I/O maps them: a 4 KiB I/O
/// with the default layout (4 MiB objects, no striping), and a 64 KiB I/O over fancy
/// striping (64 KiB units, 16 objects a set).
func benchStriper() {
    print("Striper")
    guard let plain = try? StripeLayout(objectSize: 4 << 20), let fancy = try? StripeLayout(objectSize: 4 << 20, stripeUnit: 64 << 10, stripeCount: 16) else {
        return print("  layouts refused")
    }
    for (label, layout, length) in [("4 KiB, default layout", plain, UInt64(4096)), ("64 KiB, 64 KiB x 16 striping", fancy, UInt64(64 << 10))] {
        let rounds = 5_000_000
        var check: UInt64 = 0
        var offset: UInt64 = 0
        let started = now()
        for _ in 0..<rounds {
            Striper.forEachPiece(layout, offset: offset, length: length) { object, objectOffset, pieceLength, _ in
                check &+= object &+ objectOffset &+ pieceLength
            }
            offset = (offset &+ 0x9E37_79B9_7F4A_7C15) % (1 << 40) / 4096 * 4096
        }
        let seconds = Double(now() - started) / 1e9
        print(String(format: "  %-30@ %6.1f M mappings/s  (check %llu)", label as NSString, Double(rounds) / seconds / 1e6, check))
    }
}
