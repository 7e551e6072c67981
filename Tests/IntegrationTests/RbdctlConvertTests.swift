import Foundation
import Testing

/// `rbdctl convert` against `qemu-img convert`, and qemu-img's argument order for
/// create, resize and info: the guide's commands with `qemu-img` replaced by `rbdctl`.
/// Sources are qcow2 files made by `qemu-img create` and filled by `qemu-io` (zero
/// writes and a partial last cluster included), and their compressed copies made by
/// `qemu-img convert -c`; what we write must equal what qemu-img writes, byte for byte,
/// with the same data objects as QEMU's rbd driver (on Ceph's librbd) leaves.
@Suite(.requiresCluster, .requiresTools("qemu-img", "qemu-io", "rbd", "rados"))
struct RbdctlConvertTests {
    static func rbdctl(_ arguments: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
        try RbdctlTransferTests.rbdctl(arguments)
    }

    /// Runs a local tool (qemu-img, qemu-io) and requires it to succeed.
    static func tool(_ arguments: [String]) throws {
        let result = try ClusterEnvironment.run(arguments)
        try #require(result.status == 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
    }

    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func imageNames() throws -> Set<String> {
        Set(String(decoding: try ClusterEnvironment.ceph("rbd", ["ls", "rbd"]), as: UTF8.self).split(separator: "\n").map(String.init))
    }

    @Test(arguments: ["1.1", "0.10"])
    func convertsQcow2AsQemuImgDoes(compat: String) async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let folder = try Self.folder()
        let stem = "conv-\(compat == "1.1" ? "v3" : "v2")-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            for suffix in ["", "-c", "-qemu"] { ClusterEnvironment.removeImage("rbd/\(stem)\(suffix)") }
            try? FileManager.default.removeItem(at: folder)
        }
        let plain = folder.appendingPathComponent("plain.qcow2").path
        let compressed = folder.appendingPathComponent("compressed.qcow2").path
        try await ClusterEnvironment.offThreadPool {
            // 21 MiB + 5 KiB: data in several objects, zero writes over data and over
            // nothing, a run of zeros written as data, and an unaligned tail.
            try Self.tool(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=\(compat)", plain, "\((21 << 20) + 5120)"])
            try Self.tool(["qemu-io", "-f", "qcow2",
                "-c", "write -P 0xa1 0 1M", "-c", "write -P 0x00 2M 256k", "-c", "write -P 0xb2 3M 4k",
                "-c", "write -z 512k 64k", "-c", "write -P 0xc3 9000k 300k", "-c", "write -z 12M 1M",
                "-c", "write -P 0xd4 \((21 << 20) + 1024) 4096", plain])
            // The compressed copy, then more writes on it: compressed and plain clusters mixed.
            try Self.tool(["qemu-img", "convert", "-q", "-c", "-f", "qcow2", "-O", "qcow2", "-o", "compat=\(compat)", plain, compressed])
            try Self.tool(["qemu-io", "-f", "qcow2", "-c", "write -P 0xe5 1M 128k", "-c", "write -P 0xf6 16M 64k", compressed])
            let info = try ClusterEnvironment.run(["qemu-img", "info", "--output", "json", compressed])
            #expect(String(decoding: info.stdout, as: UTF8.self).contains("\"compat\": \"\(compat)\""))

            for (source, name) in [(plain, stem), (compressed, stem + "-c")] {
                let reference = folder.appendingPathComponent("\(name).reference.raw").path
                try Self.tool(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", source, reference])
                let expected = try Data(contentsOf: URL(fileURLWithPath: reference))

                // The guide's command, rbdctl in qemu-img's place.
                let converted = try Self.rbdctl(["convert", "-f", "qcow2", "-O", "raw", source, "rbd:rbd/\(name)"])
                #expect(converted.status == 0, "\(converted.stderr)")
                #expect(converted.stderr.isEmpty, "no progress without a terminal: \(converted.stderr)")
                let exported = try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)", "-"])
                #expect(exported.count == expected.count, "\(name): size \(exported.count), qemu-img says \(expected.count)")
                #expect(exported == expected, "\(name): rbd export differs from qemu-img convert's raw file")

                // To a raw file (the format probed): the same bytes, sparse.
                let ours = folder.appendingPathComponent("\(name).ours.raw").path
                let toFile = try Self.rbdctl(["convert", "-O", "raw", source, ours])
                #expect(toFile.status == 0, "\(toFile.stderr)")
                #expect(try Data(contentsOf: URL(fileURLWithPath: ours)) == expected)
                var status = stat()
                #expect(stat(ours, &status) == 0 && Int(status.st_blocks) * 512 < expected.count / 2, "the raw file is not sparse")
            }

            // QEMU's own rbd driver on Ceph's librbd writes the same data objects:
            // nothing for zero or unallocated clusters, nor for zeros written as data.
            try Self.tool(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", compressed, "rbd:rbd/\(stem)-qemu:conf=\(conf)"])
            let objects = try RbdctlTransferTests.dataObjects(stem + "-c")
            #expect(!objects.isEmpty && objects.count < 6, "\(objects)")
            #expect(try RbdctlTransferTests.dataObjects(stem + "-qemu") == objects)
            // The created image is checked by rbd as any other: its object map agrees.
            let check = try ClusterEnvironment.run(["rbd", "-c", conf, "object-map", "check", "--no-progress", "rbd/\(stem)-c"])
            #expect(check.status == 0, "\(check.stderr)")

            // And back: an image to a raw file, and an image to a new image.
            let back = folder.appendingPathComponent("back.raw").path
            #expect(try Self.rbdctl(["convert", "-O", "raw", "rbd:rbd/\(stem)-c", back]).status == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: back)) == Data(contentsOf: URL(fileURLWithPath: folder.appendingPathComponent("\(stem)-c.reference.raw").path)))
        }
    }

    /// What the reader cannot do is named, with rbd's exit status, and nothing is left
    /// behind: no image, no file.
    @Test func refusesWhatItCannotReadAndLeavesNothing() async throws {
        let folder = try Self.folder()
        let name = "conv-refused-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
            try? FileManager.default.removeItem(at: folder)
        }
        try await ClusterEnvironment.offThreadPool {
            let base = folder.appendingPathComponent("base.qcow2").path
            let overlay = folder.appendingPathComponent("overlay.qcow2").path
            let extended = folder.appendingPathComponent("extended.qcow2").path
            try Self.tool(["qemu-img", "create", "-q", "-f", "qcow2", base, "8M"])
            try Self.tool(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay])
            try Self.tool(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", extended, "8M"])
            for (source, status, words) in [
                (overlay, Int32(95), "backing file '\(base)'"),
                (extended, 95, "extended L2"),
                (folder.appendingPathComponent("missing.qcow2").path, 2, "cannot open"),
            ] {
                let result = try Self.rbdctl(["convert", source, "rbd:rbd/\(name)"])
                #expect(result.status == status, "\(source): \(result.stderr)")
                #expect(result.stderr.contains(words) && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                #expect(!(try Self.imageNames()).contains(name), "a refused convert left rbd/\(name)")
                let file = folder.appendingPathComponent("out.raw").path
                #expect(try Self.rbdctl(["convert", source, file]).status == status)
                #expect(!FileManager.default.fileExists(atPath: file), "a refused convert left \(file)")
            }
            // A raw file read as qcow2 is refused as qemu-img refuses it; an existing
            // image is not overwritten.
            let raw = folder.appendingPathComponent("plain.raw").path
            try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: raw))
            let asQcow2 = try Self.rbdctl(["convert", "-f", "qcow2", raw, "rbd:rbd/\(name)"])
            #expect(asQcow2.status == 22 && asQcow2.stderr.contains("not a qcow2 file"), "\(asQcow2.stderr)")
            #expect(try Self.rbdctl(["convert", raw, "rbd:rbd/\(name)"]).status == 0)
            let again = try Self.rbdctl(["convert", raw, "rbd:rbd/\(name)"])
            #expect(again.status == 17, "\(again.stderr)")
            #expect(try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)", "-"]) == Data(repeating: 7, count: 1 << 20))
            let qcow2Out = try Self.rbdctl(["convert", "-O", "qcow2", raw, folder.appendingPathComponent("x.qcow2").path])
            #expect(qcow2Out.status == 22 && qcow2Out.stderr.contains("-O raw or -O rbd"), "\(qcow2Out.stderr)")
        }
    }

    /// The guide's create, resize and info in qemu-img's order, checked with rbd and
    /// with `qemu-img info` through QEMU's rbd driver on Ceph's librbd.
    @Test func qemuImgArgumentOrder() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "conv-order-\(UInt32.random(in: 0...UInt32.max))"
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        @Sendable func size() throws -> Int? {
            let info = try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", "rbd/\(name)"])) as? [String: Any]
            return info?["size"] as? Int
        }
        try await ClusterEnvironment.offThreadPool {
            #expect(try Self.rbdctl(["create", "-f", "raw", "rbd:rbd/\(name)", "10G"]).status == 0)
            #expect(try size() == 10 << 30)
            let qemuInfo = try ClusterEnvironment.run(["qemu-img", "info", "--output", "json", "rbd:rbd/\(name):conf=\(conf)"])
            #expect(String(decoding: qemuInfo.stdout, as: UTF8.self).contains("\"virtual-size\": \(10 << 30)"), "\(qemuInfo.stderr)")
            #expect(try Self.rbdctl(["resize", "rbd:rbd/\(name)", "+1G"]).status == 0)
            #expect(try size() == 11 << 30)
            let refused = try Self.rbdctl(["resize", "rbd:rbd/\(name)", "-2G"])
            #expect(refused.status == 22 && refused.stderr.contains("allow-shrink"), "\(refused.stderr)")
            #expect(try size() == 11 << 30)
            #expect(try Self.rbdctl(["resize", "--shrink", "rbd:rbd/\(name)", "-2G"]).status == 0)
            #expect(try size() == 9 << 30)
            #expect(try Self.rbdctl(["resize", "-f", "raw", "--shrink", "rbd:rbd/\(name)", "1.5G"]).status == 0)
            #expect(try size() == 3 << 29)
            let info = try Self.rbdctl(["info", "-f", "raw", "rbd:rbd/\(name)"])
            #expect(info.status == 0 && String(decoding: info.stdout, as: UTF8.self).contains("size 1.5 GiB"))
            // A size qemu-img would refuse, a disk format an image is not, a size given twice.
            for arguments in [
                ["create", "-f", "raw", "rbd:rbd/\(name)-x", "12x"], ["create", "-f", "qcow2", "rbd:rbd/\(name)-x", "1G"],
                ["create", "--size", "1G", "rbd:rbd/\(name)-x", "1G"], ["info", "-f", "qcow2", "rbd:rbd/\(name)"],
            ] {
                let result = try Self.rbdctl(arguments)
                #expect(result.status == 22 && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            }
            #expect(!(try Self.imageNames()).contains(name + "-x"))
        }
    }
}
