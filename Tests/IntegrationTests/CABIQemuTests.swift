import Foundation
import Testing

/// Where the C ABI tests find SwiftRBD's C library and QEMU's rbd module.
///
/// The library is the `swiftrbd` product that `swift build` (and `swift test`, which
/// builds every product) leaves in `.build/debug`; the tests link `.build/c-libs` to
/// it themselves (what `make c-libs` does) rather than run `make`, because a nested
/// `swift build` would wait for the `.build` lock this test run holds.
enum CABIEnvironment {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let library = root.appendingPathComponent(".build/debug/libswiftrbd.so").path
    static let libs = root.appendingPathComponent(".build/c-libs").path
    static let wrapper = root.appendingPathComponent("scripts/with-swiftrbd").path
    static let qemuModule = "/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so"

    static let missingLibrary = "\(library) is missing: build it with `swift build --product swiftrbd` (or `make c-libs`); `swift test` does not link it"

    /// An object file of our modules newer than the library, or nil. `swift test`
    /// compiles the library's modules but does not relink the dynamic library; the
    /// compiler rewrites an object file only when its content changes, so this is the
    /// test for "the library lacks a change" (source timestamps are not).
    static func newerObject() -> String? {
        let manager = FileManager.default
        guard let built = (try? manager.attributesOfItem(atPath: library))?[.modificationDate] as? Date else { return nil }
        for module in ["CephCABI", "CCephABI", "RBDCore", "RBDCache", "RADOSProto", "CCRC32C"] {
            let folder = root.appendingPathComponent(".build/debug/\(module).build")
            guard let walker = manager.enumerator(at: folder, includingPropertiesForKeys: [.contentModificationDateKey]) else { continue }
            for case let file as URL in walker where file.pathExtension == "o" {
                if let modified = try? file.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate, modified > built {
                    return file.path
                }
            }
        }
        return nil
    }

    /// `.build/c-libs` with `librbd.so.1` and `librados.so.2` linked to the built library.
    static func linkLibraries() throws {
        guard FileManager.default.fileExists(atPath: library) else { throw ClusterEnvironment.ToolFailure(message: missingLibrary) }
        if let newer = newerObject() {
            throw ClusterEnvironment.ToolFailure(message: "\(library) is older than \(newer): rebuild it with `swift build --product swiftrbd` (or `make c-libs`); `swift test` does not relink it")
        }
        let manager = FileManager.default
        try manager.createDirectory(atPath: libs, withIntermediateDirectories: true)
        for (name, target) in [("libswiftrbd.so", "../debug/libswiftrbd.so"), ("librbd.so.1", "libswiftrbd.so"), ("librados.so.2", "libswiftrbd.so")] {
            let path = "\(libs)/\(name)"
            if (try? manager.destinationOfSymbolicLink(atPath: path)) == target { continue }
            try? manager.removeItem(atPath: path)
            try manager.createSymbolicLink(atPath: path, withDestinationPath: target)
        }
    }

    /// Runs a command through `scripts/with-swiftrbd`; throws on a non-zero exit.
    @discardableResult
    static func withSwiftRBD(_ arguments: [String], environment extra: [String] = []) throws -> (stdout: String, stderr: String) {
        try linkLibraries()
        let result = try ClusterEnvironment.run(extra.isEmpty ? [wrapper] + arguments : ["env"] + extra + [wrapper] + arguments)
        guard result.status == 0 else {
            throw ClusterEnvironment.ToolFailure(message: "\(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return (String(decoding: result.stdout, as: UTF8.self), result.stderr)
    }

    /// The dynamic symbols a file imports (`UND`) or defines, from `objdump -T`.
    static func dynamicSymbols(_ path: String, defined: Bool) throws -> Set<String> {
        let result = try ClusterEnvironment.run(["objdump", "-T", path])
        guard result.status == 0 else { throw ClusterEnvironment.ToolFailure(message: "objdump -T \(path) failed: \(result.stderr)") }
        var names = Set<String>()
        for line in String(decoding: result.stdout, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 4, let name = fields.last else { continue }
            let undefined = line.contains("*UND*")
            if undefined != defined { names.insert(String(name)) }
        }
        return names
    }

    /// The cluster's configuration file (images QEMU creates get Pacific's default
    /// features: exclusive-lock, object-map, fast-diff …).
    static func clusterConf() throws -> String {
        try #require(ClusterEnvironment.cephConf, Comment(rawValue: ClusterEnvironment.skipMessage))
    }
}

extension Trait where Self == ConditionTrait {
    /// The C library is built and current (`swift test` alone neither links nor relinks
    /// it: the symbol checks skip then, unless prerequisites are required).
    static var requiresCABILibrary: Self {
        let usable = FileManager.default.fileExists(atPath: CABIEnvironment.library) && CABIEnvironment.newerObject() == nil
        return .enabled(
            if: usable || ClusterEnvironment.required,
            Comment(rawValue: "\(CABIEnvironment.library) is missing or older than our modules' objects: build it with `swift build --product swiftrbd` (or `make c-libs`)"))
    }

    /// QEMU's rbd module is installed (qemu-block-extra).
    static var requiresQemuRBD: Self {
        .enabled(
            if: FileManager.default.fileExists(atPath: CABIEnvironment.qemuModule) || ClusterEnvironment.required,
            Comment(rawValue: "\(CABIEnvironment.qemuModule) is not installed (Debian's qemu-block-extra): the C ABI cannot be checked against QEMU"))
    }
}

/// The library exports every librados/librbd function the programs we stand in for
/// import, so they load (a missing one would fail at the first call, or at load time
/// for programs linked with `-z now`).
@Suite(.requiresQemuRBD, .requiresTools("objdump"), .requiresCABILibrary)
struct CABISymbolTests {
    @Test func exportsEverySymbolQemuImports() throws {
        try CABIEnvironment.linkLibraries()
        let imported = try CABIEnvironment.dynamicSymbols(CABIEnvironment.qemuModule, defined: false).filter { $0.hasPrefix("rbd_") || $0.hasPrefix("rados_") }
        #expect(imported.count >= 37, "block-rbd.so imports only \(imported.count) rbd_/rados_ symbols?")
        let exported = try CABIEnvironment.dynamicSymbols(CABIEnvironment.library, defined: true)
        let missing = imported.subtracting(exported).sorted()
        #expect(missing.isEmpty, "libswiftrbd.so lacks \(missing.joined(separator: ", "))")
    }

    @Test(.requiresTools("fio")) func exportsEverySymbolFioImports() throws {
        try CABIEnvironment.linkLibraries()
        let fio = try #require(ClusterEnvironment.tool("fio"))
        let imported = try CABIEnvironment.dynamicSymbols(fio, defined: false).filter { $0.hasPrefix("rbd_") || $0.hasPrefix("rados_") }
        let exported = try CABIEnvironment.dynamicSymbols(CABIEnvironment.library, defined: true)
        let missing = imported.subtracting(exported).sorted()
        #expect(missing.isEmpty, "libswiftrbd.so lacks \(missing.joined(separator: ", "))")
    }
}

/// Unmodified `qemu-img` and `qemu-io` (Debian's QEMU and its block-rbd.so) on SwiftRBD's
/// C library through `scripts/with-swiftrbd`, each result checked with Ceph's own `rbd`.
@Suite(.requiresCluster, .requiresQemuRBD, .requiresTools("qemu-img", "qemu-io", "rbd"), .serialized)
struct CABIQemuTests {
    static let mib = 1 << 20

    /// QEMU's name of image `name` in pool `rbd` read with configuration `conf`.
    static func spec(_ name: String, conf: String) -> String { "rbd:rbd/\(name):conf=\(conf)" }

    static func uniqueName(_ stem: String) -> String { "cabi-\(stem)-\(UInt32.random(in: 0...UInt32.max))" }

    /// `rbd info --format json` of an image in pool `rbd`.
    static func rbdInfo(_ name: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", "rbd/\(name)"])) as? [String: Any])
    }

    /// The image's bytes as Ceph's `rbd export` writes them.
    static func rbdExport(_ name: String) throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-cabi-export-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)", file])
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    @Test func qemuImgCreatesInspectsAndResizes() async throws {
        let conf = try CABIEnvironment.clusterConf()
        let name = Self.uniqueName("img")
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
        }
        let spec = Self.spec(name, conf: conf)
        try await ClusterEnvironment.offThreadPool {
            try CABIEnvironment.withSwiftRBD(["qemu-img", "create", "-f", "raw", spec, "64M"])
            let created = try Self.rbdInfo(name)
            #expect(created["size"] as? Int == 64 * Self.mib)
            #expect(created["order"] as? Int == 22)
            #expect(created["features"] as? [String] == ["layering", "exclusive-lock", "object-map", "fast-diff", "deep-flatten"])

            let info = try CABIEnvironment.withSwiftRBD(["qemu-img", "info", "-f", "raw", "--output", "json", spec]).stdout
            let json = try #require(try JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any])
            #expect(json["virtual-size"] as? Int == 64 * Self.mib)
            #expect(json["cluster-size"] as? Int == 4 * Self.mib)

            try CABIEnvironment.withSwiftRBD(["qemu-img", "resize", "-f", "raw", spec, "96M"])
            #expect(try Self.rbdInfo(name)["size"] as? Int == 96 * Self.mib)
            try CABIEnvironment.withSwiftRBD(["qemu-img", "resize", "-f", "raw", "--shrink", spec, "40M"])
            #expect(try Self.rbdInfo(name)["size"] as? Int == 40 * Self.mib)
        }
    }

    /// With QEMU's writeback mode (and `rbd_cache=true` in the name, as the guide writes
    /// it: Pacific's write-around cache) and with no cache.
    @Test(arguments: ["writeback", "none"]) func qemuIOWritesReadsDiscardsAndZeroes(cache: String) async throws {
        let conf = try CABIEnvironment.clusterConf()
        let name = Self.uniqueName("io")
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
        }
        let spec = Self.spec(name, conf: conf)
        try await ClusterEnvironment.offThreadPool {
            _ = try ClusterEnvironment.ceph("rbd", ["create", "--size", "16M", "rbd/\(name)"])
            // Writes across an object boundary (4 MiB objects), a discard of whole 64 KiB
            // blocks, a write-zeroes that keeps the range allocated (-z) and one that may
            // unmap (-z -u); every read checks its pattern (qemu-io fails on a mismatch).
            let commands = [
                "write -P 0xab 0 1M", "read -P 0xab 0 1M",
                "write -P 0xcd 3M 2M", "read -P 0xcd 3M 2M",
                "writev -P 0x5a 8M 4k 12k 64k", "readv -P 0x5a 8M 64k 16k",
                "discard 128k 256k", "read -P 0 128k 256k",
                "write -z 512k 64k", "read -P 0 512k 64k",
                "write -z -u 4M 512k", "read -P 0 4M 512k",
                "aio_write -P 0x71 10M 64k", "aio_write -P 0x72 10304k 64k", "aio_write -P 0x73 12M 1M", "aio_flush",
                "read -P 0x71 10M 64k", "read -P 0x72 10304k 64k", "read -P 0x73 12M 1M",
                "flush",
            ]
            let target = cache == "writeback" ? spec + ":rbd_cache=true" : spec
            let output = try CABIEnvironment.withSwiftRBD(["qemu-io", "-f", "raw", "-t", cache] + commands.flatMap { ["-c", $0] } + [target])
            #expect(!output.stdout.contains("failed"), "qemu-io: \(output.stdout)")
            #expect(!output.stdout.contains("Pattern verification"), "qemu-io: \(output.stdout)")

            var expected = [UInt8](repeating: 0, count: 16 * Self.mib)
            func fill(_ offset: Int, _ length: Int, _ byte: UInt8) {
                expected.replaceSubrange(offset..<(offset + length), with: repeatElement(byte, count: length))
            }
            fill(0, Self.mib, 0xab)
            fill(3 * Self.mib, 2 * Self.mib, 0xcd)
            fill(8 * Self.mib, 80 << 10, 0x5a)
            fill(128 << 10, 256 << 10, 0)
            fill(512 << 10, 64 << 10, 0)
            fill(4 * Self.mib, 512 << 10, 0)
            fill(10 * Self.mib, 64 << 10, 0x71)
            fill(10 * Self.mib + (64 << 10), 64 << 10, 0x72)
            fill(12 * Self.mib, Self.mib, 0x73)
            let exported = try Self.rbdExport(name)
            #expect(exported.count == expected.count)
            if exported != expected {
                let first = zip(exported, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                Issue.record("rbd export differs from what qemu-io wrote, first at byte \(first ?? min(exported.count, expected.count))")
            }
        }
    }

    /// The guide's order for the cache setting: QEMU's mode beats Ceph's default, the
    /// configuration file beats the mode, an `rbd_cache` key in the `rbd:` name beats the
    /// file. The file makes a cache writeback and never aging out, so whether one is in
    /// force shows in `rbd export` while qemu-io waits after a write: a cached write is
    /// not on the OSDs yet, an uncached one is.
    @Test(arguments: [
        ("the mode beats the default", nil, nil, "none", false),
        ("the mode, with nothing else", nil, nil, "writeback", true),
        ("the file beats the mode (on)", "true", nil, "none", true),
        ("the file beats the mode (off)", "false", nil, "writeback", false),
        ("the name beats the file and the mode", "false", "true", "none", true),
    ] as [(String, String?, String?, String, Bool)])
    func qemuCacheModeFileAndNameInTheGuidesOrder(rule: String, file: String?, name key: String?, mode: String, cached: Bool) async throws {
        let conf = try CABIEnvironment.clusterConf()
        let name = Self.uniqueName("precedence")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-cabi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var text = try String(contentsOfFile: conf, encoding: .utf8)
        text += "\n[client]\nrbd_cache_policy = writeback\nrbd_cache_writethrough_until_flush = false\nrbd_cache_max_dirty_age = 600\n"
        if let file { text += "rbd_cache = \(file)\n" }
        let ourConf = folder.appendingPathComponent("ceph.conf").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: ourConf))
        let onOSDs = try await ClusterEnvironment.offThreadPool { () throws -> Bool in
            _ = try ClusterEnvironment.ceph("rbd", ["create", "--size", "8M", "--image-feature", "layering", "rbd/\(name)"])
            let target = "rbd:rbd/\(name):conf=\(ourConf)" + (key.map { ":rbd_cache=\($0)" } ?? "")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["stdbuf", "-oL", CABIEnvironment.wrapper, "qemu-io", "-f", "raw", "-t", mode, "-c", "write -P 0x5e 0 64k", "-c", "sleep 60000", target]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                ClusterEnvironment.removeImageAfterKill("rbd/\(name)")
            }
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("wrote 65536/65536") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += chunk
            }
            try #require(String(decoding: seen, as: UTF8.self).contains("wrote 65536/65536"), "qemu-io did not write: \(String(decoding: seen, as: UTF8.self))")
            let exported = try Self.rbdExport(name)
            return exported.prefix(65536).allSatisfy { $0 == 0x5e }
        }
        #expect(onOSDs == !cached, "\(rule): the write \(onOSDs ? "was" : "was not") on the OSDs, so a cache \(onOSDs ? "was not" : "was") in force")
    }

    @Test func qemuImgConvertsQcow2IntoAnImage() async throws {
        let conf = try CABIEnvironment.clusterConf()
        let name = Self.uniqueName("convert")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-cabi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
            try? FileManager.default.removeItem(at: folder)
        }
        let qcow2 = folder.appendingPathComponent("source.qcow2").path
        let raw = folder.appendingPathComponent("source.raw").path
        let spec = Self.spec(name, conf: conf)
        try await ClusterEnvironment.offThreadPool {
            // The source: a sparse qcow2 with patterns in two objects and a gap between.
            for arguments in [
                ["qemu-img", "create", "-q", "-f", "qcow2", qcow2, "24M"],
                ["qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 5M 512k", "-c", "write -P 0x33 20M 4M", qcow2],
                ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2, raw],
            ] {
                let result = try ClusterEnvironment.run(arguments)
                try #require(result.status == 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
            }
            try CABIEnvironment.withSwiftRBD(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2, spec])
            #expect(try Self.rbdInfo(name)["size"] as? Int == 24 * Self.mib)
            let exported = try Self.rbdExport(name)
            let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
            #expect(exported.count == expected.count)
            #expect(exported == expected, "rbd export differs from the qcow2's content")
            // And back through SwiftRBD: qemu-img compares the image with the source.
            try CABIEnvironment.withSwiftRBD(["qemu-img", "compare", "-f", "raw", "-F", "qcow2", spec, qcow2])
        }
    }

    /// `qemu-img map` (block status through `rbd_diff_iterate2`) and `qemu-img compare`
    /// give the same answers on SwiftRBD as on Ceph's librbd, for an image written by
    /// both, with a snapshot and a shrink.
    @Test func qemuImgMapAndCompareAgreeWithLibrbd() async throws {
        let conf = try CABIEnvironment.clusterConf()
        let name = Self.uniqueName("map")
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        let spec = Self.spec(name, conf: conf)
        try await ClusterEnvironment.offThreadPool {
            _ = try ClusterEnvironment.ceph("rbd", ["create", "--size", "24M", "rbd/\(name)"])
            let commands = ["write -P 0x11 0 64k", "write -P 0x22 5M 1M", "write -P 0x33 12M 4M", "discard 13M 3M", "flush"]
            _ = try CABIEnvironment.withSwiftRBD(["qemu-io", "-f", "raw"] + commands.flatMap { ["-c", $0] } + [spec])
            _ = try ClusterEnvironment.ceph("rbd", ["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "64K", "--io-pattern", "seq", "rbd/\(name)"])
            _ = try ClusterEnvironment.ceph("rbd", ["snap", "create", "--no-progress", "rbd/\(name)@one"])
            _ = try CABIEnvironment.withSwiftRBD(["qemu-io", "-f", "raw", "-c", "write -P 0x44 20M 8k", "-c", "flush", spec])
            let ours = try CABIEnvironment.withSwiftRBD(["qemu-img", "map", "--output=json", "-f", "raw", spec]).stdout
            let theirs = try ClusterEnvironment.run(["qemu-img", "map", "--output=json", "-f", "raw", spec])
            try #require(theirs.status == 0, "qemu-img map on Ceph's librbd: \(theirs.stderr)")
            #expect(ours == String(decoding: theirs.stdout, as: UTF8.self), "qemu-img map: ours\n\(ours)\nlibrbd's\n\(String(decoding: theirs.stdout, as: UTF8.self))")
            #expect(ours.contains("\"data\": true"), "\(ours)")
            // compare: the image against its snapshot, both libraries, same verdict.
            let snapshot = "rbd:rbd/\(name)@one:conf=\(conf)"
            let ourCompare = try ClusterEnvironment.run([CABIEnvironment.wrapper, "qemu-img", "compare", "-f", "raw", "-F", "raw", spec, snapshot])
            let theirCompare = try ClusterEnvironment.run(["qemu-img", "compare", "-f", "raw", "-F", "raw", spec, snapshot])
            #expect(ourCompare.status == 1 && theirCompare.status == 1, "compare exit: ours \(ourCompare.status) \(ourCompare.stderr), librbd's \(theirCompare.status)")
            #expect(ourCompare.stdout == theirCompare.stdout)
        }
    }

    @Test func qemuImgSnapshots() async throws {
        let conf = try CABIEnvironment.clusterConf()
        let name = Self.uniqueName("snap")
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
        }
        let spec = Self.spec(name, conf: conf)
        try await ClusterEnvironment.offThreadPool {
            _ = try ClusterEnvironment.ceph("rbd", ["create", "--size", "8M", "rbd/\(name)"])
            try CABIEnvironment.withSwiftRBD(["qemu-io", "-f", "raw", "-c", "write -P 0x41 0 64k", spec])
            try CABIEnvironment.withSwiftRBD(["qemu-img", "snapshot", "-c", "before", spec])
            try CABIEnvironment.withSwiftRBD(["qemu-io", "-f", "raw", "-c", "write -P 0x42 0 64k", spec])
            let listed = try CABIEnvironment.withSwiftRBD(["qemu-img", "snapshot", "-l", spec]).stdout
            #expect(listed.contains("before"), "qemu-img snapshot -l: \(listed)")
            let theirs = String(decoding: try ClusterEnvironment.ceph("rbd", ["snap", "ls", "rbd/\(name)"]), as: UTF8.self)
            #expect(theirs.contains("before"))

            try CABIEnvironment.withSwiftRBD(["qemu-img", "snapshot", "-a", "before", spec])
            let head = try Self.rbdExport(name)
            #expect(head.prefix(64 << 10).allSatisfy { $0 == 0x41 }, "after rollback the head should hold the snapshot's data")
            try CABIEnvironment.withSwiftRBD(["qemu-img", "snapshot", "-d", "before", spec])
            let after = String(decoding: try ClusterEnvironment.ceph("rbd", ["snap", "ls", "rbd/\(name)"]), as: UTF8.self)
            #expect(!after.contains("before"))
        }
    }

    /// fio's rbd engine (completions announced on an eventfd, `rbd_poll_io_events`):
    /// random writes, then every block read back and checked (crc32c in each block).
    @Test(.requiresTools("fio")) func fioWritesAndVerifies() async throws {
        let conf = try CABIEnvironment.clusterConf()
        let name = Self.uniqueName("fio")
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
        }
        try await ClusterEnvironment.offThreadPool {
            _ = try ClusterEnvironment.ceph("rbd", ["create", "--size", "16M", "rbd/\(name)"])
            let output = try CABIEnvironment.withSwiftRBD(
                ["fio", "--name=verify", "--ioengine=rbd", "--clientname=admin", "--pool=rbd", "--rbdname=\(name)",
                 "--rw=randwrite", "--bs=4k", "--size=16M", "--iodepth=32", "--verify=crc32c", "--verify_fatal=1", "--do_verify=1", "--verify_state_save=0"],
                environment: ["CEPH_CONF=\(conf)"])
            #expect(output.stdout.contains("err= 0"), "fio: \(output.stdout)")
            #expect(output.stdout.contains("READ:") && output.stdout.contains("WRITE:"), "fio: \(output.stdout)")
        }
    }

    /// fio's rados engine (librados' asynchronous reads and writes, write operations for
    /// trims): random writes to one object verified by reading back, then a trim.
    @Test(.requiresTools("fio", "rados")) func fioRadosEngineWritesVerifiesAndTrims() async throws {
        let conf = try CABIEnvironment.clusterConf()
        let job = Self.uniqueName("rados")
        // fio names the object after the job: `<job>.0.0`.
        let object = "\(job).0.0"
        defer {
            _ = try? ClusterEnvironment.ceph("rados", ["-p", "rbd", "rm", object])
        }
        try await ClusterEnvironment.offThreadPool {
            let common = ["fio", "--name=\(job)", "--ioengine=rados", "--conf=\(conf)", "--clientname=admin", "--pool=rbd", "--iodepth=8"]
            let written = try CABIEnvironment.withSwiftRBD(common + ["--rw=randwrite", "--bs=16k", "--size=4M", "--verify=crc32c", "--verify_fatal=1", "--do_verify=1", "--verify_state_save=0"])
            #expect(written.stdout.contains("err= 0") && written.stdout.contains("READ:"), "fio: \(written.stdout)")
            let stat = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "stat", object]), as: UTF8.self)
            #expect(stat.contains("size 4194304"), "rados stat: \(stat)")
            let trimmed = try CABIEnvironment.withSwiftRBD(common + ["--rw=trim", "--bs=64k", "--size=1M"])
            #expect(trimmed.stdout.contains("err= 0") && trimmed.stdout.contains("TRIM:"), "fio: \(trimmed.stdout)")
        }
    }

    /// A C program built against Ceph's headers (Tests/CABIClients/cabi_smoke.c) checks
    /// what QEMU does not reach: completion callbacks that start I/O and release their
    /// completion, synchronous calls refused with -EDEADLK in a callback, waiting,
    /// errors through completions, rbd_stat's fields, snapshot listing, diff, namespaces.
    @Test(.requiresTools("gcc")) func cClientSeesLibrbdSemantics() async throws {
        let conf = try CABIEnvironment.clusterConf()
        let name = Self.uniqueName("c")
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-cabi-smoke-\(UUID().uuidString)").path
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
            try? FileManager.default.removeItem(atPath: binary)
        }
        let source = CABIEnvironment.root.appendingPathComponent("Tests/CABIClients/cabi_smoke.c").path
        try await ClusterEnvironment.offThreadPool {
            try CABIEnvironment.linkLibraries()
            let build = try ClusterEnvironment.run([
                "gcc", "-Wall", "-Wno-deprecated-declarations", "-o", binary, source,
                "-L", CABIEnvironment.libs, "-l:librbd.so.1", "-l:librados.so.2", "-lpthread",
            ])
            try #require(build.status == 0, "gcc: \(build.stderr)")
            let output = try CABIEnvironment.withSwiftRBD([binary, conf, name])
            #expect(output.stdout == "OK\n", "cabi_smoke: \(output.stdout) \(output.stderr)")
        }
    }

    /// The wrapper must replace Ceph's libraries, not add to them: QEMU loads one
    /// libswiftrbd.so (under both names) and none of librbd, librados or libceph-common.
    @Test func noCephLibraryIsLoaded() async throws {
        let conf = try CABIEnvironment.clusterConf()
        let name = Self.uniqueName("libs")
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
        }
        let spec = Self.spec(name, conf: conf)
        try await ClusterEnvironment.offThreadPool {
            _ = try ClusterEnvironment.ceph("rbd", ["create", "--size", "4M", "rbd/\(name)"])
            // LD_DEBUG=libs prints "calling init: PATH" for every object loaded.
            let stderr = try CABIEnvironment.withSwiftRBD(["qemu-io", "-f", "raw", "-c", "read 0 4k", spec], environment: ["LD_DEBUG=libs"]).stderr
            let loaded = Set(stderr.split(separator: "\n").compactMap { line -> String? in
                guard let range = line.range(of: "calling init: ") else { return nil }
                return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            })
            #expect(loaded.contains { $0.hasSuffix("/qemu/block-rbd.so") }, "block-rbd.so was not loaded: \(loaded.sorted())")
            let ours = loaded.filter { $0.hasPrefix(CABIEnvironment.libs + "/") }
            #expect(ours.count == 1, "SwiftRBD's library should be loaded once (under one of its names): \(ours.sorted())")
            let ceph = loaded.filter { path in
                !path.hasPrefix(CABIEnvironment.libs + "/") && ["librbd.so", "librados.so", "libceph-common"].contains { path.contains($0) }
            }
            #expect(ceph.isEmpty, "Ceph's libraries were loaded: \(ceph.sorted())")
        }
    }
}
