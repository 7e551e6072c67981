// CRUSH mapping throughput: a 1,024-OSD straw2 map (8 OSDs per host, 8 hosts per rack),
// 3 replicas, chooseleaf firstn over hosts. The map is built by `crushtool --build`
// when crushtool is installed, and crushtool's own `--test` time on the same input is
// printed beside ours (crushtool's includes process start-up and printing nothing).
import Foundation
import NIOCore
import RADOSProto

func benchCRUSH() {
    print("CRUSH (1,024 OSDs, straw2 host/rack/root, 3 replicas)")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-bench-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("map").path
    guard runTool(["crushtool", "--outfn", path, "--build", "--num_osds", "1024", "host", "straw2", "8", "rack", "straw2", "8", "root", "straw2", "0"]) != nil,
        let data = FileManager.default.contents(atPath: path),
        let map = try? CRUSHMap(decoding: ByteBuffer(bytes: data))
    else {
        print("  skipped: crushtool is not installed (it builds the benchmark map)")
        return
    }
    let mapper = CRUSHMapper(map: map, maxResult: 16)
    let weights = [UInt32](repeating: 0x10000, count: Int(map.maxDevices))
    var result: [Int32] = []
    result.reserveCapacity(16)
    let count: Int32 = 1_000_000
    var checksum: Int64 = 0
    let start = now()
    weights.withUnsafeBufferPointer { w in
        for x in 0..<count {
            mapper.doRule(0, x: x, resultMax: 3, weights: w, into: &result)
            checksum &+= Int64(result.first ?? 0)
        }
    }
    let seconds = Double(now() - start) / 1e9
    print(String(format: "  swiftrbd:  %9.0f mappings/s  (%d mappings in %.3f s, checksum %lld)", Double(count) / seconds, count, seconds, checksum))

    // crushtool --test on the same map and inputs, output discarded (it still formats statistics).
    let toolStart = now()
    if runTool(["crushtool", "-i", path, "--test", "--num-rep", "3", "--min-x", "0", "--max-x", "\(count - 1)"]) != nil {
        let toolSeconds = Double(now() - toolStart) / 1e9
        print(String(format: "  crushtool: %9.0f mappings/s  (%d mappings in %.3f s, whole process)", Double(count) / toolSeconds, count, toolSeconds))
        print(String(format: "  ratio:     %.2fx crushtool's rate", toolSeconds / seconds))
    }
}

/// Runs a command, discarding its output; nil when it cannot start or fails.
private func runTool(_ arguments: [String]) -> Int32? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    process.waitUntilExit()
    return process.terminationStatus == 0 ? 0 : nil
}
