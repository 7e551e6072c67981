import ArgumentParser
import Foundation
import NIOCore
import RADOSProto

/// `rbdctl osdmap`: OSDMap tools, output-compatible with Ceph's `osdmaptool`.
struct OSDMapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "osdmap",
        abstract: "Inspect binary OSDMaps (like osdmaptool).",
        subcommands: [TestMapPGs.self, TestMapObject.self]
    )

    struct MapOptions: ParsableArguments {
        @Option(name: [.customShort("i"), .customLong("infn")], help: "Binary OSDMap (osdmaptool --createsimple, ceph osd getmap -o).")
        var input: String

        @Flag(name: .customLong("mark-up-in"), help: "Mark every OSD up and in first (not persisted), like osdmaptool.")
        var markUpIn = false

        @Option(name: .customLong("mark-out"), help: "Mark an OSD out first (repeatable).")
        var markOut: [Int32] = []

        func load() throws -> OSDMap {
            let data = try Data(contentsOf: URL(fileURLWithPath: input))
            var map = try OSDMap(decoding: ByteBuffer(bytes: data))
            if markUpIn { map.markAllUpIn() }
            for osd in markOut { map.markOut(osd) }
            return map
        }
    }

    /// `rbdctl osdmap test-map-pgs`: what osdmaptool's `--test-map-pgs-dump` (or `-dump-all`) prints on stdout.
    struct TestMapPGs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test-map-pgs",
            abstract: "Map every PG and print osdmaptool's --test-map-pgs-dump lines.", discussion: "Example:\n  rbdctl osdmap test-map-pgs --pool 2 osdmap.bin"
        )

        @OptionGroup var options: MapOptions

        @Option(name: .customLong("pool"), help: "Only this pool.")
        var pool: Int64?

        @Flag(name: .customLong("all"), help: "Print raw, up and acting sets (--test-map-pgs-dump-all).")
        var all = false

        func run() throws {
            let map = try options.load()
            var out = options.markUpIn ? "marking all OSDs up and in\n" : ""
            for osd in options.markOut { out += "marking OSD@\(osd) as out\n" }
            out += OSDMapTestReport.pgDump(map: map, pool: pool, all: all).joined(separator: "\n")
            out += "\n"
            out += OSDMapTestReport.statistics(map: map, pool: pool).joined(separator: "\n")
            out += "\n"
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }

    /// `rbdctl osdmap test-map-object`: osdmaptool's `--test-map-object NAME --pool N` line.
    struct TestMapObject: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test-map-object",
            abstract: "Map one object name to its PG and acting set.", discussion: "Example:\n  rbdctl osdmap test-map-object --pool 2 rbd_header.10276b8b4567 osdmap.bin"
        )

        @OptionGroup var options: MapOptions

        @Argument(help: "Object name.")
        var object: String

        @Option(name: .customLong("pool"), help: "Pool id.")
        var pool: Int64

        @Option(name: .customLong("namespace"), help: "Object namespace.")
        var namespace: String = ""

        func run() throws {
            let map = try options.load()
            guard let line = OSDMapTestReport.objectLine(map: map, object: object, pool: pool, namespace: namespace) else {
                throw ValidationError("there is no pool \(pool)")
            }
            print(line)
        }
    }
}
