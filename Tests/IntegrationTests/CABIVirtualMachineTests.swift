import Foundation
import Testing

/// What the virtual machine test boots: a Debian kernel from `/boot` and an initramfs
/// that `scripts/support/guest-initramfs.sh` packs at test time (busybox-static,
/// e2fsprogs' mke2fs and filefrag, the kernel's disk and ext4 modules, and
/// `scripts/support/guest-init.sh` as `/init`).
enum GuestEnvironment {
    static let initramfsScript = CABIEnvironment.root.appendingPathComponent("scripts/support/guest-initramfs.sh").path

    /// The newest `/boot/vmlinuz-VERSION` that is readable and has `/lib/modules/VERSION`.
    static let kernel: (path: String, version: String)? = {
        let manager = FileManager.default
        let versions = ((try? manager.contentsOfDirectory(atPath: "/boot")) ?? [])
            .filter { $0.hasPrefix("vmlinuz-") }
            .map { String($0.dropFirst("vmlinuz-".count)) }
            .filter { manager.isReadableFile(atPath: "/boot/vmlinuz-\($0)") && manager.fileExists(atPath: "/lib/modules/\($0)") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        return versions.last.map { ("/boot/vmlinuz-\($0)", $0) }
    }()

    static let missingKernel = "no readable /boot/vmlinuz-VERSION with /lib/modules/VERSION: install linux-image-amd64 (scripts/install-deps.sh)"

    /// The line prefix of everything the guest's `/init` reports on the serial console.
    static let marker = "SWIFTRBD-GUEST-"

    /// Runs a command with its standard output and error in two files and no input;
    /// after `timeout` seconds it is sent SIGTERM (then SIGKILL). Blocks: call it off
    /// the cooperative pool. Returns the exit status and whether it timed out.
    static func run(_ arguments: [String], stdout: URL, stderr: URL, timeout: TimeInterval) throws -> (status: Int32, timedOut: Bool) {
        let manager = FileManager.default
        for file in [stdout, stderr] { _ = manager.createFile(atPath: file.path, contents: nil) }
        let out = try FileHandle(forWritingTo: stdout), err = try FileHandle(forWritingTo: stderr)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        // The child inherits this thread's signal mask, and dispatch's worker threads
        // block SIGTERM: QEMU would ignore the SIGTERM that asks it to stop cleanly.
        var unblocked = sigset_t(), previous = sigset_t()
        sigemptyset(&unblocked)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&unblocked, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try process.run()
        var timedOut = false
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            process.terminate()
            if exited.wait(timeout: .now() + 10) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                exited.wait()
            }
        }
        return (process.terminationStatus, timedOut)
    }

    /// The physical extents (first block, block count) in `filefrag -v` lines.
    static func extents(_ lines: [Substring]) -> [(first: Int, count: Int)] {
        lines.compactMap { line in
            // "   0:        0..   16383:      34816..     51199:  16384:   last,eof"
            guard let match = line.firstMatch(of: /^\s*\d+:\s*\d+\.\.\s*\d+:\s*(\d+)\.\.\s*(\d+):/),
                let first = Int(match.1), let last = Int(match.2)
            else { return nil }
            return (first, last - first + 1)
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// A Debian kernel to boot (linux-image-amd64).
    static var requiresGuestKernel: Self {
        .enabled(if: GuestEnvironment.kernel != nil || ClusterEnvironment.required, Comment(rawValue: GuestEnvironment.missingKernel))
    }
}

/// The guide's virtual machine, for real: an unmodified `qemu-system-x86_64` (TCG, no
/// KVM) boots a small Linux guest whose disk is an RBD image served by SwiftRBD through
/// `scripts/with-swiftrbd`. The guest makes ext4 on it, writes files, deletes a 64 MiB
/// file with the file system mounted `-o discard`, runs fstrim and powers off
/// (scripts/support/guest-init.sh). Then Ceph's own tools judge the image: `rbd export`
/// passes `e2fsck -fn` and holds the files (read with debugfs), the RBD objects that
/// lay wholly inside the deleted file are gone, and `rbd du` shows the space returned.
@Suite(
    .requiresCluster, .requiresQemuRBD, .requiresGuestKernel,
    .requiresTools("qemu-system-x86_64", "rbd", "rados", "e2fsck", "debugfs", "cpio", "busybox"),
    .serialized)
struct CABIVirtualMachineTests {
    static let mib = 1 << 20
    /// How long the VM may take, boot to power-off (it takes well under a minute on a
    /// local file; SwiftRBD's debug build and a busy machine make it slower).
    static let timeout: TimeInterval = 300

    /// How QEMU exposes the disk: the guide's IDE drive with a discard granularity
    /// and QEMU's writeback cache, or virtio-blk without a cache.
    enum Disk: String, CaseIterable, CustomTestStringConvertible {
        case ideWriteback, virtioNoCache
        var testDescription: String { self == .ideWriteback ? "IDE, cache=writeback" : "virtio-blk, cache=none" }

        func arguments(_ file: String) -> [String] {
            switch self {
            case .ideWriteback:
                return ["-drive", "format=raw,file=\(file),id=drive1,if=none,cache=writeback,discard=unmap",
                        "-device", "ide-hd,drive=drive1,discard_granularity=512"]
            case .virtioNoCache:
                return ["-drive", "format=raw,file=\(file),if=virtio,discard=unmap,cache=none"]
            }
        }

        /// How many RBD objects wholly inside the deleted 64 MiB file may survive, each
        /// with one 64 KiB block of data. QEMU's IDE cuts an ATA TRIM into ranges of at
        /// most 65535 sectors (ide_issue_trim_cb), which end inside objects: librbd keeps
        /// such an object and, with Pacific's `rbd_skip_partial_discard=true` and 64 KiB
        /// `rbd_discard_granularity_bytes`, the 64 KiB block a range ends in (SwiftRBD
        /// does the same; Ceph's librbd leaves the same objects in this test). 64 MiB
        /// hold at most 3 range ends, and the file is discarded twice: by the mount's
        /// online discard when it is deleted, then by fstrim. virtio-blk passes each
        /// discard whole: every object inside the file goes.
        var trimRangeEnds: Int { self == .ideWriteback ? 6 : 0 }
    }

    @Test(arguments: Disk.allCases)
    func guestMakesExt4WritesAndTrims(_ disk: Disk) async throws {
        let conf = try CABIEnvironment.clusterConf()
        let kernel = try #require(GuestEnvironment.kernel, Comment(rawValue: GuestEnvironment.missingKernel))
        let name = CABIQemuTests.uniqueName("vm")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-vm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer {
            ClusterEnvironment.removeImage("rbd/\(name)")
            try? FileManager.default.removeItem(at: folder)
        }
        let initramfs = folder.appendingPathComponent("initramfs.cpio").path
        let console = folder.appendingPathComponent("console.log")
        let qemuLog = folder.appendingPathComponent("qemu-stderr.log")
        let exported = folder.appendingPathComponent("exported.img").path

        // Every blocking step runs off the cooperative pool; the expectations stay in the
        // test's own task (an issue recorded on a dispatch queue belongs to no test).
        let packed = try await ClusterEnvironment.offThreadPool {
            try ClusterEnvironment.run([GuestEnvironment.initramfsScript, kernel.version, initramfs])
        }
        try #require(packed.status == 0, "guest-initramfs.sh: \(packed.stderr)")
        _ = try await ClusterEnvironment.offThreadPool {
            try ClusterEnvironment.ceph("rbd", ["create", "--size", "256M", "rbd/\(name)"])
        }
        try CABIEnvironment.linkLibraries()

        // LD_DEBUG=libs (on QEMU's stderr) names every library loaded: none of Ceph's.
        let started = Date()
        let arguments = ["LD_DEBUG=libs", CABIEnvironment.wrapper, "qemu-system-x86_64",
                         "-accel", "tcg", "-cpu", "max", "-m", "512", "-nographic", "-no-reboot",
                         "-kernel", kernel.path, "-initrd", initramfs,
                         "-append", "console=ttyS0 panic=-1 quiet"]
            + disk.arguments(CABIQemuTests.spec(name, conf: conf))
        let vm = try await ClusterEnvironment.offThreadPool {
            try GuestEnvironment.run(arguments, stdout: console, stderr: qemuLog, timeout: Self.timeout)
        }
        let seconds = Date().timeIntervalSince(started)
        let output = String(decoding: (try? Data(contentsOf: console)) ?? Data(), as: UTF8.self)
        // The serial console ends lines with "\r\n", one Character.
        let lines = output.split(whereSeparator: \.isNewline)
        let tail = lines.suffix(40).joined(separator: "\n")
        let stderr = String(decoding: (try? Data(contentsOf: qemuLog)) ?? Data(), as: UTF8.self).split(separator: "\n")
        // QEMU's own messages, without the loader's ("   PID:\t…").
        let qemuErrors = stderr.filter { $0.firstMatch(of: /^\s*\d+:\t/) == nil }.suffix(10).joined(separator: "\n")
        let reports = lines.compactMap { line -> Substring? in
            line.range(of: GuestEnvironment.marker).map { line[$0.lowerBound...] }
        }
        print("VM (\(disk.testDescription)) ran \(String(format: "%.1f", seconds)) s; the guest said:\n\(reports.joined(separator: "\n"))")
        try #require(!vm.timedOut, "the VM did not power off within \(Int(Self.timeout)) s; console:\n\(tail)\nQEMU:\n\(qemuErrors)")
        let ok = try #require(
            reports.last { $0.hasPrefix("SWIFTRBD-GUEST-OK") },
            "the guest did not finish (QEMU exited \(vm.status)); console:\n\(tail)\nQEMU:\n\(qemuErrors)")
        #expect(vm.status == 0, "QEMU exited \(vm.status): \(qemuErrors)")
        let checksum = String(try #require(ok.split(separator: "=").last))

        // Only SwiftRBD's library served the disk.
        let loaded = Set(stderr.compactMap { line -> String? in
            guard let range = line.range(of: "calling init: ") else { return nil }
            return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        })
        #expect(loaded.contains { $0.hasSuffix("/qemu/block-rbd.so") }, "block-rbd.so was not loaded")
        let ceph = loaded.filter { path in
            !path.hasPrefix(CABIEnvironment.libs + "/") && ["librbd.so", "librados.so", "libceph-common"].contains { path.contains($0) }
        }
        #expect(ceph.isEmpty, "Ceph's libraries were loaded: \(ceph.sorted())")

        // fstrim trimmed at least the deleted file.
        let fstrim = try #require(reports.first { $0.hasPrefix("SWIFTRBD-GUEST-FSTRIM") })
        let trimmed = try #require(fstrim.firstMatch(of: /(\d+) bytes trimmed/).flatMap { Int($0.1) }, "\(fstrim)")
        #expect(trimmed >= 64 * Self.mib, "\(fstrim)")

        // Ceph's rbd export: a clean file system holding the guest's files.
        let fsck = try await ClusterEnvironment.offThreadPool {
            _ = try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)", exported])
            return try ClusterEnvironment.run(["e2fsck", "-fn", exported])
        }
        let fsckOutput = String(decoding: fsck.stdout, as: UTF8.self)
        print("e2fsck -fn: exit \(fsck.status), \(fsckOutput.split(separator: "\n").last ?? "")")
        #expect(fsck.status == 0, "e2fsck -fn exited \(fsck.status): \(fsckOutput) \(fsck.stderr)")
        func debugfs(_ request: String) async throws -> Data {
            let result = try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.run(["debugfs", "-R", request, exported]) }
            try #require(result.status == 0, "debugfs -R '\(request)': \(result.stderr)")
            return result.stdout
        }
        let random = try await debugfs("cat /random.bin")
        #expect(random.count == 8 * Self.mib)
        let sha = try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.run(["sha256sum"], input: random) }
        let hostChecksum = String(decoding: sha.stdout, as: UTF8.self).split(separator: " ").first.map(String.init)
        #expect(hostChecksum == checksum, "random.bin in the exported image does not match the guest's checksum")
        #expect(String(decoding: try await debugfs("cat /random.sha256"), as: UTF8.self) == "\(checksum)  random.bin\n")
        #expect(String(decoding: try await debugfs("cat /hello.txt"), as: UTF8.self) == "Hello from a guest on SwiftRBD, kernel \(kernel.version)\n")
        let listing = String(decoding: try await debugfs("ls -l /"), as: UTF8.self)
        #expect(listing.contains("random.bin") && !listing.contains("big.bin"), "\(listing)")

        // The RBD objects that lay wholly inside the deleted file are gone, and what is
        // left of its bytes in the image is zeros, but for a few 64 KiB blocks at the ends
        // of QEMU's IDE TRIM ranges (see `Disk.trimRangeEnds`).
        let infoJSON = try await ClusterEnvironment.offThreadPool {
            try ClusterEnvironment.ceph("rbd", ["info", "--format", "json", "rbd/\(name)"])
        }
        let info = try #require(try JSONSerialization.jsonObject(with: infoJSON) as? [String: Any])
        let prefix = try #require(info["block_name_prefix"] as? String)
        let objectSize = 1 << (try #require(info["order"] as? Int))
        let extents = GuestEnvironment.extents(reports.filter { $0.hasPrefix("SWIFTRBD-GUEST-EXTENT: ") }.map { $0.dropFirst("SWIFTRBD-GUEST-EXTENT: ".count) })
        #expect(extents.reduce(0) { $0 + $1.count } == 64 * Self.mib / 4096, "big.bin's extents: \(extents)")
        var inside: [Int] = []
        for extent in extents {
            let start = extent.first * 4096, end = (extent.first + extent.count) * 4096
            inside += Array(((start + objectSize - 1) / objectSize)..<(end / objectSize))
        }
        #expect(inside.count >= 8, "big.bin (\(extents)) covers only \(inside.count) whole objects")
        let objects = inside.map { prefix + "." + String(format: "%016llx", $0) }
        let remaining = try await ClusterEnvironment.offThreadPool {
            try objects.filter { try ClusterEnvironment.run(["rados", "-c", conf, "-p", "rbd", "stat", $0]).status == 0 }
        }
        let image = try Data(contentsOf: URL(fileURLWithPath: exported), options: .alwaysMapped)
        var dataBlocks: [Int] = []
        for extent in extents {
            for block in stride(from: extent.first * 4096, to: (extent.first + extent.count) * 4096, by: 64 << 10)
            where image[block..<min(block + (64 << 10), image.count)].contains(where: { $0 != 0 }) {
                dataBlocks.append(block)
            }
        }
        print("big.bin: \(objects.count) objects wholly inside, \(remaining.count) left \(remaining); \(dataBlocks.count) 64 KiB blocks not zero \(dataBlocks)")
        #expect(remaining.count <= disk.trimRangeEnds, "\(remaining.count) of the \(objects.count) objects inside the deleted big.bin still exist: \(remaining)")
        #expect(dataBlocks.count <= disk.trimRangeEnds, "\(dataBlocks.count) 64 KiB blocks of the deleted big.bin still hold data, at \(dataBlocks)")

        // rbd du: far less used than the 64 MiB file and the rest (8 MiB, metadata,
        // a 4 MiB journal) took before the trim.
        let duJSON = try await ClusterEnvironment.offThreadPool {
            try ClusterEnvironment.ceph("rbd", ["du", "--format", "json", "rbd/\(name)"])
        }
        let du = try #require(try JSONSerialization.jsonObject(with: duJSON) as? [String: Any])
        let usage = try #require((du["images"] as? [[String: Any]])?.first)
        let used = try #require(usage["used_size"] as? Int)
        print("rbd du: used \(used / Self.mib) MiB of \((usage["provisioned_size"] as? Int ?? 0) / Self.mib) MiB; \(fstrim)")
        #expect(used < 64 * Self.mib, "rbd du says \(used) bytes used: the deleted 64 MiB file's space was not returned")
    }
}
