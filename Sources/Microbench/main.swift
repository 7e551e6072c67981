// Micro-benchmarks for the pure layers. Prints numbers; asserts nothing about speed.
//   swift run -c release Microbench [crc32c]
import Foundation
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
                print(String(format: "  %-12@ %8d-byte buffers: %6.2f GB/s  (crc %08x)", name as NSString, size, gbps, crc))
            }
        }
    }
}

let which = CommandLine.arguments.dropFirst().first ?? "all"
switch which {
case "crc32c", "all":
    benchCRC32C()
case "crush":
    benchCRUSH()
default:
    print("unknown benchmark \(which); known: crc32c")
    exit(2)
}
