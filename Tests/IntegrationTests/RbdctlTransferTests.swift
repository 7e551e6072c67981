import Foundation
import Testing

/// `rbdctl import`, `export` and `bench` against Ceph's `rbd`: files round-trip between
/// the two tools byte for byte, sparse files stay sparse, and bench prints rbd's shape.
@Suite(.requiresCluster)
struct RbdctlTransferTests {
    static func rbdctl(_ arguments: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let conf = try #require(ClusterEnvironment.cephConf)
        return try ClusterEnvironment.run([ClusterEnvironment.rbdctl, arguments[0], "-c", conf] + arguments.dropFirst())
    }

    static func rbd(_ arguments: [String]) throws -> Data { try ClusterEnvironment.ceph("rbd", arguments) }

    static func temporaryFile(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UInt32.random(in: 0...UInt32.max))").path
    }

    /// 12 MiB + 777 bytes: random data, a 9 MiB hole (whole objects in both layouts
    /// tested), more data, an unaligned tail.
    static func sampleFile() -> Data {
        var rng = IOTestRNG(seed: 0x7e57)
        var bytes = IOTestRNG.bytes(1 << 20, using: &rng)
        bytes += [UInt8](repeating: 0, count: 9 << 20)
        bytes += IOTestRNG.bytes((2 << 20) + 777, using: &rng)
        return Data(bytes)
    }

    @Test(arguments: [
        ("default", [String]()),
        ("striped", ["--object-size", "1M", "--stripe-unit", "64K", "--stripe-count", "4"]),
    ])
    func importExportRoundTripWithRbd(label: String, layout: [String]) throws {
        let data = Self.sampleFile()
        let source = Self.temporaryFile("src"), ours = Self.temporaryFile("ours"), theirs = Self.temporaryFile("theirs")
        try data.write(to: URL(fileURLWithPath: source))
        defer { for path in [source, ours, theirs] { try? FileManager.default.removeItem(atPath: path) } }
        let name = "xfer-\(label)-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            _ = try? Self.rbd(["snap", "purge", "--no-progress", "rbd/\(name)"])
            for image in [name, name + "-back", name + "-stdin", name + "-theirs"] { _ = try? Self.rbd(["rm", "--no-progress", "rbd/\(image)"]) }
        }

        // Our import, read by rbd.
        let imported = try Self.rbdctl(["import", "--no-progress", "--image-feature", "layering"] + layout + [source, "rbd/\(name)"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try Self.rbd(["export", "--no-progress", "rbd/\(name)", "-"]) == data)
        let info = String(decoding: try Self.rbd(["info", "rbd/\(name)"]), as: UTF8.self)
        if !layout.isEmpty { #expect(info.contains("stripe unit: 64 KiB") && info.contains("stripe count: 4")) }
        // The hole was not written: the same data objects, of the same sizes, as rbd's
        // own import of the file.
        _ = try Self.rbd(["import", "--no-progress", "--image-feature", "layering"] + layout + [source, "rbd/\(name)-theirs"])
        #expect(try Self.dataObjects(name + "-theirs") == Self.dataObjects(name))
        #expect(try Self.dataObjects(name).count < Int(data.count >> 20), "import wrote the zero hole")
        // Our export (a sparse file) equals rbd's, at the head and at a snapshot.
        _ = try Self.rbd(["snap", "create", "--no-progress", "rbd/\(name)@one"])
        _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "256K", "--io-pattern", "rand", "rbd/\(name)"])
        for spec in ["rbd/\(name)", "rbd/\(name)@one"] {
            try? FileManager.default.removeItem(atPath: ours)
            try? FileManager.default.removeItem(atPath: theirs)
            let exported = try Self.rbdctl(["export", "--no-progress", spec, ours])
            #expect(exported.status == 0, "\(exported.stderr)")
            _ = try Self.rbd(["export", "--no-progress", spec, theirs])
            #expect(try Data(contentsOf: URL(fileURLWithPath: ours)) == Data(contentsOf: URL(fileURLWithPath: theirs)), "\(spec)")
            let stdout = try Self.rbdctl(["export", "--no-progress", spec, "-"])
            #expect(stdout.stdout == (try Data(contentsOf: URL(fileURLWithPath: theirs))), "\(spec) to stdout")
        }
        var status = stat()
        #expect(stat(ours, &status) == 0)
        #expect(Int(status.st_blocks) * 512 < data.count, "the exported file is not sparse")
        // rbd refuses an existing destination; so do we.
        #expect(try Self.rbdctl(["export", "--no-progress", "rbd/\(name)", ours]).status == 17)

        // rbd imports our export back to the same bytes; our stdin import too.
        _ = try Self.rbd(["import", "--no-progress", ours, "rbd/\(name)-back"])
        #expect(try Self.rbd(["export", "--no-progress", "rbd/\(name)-back", "-"]) == Data(contentsOf: URL(fileURLWithPath: ours)))
        let conf = try #require(ClusterEnvironment.cephConf)
        let piped = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "import", "-c", conf, "--no-progress", "--image-feature", "layering", "-", "rbd/\(name)-stdin"], input: data)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try Self.rbd(["export", "--no-progress", "rbd/\(name)-stdin", "-"]) == data)
    }

    /// An image's data objects as (object number suffix, size), sorted.
    static func dataObjects(_ image: String) throws -> [String] {
        let info = try JSONSerialization.jsonObject(with: try rbd(["info", "--format", "json", "rbd/\(image)"])) as? [String: Any]
        let prefix = try #require(info?["block_name_prefix"] as? String)
        let names = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "ls"]), as: UTF8.self)
            .split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix + ".") }.sorted()
        return try names.map { object in
            let stat = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "stat", object]), as: UTF8.self)
            return "\(object.dropFirst(prefix.count + 1)) \(stat.split(separator: " ").last ?? "")"
        }
    }

    @Test func importRefusesFeaturesWeCannotWrite() throws {
        let source = Self.temporaryFile("refuse")
        try Data(repeating: 1, count: 4096).write(to: URL(fileURLWithPath: source))
        defer { try? FileManager.default.removeItem(atPath: source) }
        let name = "xfer-refused-\(UInt32.random(in: 0...UInt32.max))"
        let result = try Self.rbdctl(["import", "--no-progress", "--image-feature", "layering,exclusive-lock,journaling", source, "rbd/\(name)"])
        #expect(result.status == 95)
        #expect(result.stderr.contains("journaling"))
        // Nothing was created.
        let list = String(decoding: try Self.rbd(["ls", "rbd"]), as: UTF8.self)
        #expect(!list.split(separator: "\n").contains(Substring(name)))
    }

    /// A failed export (here: a snapshot that does not exist) leaves no file behind, as
    /// rbd's does, so the same command can be run again once the cause is fixed.
    @Test func aFailedExportLeavesNoFile() throws {
        let name = "xfer-fail-\(UInt32.random(in: 0...UInt32.max))"
        _ = try Self.rbd(["create", "rbd/\(name)", "--size", "4M", "--image-feature", "layering"])
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        let destination = Self.temporaryFile("failed-export")
        defer { try? FileManager.default.removeItem(atPath: destination) }
        let failed = try Self.rbdctl(["export", "--no-progress", "rbd/\(name)@nosuch", destination])
        #expect(failed.status == 2, "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: destination), "the failed export left \(destination) behind")
        let retried = try Self.rbdctl(["export", "rbd/\(name)", destination])
        #expect(retried.status == 0, "\(retried.stderr)")
        // No terminal, no progress.
        #expect(retried.stderr.isEmpty, "\(retried.stderr)")
        #expect((try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int) == 4 << 20)
        // On a terminal (script(1) gives it one), progress ends with one
        // "100% complete...done." (100% is not printed twice); --no-progress silences it.
        let conf = try #require(ClusterEnvironment.cephConf)
        for (flags, shown) in [("", true), ("--no-progress", false)] {
            try? FileManager.default.removeItem(atPath: destination)
            let command = "\(ClusterEnvironment.rbdctl) export -c \(conf) \(flags) rbd/\(name) \(destination)"
            let onTerminal = try ClusterEnvironment.run(["script", "-qec", command, "/dev/null"])
            let text = String(decoding: onTerminal.stdout, as: UTF8.self)
            #expect(onTerminal.status == 0, "\(text)")
            if shown {
                #expect(text.components(separatedBy: "100% complete").count == 2 && text.contains("Exporting image: 100% complete...done."), "\(text)")
            } else {
                #expect(!text.contains("complete"), "\(text)")
            }
        }
    }

    /// rm, cp and flatten show rbd's progress on a terminal, once at 100%; `convert -p`
    /// shows it without one, as `qemu-img convert -p` does.
    @Test func progressOnATerminal() throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "xfer-progress-\(UInt32.random(in: 0...UInt32.max))"
        _ = try Self.rbd(["create", "rbd/\(name)", "--size", "8M"])
        _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "1M", "rbd/\(name)"])
        _ = try Self.rbd(["snap", "create", "--no-progress", "rbd/\(name)@s"])
        _ = try Self.rbd(["snap", "protect", "rbd/\(name)@s"])
        _ = try Self.rbd(["clone", "rbd/\(name)@s", "rbd/\(name)-clone"])
        defer {
            for image in [name + "-clone", name + "-copy", name + "-conv"] { ClusterEnvironment.removeImage("rbd/\(image)") }
            _ = try? Self.rbd(["snap", "unprotect", "rbd/\(name)@s"])
            ClusterEnvironment.removeImage("rbd/\(name)")
        }
        for (command, label) in [
            ("cp rbd/\(name) rbd/\(name)-copy", "Image copy"), ("flatten rbd/\(name)-clone", "Image flatten"),
            ("rm rbd/\(name)-copy", "Removing image"),
        ] {
            let onTerminal = try ClusterEnvironment.run(["script", "-qec", "\(ClusterEnvironment.rbdctl) \(command) --conf \(conf)", "/dev/null"])
            let text = String(decoding: onTerminal.stdout, as: UTF8.self)
            #expect(onTerminal.status == 0, "\(command): \(text)")
            #expect(text.contains("\(label): 100% complete...done.") && text.components(separatedBy: "100% complete").count == 2, "\(command): \(text)")
        }
        let raw = Self.temporaryFile("progress")
        try Data(repeating: 1, count: 1 << 20).write(to: URL(fileURLWithPath: raw))
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let converted = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "convert", "-p", raw, "rbd:rbd/\(name)-conv", "--conf", conf])
        #expect(converted.status == 0 && converted.stderr.hasSuffix("Converting image: 100% complete...done.\n"), "\(converted.stderr)")
    }

    @Test func benchPrintsRbdBenchShape() throws {
        let name = "xfer-bench-\(UInt32.random(in: 0...UInt32.max))"
        _ = try Self.rbd(["create", "rbd/\(name)", "--size", "16M", "--image-feature", "layering"])
        defer { _ = try? Self.rbd(["rm", "--no-progress", "rbd/\(name)"]) }
        let write = try Self.rbdctl(["bench", "--io-type", "write", "--io-size", "8K", "--io-threads", "4", "--io-total", "1M", "--io-pattern", "rand", "rbd/\(name)"])
        #expect(write.status == 0, "\(write.stderr)")
        let lines = String(decoding: write.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.first == "bench  type write io_size 8192 io_threads 4 bytes 1048576 pattern random")
        #expect(lines.dropFirst().first == "  SEC       OPS   OPS/SEC   BYTES/SEC")
        let summary = try #require(lines.last)
        #expect(summary.range(of: #"^elapsed: \d+   ops: 128   ops/sec: [0-9.e+]+   bytes/sec: [0-9.]+ (B|KiB|MiB|GiB)/s$"#, options: .regularExpression) != nil, "\(summary)")
        // The benchmark really wrote: rbd sees data where the image was empty.
        let exported = try Self.rbd(["export", "--no-progress", "rbd/\(name)", "-"])
        #expect(exported.contains { $0 != 0 })

        let mixed = try Self.rbdctl(["bench", "--io-type", "readwrite", "--rw-mix-read", "70", "--io-size", "4K", "--io-total", "512K", "rbd/\(name)"])
        let mixedLines = String(decoding: mixed.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(mixedLines.first == "bench  type readwrite read:write=70:30 io_size 4096 io_threads 16 bytes 524288 pattern sequential")
        #expect(mixedLines.suffix(2).first?.hasPrefix("read_ops: ") == true)
        #expect(mixedLines.last?.hasPrefix("write_ops: ") == true)
        let reads = Int(mixedLines.suffix(2).first?.split(separator: " ").dropFirst().first ?? "") ?? -1
        let writes = Int(mixedLines.last?.split(separator: " ").dropFirst().first ?? "") ?? -1
        #expect(reads + writes == 128)
    }
}
