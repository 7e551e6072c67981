// Micro-benchmarks for the pure layers. Prints numbers; asserts nothing about speed.
//   swift run -c release Microbench [crc32c|denc|crush|frames|striper|all]
import Foundation
import NIOCore
import RADOSProto

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func benchCRC32C() {
    print("CRC32C (hardware available: \(CRC32C.hardwareAvailable))")
    for size in [4096, 4 << 20] {
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let totalBytes = 2 << 30
        let rounds = max(1, totalBytes / size)
        bytes.withUnsafeBytes { raw in
            for (name, fn) in [
                ("accelerated", { (s: UInt32) in CRC32C.checksum(raw, seed: s) }),
                ("software", { (s: UInt32) in CRC32C.software(raw, seed: s) }),
            ] as [(String, (UInt32) -> UInt32)] {
                let n = name == "software" ? max(1, rounds / 8) : rounds
                var crc: UInt32 = 0xFFFF_FFFF
                let start = now()
                for _ in 0..<n { crc = fn(crc) }
                let seconds = Double(now() - start) / 1e9
                let gbps = Double(n * size) / seconds / 1e9
                let label = name.padding(toLength: 12, withPad: " ", startingAt: 0)
                print(String(format: "  %@ %8d-byte buffers: %6.2f GB/s  (crc %08x)", label as NSString, size, gbps, crc))
            }
        }
    }
}

/// Decoding the fields an OSD op carries (spg_t, object_locator_t, the object name,
/// a SnapContext) plus an hobject_t, the way a reply or request decoder would.
func benchDenc() {
    var sample = ByteBuffer()
    sample.writeDencShardedPlacementGroupID(ShardedPlacementGroupID(pg: PlacementGroupID(pool: 2, seed: 0x1F)))
    sample.writeDencObjectLocator(ObjectLocator(pool: 2))
    sample.writeDencString("rbd_data.10226b8b4567.0000000000000042")
    sample.writeDencSnapContext(SnapContext(seq: 12, snaps: [12, 9, 4]))
    sample.writeDencHObject(HObject(name: "rbd_data.10226b8b4567.0000000000000042", hash: 0xDEAD_BEEF, pool: 2))
    let rounds = 2_000_000
    var checksum: UInt64 = 0
    let start = now()
    for _ in 0..<rounds {
        var buffer = sample
        do {
            let spg = try buffer.readDencShardedPlacementGroupID()
            let locator = try buffer.readDencObjectLocator()
            let name = try buffer.readDencString()
            let snapContext = try buffer.readDencSnapContext()
            let object = try buffer.readDencHObject()
            checksum &+= UInt64(spg.pg.seed) &+ UInt64(bitPattern: locator.pool) &+ UInt64(name.utf8.count)
                &+ snapContext.seq &+ UInt64(object.hash)
        } catch {
            print("decode failed: \(error)")
            exit(1)
        }
    }
    let nanoseconds = Double(now() - start) / Double(rounds)
    print("denc")
    print(String(format: "  decode spg_t + object_locator_t + name + SnapContext + hobject_t (%d bytes): %.0f ns  (check %llu)",
                 sample.readableBytes, nanoseconds, checksum))

    func each(_ label: String, _ write: (inout ByteBuffer) -> Void, _ read: (inout ByteBuffer) throws -> UInt64) {
        var one = ByteBuffer()
        write(&one)
        var sum: UInt64 = 0
        let start = now()
        for _ in 0..<rounds {
            var buffer = one
            sum &+= (try? read(&buffer)) ?? 0
        }
        let ns = Double(now() - start) / Double(rounds)
        print(String(format: "  %@ %3d bytes: %6.1f ns  (check %llu)",
                     label.padding(toLength: 18, withPad: " ", startingAt: 0) as NSString, one.readableBytes, ns, sum))
    }
    each("spg_t", { $0.writeDencShardedPlacementGroupID(ShardedPlacementGroupID(pg: PlacementGroupID(pool: 2, seed: 0x1F))) },
         { UInt64(try $0.readDencShardedPlacementGroupID().pg.seed) })
    each("object_locator_t", { $0.writeDencObjectLocator(ObjectLocator(pool: 2)) },
         { UInt64(bitPattern: try $0.readDencObjectLocator().pool) })
    each("string (38 B)", { $0.writeDencString("rbd_data.10226b8b4567.0000000000000042") },
         { UInt64(try $0.readDencString().utf8.count) })
    each("SnapContext (3)", { $0.writeDencSnapContext(SnapContext(seq: 12, snaps: [12, 9, 4])) },
         { try $0.readDencSnapContext().seq })
    each("hobject_t", { $0.writeDencHObject(HObject(name: "rbd_data.10226b8b4567.0000000000000042", hash: 0xDEAD_BEEF, pool: 2)) },
         { UInt64(try $0.readDencHObject().hash) })
    each("u32 (baseline)", { $0.writeDencU32(7) }, { UInt64(try $0.readDencU32()) })
    each("utime_t", { $0.writeDencUTime(UTime(rawSeconds: 1, nanoseconds: 2)) },
         { UInt64(try $0.readDencUTime().seconds) })
}

let which = CommandLine.arguments.dropFirst().first ?? "all"
switch which {
case "crc32c":
    benchCRC32C()
case "denc":
    benchDenc()
case "crush":
    benchCRUSH()
case "frames":
    benchFrames()
case "striper":
    benchStriper()
case "all":
    benchCRC32C()
    benchDenc()
    benchCRUSH()
    benchFrames()
    benchStriper()
default:
    print("unknown benchmark \(which); known: crc32c, denc, crush, frames, striper, all")
    exit(2)
}
