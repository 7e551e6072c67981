import Foundation
import NIOCore
import Testing

@testable import RADOSProto

/// SwiftRBD's OSDMap decoder and PG mapping against `osdmaptool`, every PG of the
/// pool, on maps osdmaptool creates (with a crushtool-built hierarchy imported and
/// pg_upmap_items computed by `osdmaptool --upmap --save`).
///
/// Skips (with a message) when osdmaptool or crushtool is not installed.
@Suite(
    "OSDMap placement matches osdmaptool",
    .requiresTools("osdmaptool", "crushtool")
)
struct OSDMapCompatibilityTests {
    static func tool(_ arguments: [String]) throws -> String {
        let result = try ClusterEnvironment.runOffline(arguments)
        guard result.status == 0 else {
            throw ClusterEnvironment.ToolFailure(message: "\(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return String(decoding: result.stdout, as: UTF8.self)
    }

    static func load(_ path: String) throws -> OSDMap {
        try OSDMap(decoding: ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// The PG lines (and pool headers) of an osdmaptool dump, without the statistics.
    static func pgLines(_ output: String, all: Bool) -> [Substring] {
        output.split(separator: "\n").filter { line in
            line.hasPrefix("pool ") || (line.first?.isNumber == true && line.contains(all ? " raw (" : "\t"))
        }
    }

    /// Builds a 1,024-OSD map: osdmaptool's default pool (16,384 PGs, size 3), a
    /// straw2 host/rack/root hierarchy from crushtool, OSDs marked up and in, and up
    /// to 200 pg_upmap_items from osdmaptool's balancer.
    static func buildMap(in dir: URL) throws -> String {
        let map = dir.appendingPathComponent("osdmap").path
        let crush = dir.appendingPathComponent("crush").path
        _ = try tool(["osdmaptool", "--createsimple", "1024", map, "--clobber", "--with-default-pool", "--pg-bits", "4"])
        _ = try tool(["crushtool", "--outfn", crush, "--build", "--num_osds", "1024", "host", "straw2", "8", "rack", "straw2", "8", "root", "straw2", "0"])
        _ = try tool(["osdmaptool", map, "--import-crush", crush])
        _ = try tool([
            "osdmaptool", map, "--mark-up-in", "--upmap", dir.appendingPathComponent("upmap.txt").path,
            "--upmap-deviation", "1", "--upmap-max", "200", "--save",
        ])
        return map
    }

    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-osdmap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func compare(_ expected: [Substring], _ ours: [String], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(expected.count == ours.count, "\(what): line count", sourceLocation: sourceLocation)
        var mismatches = 0
        for (index, line) in expected.enumerated() where index < ours.count && ours[index] != line {
            if mismatches < 5 { Issue.record("\(what)\nosdmaptool: \(line)\nswiftrbd:   \(ours[index])", sourceLocation: sourceLocation) }
            mismatches += 1
        }
        #expect(mismatches == 0, "\(what): \(mismatches) of \(expected.count) lines differ", sourceLocation: sourceLocation)
    }

    @Test("decodes osdmaptool --createsimple maps")
    func decodeSimple() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("simple").path
        _ = try Self.tool(["osdmaptool", "--createsimple", "64", path, "--clobber", "--with-default-pool"])
        let map = try Self.load(path)
        #expect(map.maxOSD == 64)
        #expect(map.epoch >= 1)
        #expect(map.poolNames[1] == "rbd")
        let pool = try #require(map.pools[1])
        #expect(pool.size == 3 && pool.minSize == 2 && pool.pgNum == 4096 && pool.pgpNum == 4096)
        #expect(pool.flags & PoolInfo.flagHashPSPool != 0)
        #expect(map.crush.maxDevices == 64)
    }

    @Test("every PG: raw, up and acting sets with pg_upmap_items (--test-map-pgs-dump-all)")
    func upmapDumpAll() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.buildMap(in: dir)
        let map = try Self.load(path)
        #expect(!map.pgUpmapItems.isEmpty, "osdmaptool --upmap produced pg_upmap_items")
        let expected = Self.pgLines(try Self.tool(["osdmaptool", path, "--test-map-pgs-dump-all"]), all: true)
        Self.compare(expected, OSDMapTestReport.pgDump(map: map, pool: nil, all: true), "--test-map-pgs-dump-all")
    }

    @Test("every PG with an OSD marked out (--test-map-pgs-dump --mark-out)")
    func markedOut() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.buildMap(in: dir)
        let map = try Self.load(path)
        // osdmaptool keeps only the last --mark-out it is given: one OSD per run.
        for osd: Int32 in [5, 166] {
            let expected = Self.pgLines(try Self.tool(["osdmaptool", path, "--mark-out", "\(osd)", "--test-map-pgs-dump", "--pool", "1"]), all: false)
            var marked = map
            marked.markOut(osd)
            Self.compare(expected, OSDMapTestReport.pgDump(map: marked, pool: 1, all: false), "--mark-out \(osd)")
        }
    }

    @Test("pg_num 96 with pgp_num 48 (stable mod and the placement seed fold differ)")
    func pgpNumBelowPGNum() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pgp").path
        let crush = dir.appendingPathComponent("crush").path
        _ = try Self.tool(["osdmaptool", "--createsimple", "12", path, "--clobber", "--with-default-pool", "--pg-bits", "3", "--pgp-bits", "2"])
        _ = try Self.tool(["crushtool", "--outfn", crush, "--build", "--num_osds", "12", "host", "straw2", "4", "root", "straw2", "0"])
        _ = try Self.tool(["osdmaptool", path, "--import-crush", crush])
        var map = try Self.load(path)
        #expect(map.pools[1]?.pgNum == 96 && map.pools[1]?.pgpNum == 48)
        map.markAllUpIn()
        let expected = Self.pgLines(try Self.tool(["osdmaptool", path, "--mark-up-in", "--test-map-pgs-dump-all"]), all: true)
        Self.compare(expected, OSDMapTestReport.pgDump(map: map, pool: nil, all: true), "pgp_num 48")
        for name in ["a", "rbd_data.5.0000000000000007", "rbd_header.77"] {
            let line = try Self.tool(["osdmaptool", path, "--mark-up-in", "--test-map-object", name, "--pool", "1"])
                .split(separator: "\n").first { $0.hasPrefix(" object ") }
            #expect(line.map(String.init) == OSDMapTestReport.objectLine(map: map, object: name, pool: 1))
        }
    }

    @Test("object names to PGs and OSDs (--test-map-object)")
    func objects() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.buildMap(in: dir)
        let map = try Self.load(path)
        let names = ["foo", "rbd_directory", "rbd_id.vm-disk", "rbd_header.10226b8b4567", "rbd_data.10226b8b4567.0000000000000000",
                     "rbd_data.10226b8b4567.00000000000003ff", "a", "abcdefghijkl", "abcdefghijklm", String(repeating: "x", count: 100)]
        for name in names {
            let expected = try Self.tool(["osdmaptool", path, "--test-map-object", name, "--pool", "1"])
                .split(separator: "\n").first { $0.hasPrefix(" object ") }
            #expect(expected.map(String.init) == OSDMapTestReport.objectLine(map: map, object: name, pool: 1), "object \(name)")
        }
    }

    @Test("rbdctl osdmap test-map-pgs prints exactly what osdmaptool prints (PG lines and statistics)")
    func rbdctlOutput() throws {
        guard let rbdctl = CRUSHCompatibilityTests.builtProduct("rbdctl") else {
            Issue.record("rbdctl binary not found beside the test bundle; run `swift build` first")
            return
        }
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let simple = dir.appendingPathComponent("simple").path
        _ = try Self.tool(["osdmaptool", "--createsimple", "256", simple, "--clobber", "--with-default-pool", "--pg-bits", "2"])
        let balanced = try Self.buildMap(in: dir)
        let cases: [(String, [String], [String])] = [
            (simple, ["--mark-up-in", "--test-map-pgs-dump"], ["--mark-up-in"]),
            (simple, ["--test-map-pgs-dump"], []),
            (balanced, ["--test-map-pgs-dump"], []),
            (balanced, ["--mark-out", "7", "--test-map-pgs-dump-all"], ["--mark-out", "7", "--all"]),
            (balanced, ["--test-map-pgs-dump", "--pool", "1"], ["--pool", "1"]),
        ]
        for (map, toolArgs, ourArgs) in cases {
            let expected = try Self.tool(["osdmaptool", map] + toolArgs)
            let ours = try Self.tool([rbdctl, "osdmap", "test-map-pgs", "-i", map] + ourArgs)
            #expect(ours == expected, "rbdctl osdmap test-map-pgs \(ourArgs) differs from osdmaptool \(toolArgs)")
        }
    }
}
