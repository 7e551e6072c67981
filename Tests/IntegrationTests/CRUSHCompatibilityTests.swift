import Foundation
import NIOCore
import Testing

@testable import RADOSProto

/// SwiftRBD's CRUSH mapper against Ceph's own `crushtool --test --show-mappings`,
/// line for line, on maps that crushtool builds and compiles.
///
/// Skips (with a message) when crushtool is not installed.
@Suite("CRUSH mappings match crushtool", .requiresTools("crushtool"))
struct CRUSHCompatibilityTests {
    /// A scratch directory for the maps of one test.
    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-crush-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func crushtool(_ arguments: [String], input: Data? = nil) throws -> Data {
        let result = try ClusterEnvironment.runOffline(["crushtool"] + arguments, input: input)
        guard result.status == 0 else {
            throw ClusterEnvironment.ToolFailure(message: "crushtool \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    static func loadMap(_ path: String) throws -> CRUSHMap {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try CRUSHMap(decoding: ByteBuffer(bytes: data))
    }

    /// Compares our lines with crushtool's for one configuration; returns the number of mappings compared.
    @discardableResult
    static func compare(
        map path: String, numRep: Int, rule: Int? = nil, minX: Int32 = 0, maxX: Int32 = 100_000,
        deviceWeights: [Int32: Double] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Int {
        var args = ["-i", path, "--test", "--show-mappings", "--num-rep", "\(numRep)", "--min-x", "\(minX)", "--max-x", "\(maxX)"]
        if let rule { args += ["--rule", "\(rule)"] }
        for (device, weight) in deviceWeights.sorted(by: { $0.key < $1.key }) {
            args += ["--weight", "\(device)", "\(weight)"]
        }
        let expected = String(decoding: try crushtool(args), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        let map = try loadMap(path)
        let ours = CRUSHTestReport.mappings(
            map: map, rule: rule, numRep: numRep, minX: minX, maxX: maxX,
            deviceWeights: deviceWeights.mapValues(CRUSHTestReport.fixedWeight)
        )
        #expect(ours.count == expected.count, "line count for \(args.joined(separator: " "))", sourceLocation: sourceLocation)
        var mismatches = 0
        for (index, line) in expected.enumerated() where index < ours.count && ours[index] != line {
            if mismatches < 5 {
                Issue.record("crushtool: \(line)\nswiftrbd:  \(ours[index])", sourceLocation: sourceLocation)
            }
            mismatches += 1
        }
        #expect(mismatches == 0, "\(mismatches) of \(expected.count) mappings differ for \(args.joined(separator: " "))", sourceLocation: sourceLocation)
        return expected.count
    }

    @Test("1,024 OSDs, straw2 hosts and racks, replicated chooseleaf firstn")
    func straw2Build() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let map = dir.appendingPathComponent("straw2").path
        _ = try Self.crushtool(["--outfn", map, "--build", "--num_osds", "1024", "host", "straw2", "8", "rack", "straw2", "8", "root", "straw2", "0"])
        for numRep in [1, 3, 5] {
            try Self.compare(map: map, numRep: numRep)
        }
    }

    @Test("1,024 OSDs, every bucket algorithm (uniform, list, tree, straw, straw2)")
    func mixedBuckets() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let map = dir.appendingPathComponent("mixed").path
        _ = try Self.crushtool([
            "--outfn", map, "--build", "--num_osds", "1024",
            "host", "uniform", "8", "rack", "list", "4", "row", "tree", "4", "room", "straw", "2", "root", "straw2", "0",
        ])
        try Self.compare(map: map, numRep: 3)
        try Self.compare(map: map, numRep: 7, maxX: 20_000)
    }

    @Test("reweighted items and devices with weight below 1.0")
    func reweighted() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("base").path
        let map = dir.appendingPathComponent("reweighted").path
        _ = try Self.crushtool(["--outfn", base, "--build", "--num_osds", "1024", "host", "straw2", "8", "rack", "straw2", "8", "root", "straw2", "0"])
        _ = try Self.crushtool(["-i", base, "--reweight-item", "osd.5", "0.5", "-o", map])
        _ = try Self.crushtool(["-i", map, "--reweight-item", "host3", "2.25", "-o", map])
        _ = try Self.crushtool(["-i", map, "--reweight-item", "osd.700", "0", "-o", map])
        try Self.compare(map: map, numRep: 3)
        try Self.compare(map: map, numRep: 3, maxX: 20_000, deviceWeights: [0: 0.5, 1: 0.0, 9: 0.25, 100: 0.75, 513: 0.1])
    }

    @Test("compiled text map: indep (erasure) rules, choose + chooseleaf, tries steps, device classes, choose_args")
    func compiledRules() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("base").path
        _ = try Self.crushtool(["--outfn", base, "--build", "--num_osds", "256", "host", "straw2", "8", "rack", "straw2", "4", "root", "straw2", "0"])
        var text = String(decoding: try Self.crushtool(["-d", base]), as: UTF8.self)
        // Device classes: even devices are hdd, odd ones ssd (creates shadow trees).
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("device "), let id = Int(line.split(separator: " ")[1]) {
                lines.append("\(line) class \(id % 2 == 0 ? "hdd" : "ssd")")
            } else {
                lines.append(String(line))
            }
        }
        text = lines.joined(separator: "\n")
        let rules = """
            rule ec {
            \tid 1
            \ttype erasure
            \tmin_size 3
            \tmax_size 20
            \tstep set_chooseleaf_tries 5
            \tstep set_choose_tries 100
            \tstep take root
            \tstep chooseleaf indep 0 type host
            \tstep emit
            }
            rule rack_then_host {
            \tid 2
            \ttype replicated
            \tmin_size 1
            \tmax_size 10
            \tstep take root
            \tstep choose firstn 0 type rack
            \tstep chooseleaf firstn 1 type host
            \tstep emit
            }
            rule indep_osds {
            \tid 3
            \ttype erasure
            \tmin_size 1
            \tmax_size 20
            \tstep take root
            \tstep choose indep 3 type rack
            \tstep choose indep 2 type osd
            \tstep emit
            }
            rule hdd_only {
            \tid 4
            \ttype replicated
            \tmin_size 1
            \tmax_size 10
            \tstep set_chooseleaf_vary_r 0
            \tstep set_choose_local_tries 1
            \tstep take root class hdd
            \tstep chooseleaf firstn 0 type host
            \tstep emit
            }
            rule ssd_indep {
            \tid 5
            \ttype erasure
            \tmin_size 1
            \tmax_size 20
            \tstep set_chooseleaf_stable 0
            \tstep take root class ssd
            \tstep chooseleaf indep 0 type rack
            \tstep emit
            }

            """
        // choose_args (key 0, which crushtool --test looks up): a weight set with two positions for host0 (id -1).
        let chooseArgs = """
            choose_args 0 {
              {
                bucket_id -1
                weight_set [
                  [ 1.000 0.500 2.000 1.000 0.000 1.000 1.500 1.000 ]
                  [ 0.250 1.000 1.000 3.000 1.000 1.000 1.000 0.100 ]
                ]
              }
            }

            """
        text = text.replacingOccurrences(of: "# end crush map", with: rules + chooseArgs + "# end crush map")
        let source = dir.appendingPathComponent("map.txt")
        try text.write(to: source, atomically: true, encoding: .utf8)
        let map = dir.appendingPathComponent("compiled").path
        _ = try Self.crushtool(["-c", source.path, "-o", map])

        let decoded = try Self.loadMap(map)
        #expect(!decoded.classBuckets.isEmpty, "device classes produce shadow trees")
        #expect(decoded.chooseArgs[0]?.args.first??.weightSets.count == 2, "choose_args decoded")

        for rule in 0...5 {
            for numRep in [3, 6] {
                try Self.compare(map: map, numRep: numRep, rule: rule, maxX: 20_000)
            }
        }
    }

    @Test("rbdctl crush test prints exactly crushtool's lines")
    func rbdctlOutput() throws {
        guard let rbdctl = Self.builtProduct("rbdctl") else {
            Issue.record("rbdctl binary not found beside the test bundle; run `swift build` first")
            return
        }
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let map = dir.appendingPathComponent("straw2").path
        _ = try Self.crushtool(["--outfn", map, "--build", "--num_osds", "1024", "host", "straw2", "8", "rack", "straw2", "8", "root", "straw2", "0"])
        let args = ["--num-rep", "3", "--min-x", "0", "--max-x", "100000", "--show-mappings"]
        let expected = try Self.crushtool(["-i", map, "--test"] + args)
        let ours = try ClusterEnvironment.runOffline([rbdctl, "crush", "test", "-i", map] + args)
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(ours.stdout == expected, "rbdctl crush test output differs from crushtool --test")
    }

    /// An executable built into the same directory as the test bundle, if present.
    static func builtProduct(_ name: String) -> String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}
