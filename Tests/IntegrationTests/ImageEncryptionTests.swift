import Foundation
import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// LUKS encryption against librbd (python3-rbd's `encryption_format`/`encryption_load`)
/// and cryptsetup: an image librbd formatted and wrote reads back through us, one we
/// formatted and wrote reads back through librbd, byte for byte, for LUKS1 and LUKS2 with
/// AES-128 and AES-256; cryptsetup accepts the header we write (on an `rbd export`).
@Suite(.requiresCluster, .requiresPythonRBD, .requiresTools("rbd", "cryptsetup"))
struct ImageEncryptionTests {
    static let passphrase = Array("correct horse battery staple".utf8)

    /// librbd's side: formats (`format FMT ALG`) or loads (`load FMT`), then writes the
    /// pattern at each `OFFSET:LENGTH` given, then prints the effective size and the first
    /// READ bytes (raw, after a line `size N`).
    static let script = #"""
    import sys, rados, rbd
    conf, name, op, fmt, alg, passphrase, read = sys.argv[1:8]
    extents = sys.argv[8:]
    F = {'luks1': rbd.RBD_ENCRYPTION_FORMAT_LUKS1, 'luks2': rbd.RBD_ENCRYPTION_FORMAT_LUKS2}[fmt]
    A = {'aes128': rbd.RBD_ENCRYPTION_ALGORITHM_AES128, 'aes256': rbd.RBD_ENCRYPTION_ALGORITHM_AES256}[alg]
    cluster = rados.Rados(conffile=conf)
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    image = rbd.Image(io, name)
    try:
        if op == 'format':
            image.encryption_format(F, passphrase, A)
        else:
            image.encryption_load(F, passphrase)
        for extent in extents:
            offset, length = (int(x) for x in extent.split(':'))
            image.write(bytes(((i * 2654435761) >> 13) & 0xff for i in range(offset, offset + length)), offset)
        image.flush()
        out = sys.stdout.buffer
        out.write(b'size %d\n' % image.size())
        out.write(image.read(0, int(read)))
        out.flush()
    finally:
        image.close()
        io.close()
        cluster.shutdown()
    """#

    /// Where `data` differs from the pattern inside the written extents. Only those are
    /// compared with what librbd reads: a never-written sector inside an object librbd
    /// reads without a sparse read comes back as zeros decrypted (noise), where we return
    /// zeros (an all-zero sector on the OSDs was never written).
    static func firstDifference(_ data: [UInt8], inWritten extents: [(Int, Int)]) -> Int? {
        for (offset, length) in extents {
            for index in offset..<(offset + length) where index >= data.count || data[index] != pattern(index) { return index }
        }
        return nil
    }

    static func pattern(_ index: Int) -> UInt8 { UInt8(((UInt64(index) &* 2_654_435_761) >> 13) & 0xff) }

    static func model(_ extents: [(Int, Int)], size: Int) -> [UInt8] {
        var model = [UInt8](repeating: 0, count: size)
        for (offset, length) in extents {
            for index in offset..<(offset + length) { model[index] = pattern(index) }
        }
        return model
    }

    /// Runs librbd's side; returns the effective size and the bytes it read.
    static func librbd(_ name: String, _ op: String, _ format: String, _ algorithm: String, passphrase: String = String(decoding: passphrase, as: UTF8.self), read: Int, extents: [(Int, Int)]) async throws -> (size: UInt64, data: [UInt8]) {
        let conf = try #require(ClusterEnvironment.cephConf)
        let result = try await ClusterEnvironment.runAwaited(
            [ClusterEnvironment.python, "-c", script, conf, name, op, format, algorithm, passphrase, String(read)] + extents.map { "\($0.0):\($0.1)" })
        try #require(result.status == 0, "librbd's \(op) \(format) failed: \(result.stderr.suffix(600))")
        let output = Array(result.stdout)
        let newline = try #require(output.firstIndex(of: 0x0A))
        let line = String(decoding: output[..<newline], as: UTF8.self)
        let size = try #require(UInt64(line.dropFirst(5)), "librbd printed \(line)")
        return (size, Array(output[(newline + 1)...]))
    }

    static func withImage(_ label: String, size: String = "32M", _ body: (String, Image) async throws -> Void) async throws {
        let name = "crypt-\(label)-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await ClusterEnvironment.cephAwaited("rbd", ["create", "rbd/\(name)", "--size", size])
        let client = try await ImageIOInteropTests.connect()
        do {
            let image = try await Image.open(try await client.ioContext(pool: "rbd"), name: name)
            do {
                try await body(name, image)
            } catch {
                try? await image.close()
                throw error
            }
            try await image.close()
        } catch {
            await client.shutdown()
            _ = try? await ClusterEnvironment.cephAwaited("rbd", ["rm", "--no-progress", "rbd/\(name)"])
            throw error
        }
        await client.shutdown()
        _ = try await ClusterEnvironment.cephAwaited("rbd", ["rm", "--no-progress", "rbd/\(name)"])
    }

    /// Aligned, unaligned (read-modify-write of edge sectors) and object-crossing writes.
    static let extents = [(0, 65536), ((1 << 20) + 1000, 5000), ((4 << 20) - 700, 9000), ((3 << 20), 4096)]
    static let checked = 5 << 20

    static let cases: [(EncryptionFormat, EncryptionAlgorithm)] = [(.luks1, .aes128), (.luks1, .aes256), (.luks2, .aes128), (.luks2, .aes256)]

    static func names(_ format: EncryptionFormat, _ algorithm: EncryptionAlgorithm) -> (String, String) {
        ("\(format)", algorithm == .aes128 ? "aes128" : "aes256")
    }

    @Test(arguments: cases)
    func weReadWhatLibrbdEncrypted(format: EncryptionFormat, algorithm: EncryptionAlgorithm) async throws {
        let (formatName, algorithmName) = Self.names(format, algorithm)
        try await Self.withImage("theirs-\(formatName)") { name, image in
            let theirs = try await Self.librbd(name, "format", formatName, algorithmName, read: Self.checked, extents: Self.extents)
            let model = Self.model(Self.extents, size: Self.checked)
            #expect(Self.firstDifference(theirs.data, inWritten: Self.extents) == nil, "librbd did not read back its own writes")
            try await image.refresh()
            try await image.encryptionLoad(format, passphrase: Self.passphrase)
            #expect(image.size == theirs.size, "our effective size \(image.size), librbd's \(theirs.size)")
            let ours = Array(try await image.read(offset: 0, length: UInt64(Self.checked)).readableBytesView)
            #expect(ImageIOInteropTests.firstDifference(ours, model) == nil, "first difference at \(ImageIOInteropTests.firstDifference(ours, model) ?? -1)")
            // `.luks` finds the version by itself; a second load is refused.
            let again = await ClusterEnvironment.refusal("a second load") { try await image.encryptionLoad(.luks, passphrase: Self.passphrase) }
            #expect(again?.errno == 17)
        }
    }

    @Test(arguments: cases)
    func librbdReadsWhatWeEncrypted(format: EncryptionFormat, algorithm: EncryptionAlgorithm) async throws {
        let (formatName, algorithmName) = Self.names(format, algorithm)
        try await Self.withImage("ours-\(formatName)") { name, image in
            let raw = image.size
            try await image.encryptionFormat(format, passphrase: Self.passphrase, algorithm: algorithm, cost: .testing)
            // As librbd: the data starts at the header rounded up to the object size (4 MiB).
            let offset: UInt64 = format == .luks1 ? 4 << 20 : 16 << 20
            #expect(image.size == raw - offset)
            for (start, length) in Self.extents {
                let data = ByteBuffer(bytes: (start..<(start + length)).map(Self.pattern))
                #expect(try await image.write(offset: UInt64(start), data: data) == length)
            }
            try await image.flush()
            let model = Self.model(Self.extents, size: Self.checked)
            let ours = Array(try await image.read(offset: 0, length: UInt64(Self.checked)).readableBytesView)
            #expect(ImageIOInteropTests.firstDifference(ours, model) == nil, "we did not read back our writes: first difference at \(ImageIOInteropTests.firstDifference(ours, model) ?? -1)")
            let theirs = try await Self.librbd(name, "load", formatName, algorithmName, read: Self.checked, extents: [])
            #expect(theirs.size == image.size)
            #expect(Self.firstDifference(theirs.data, inWritten: Self.extents) == nil, "librbd's first difference at \(Self.firstDifference(theirs.data, inWritten: Self.extents) ?? -1)")
            // Discard and write-zeroes write encrypted zeros, which read as zeros both ways.
            #expect(try await image.discard(offset: 0, length: 8192) == 8192)
            let after = try await Self.librbd(name, "load", formatName, algorithmName, read: 8192, extents: [])
            #expect(after.data.count == 8192 && after.data.allSatisfy { $0 == 0 }, "librbd reads the discarded range as non-zero")
        }
    }

    /// `rbdctl encryption format` (librbd's key-derivation cost) makes a header librbd
    /// loads; `rbdctl export --encryption-format luks` exports librbd's plaintext, as
    /// large as the effective size, and `info` shows that size; a passphrase file others
    /// can read is refused.
    @Test func rbdctlFormatsAndExportsEncryptedImages() async throws {
        try await Self.withImage("rbdctl") { name, _ in
            let conf = try #require(ClusterEnvironment.cephConf)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-luks-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let keyFile = directory.appendingPathComponent("passphrase").path
            try Data(Self.passphrase + [0x0A]).write(to: URL(fileURLWithPath: keyFile))
            chmod(keyFile, 0o644)
            let open = try await ClusterEnvironment.runAwaited([ClusterEnvironment.rbdctl, "encryption", "format", "-c", conf, "rbd/\(name)", "luks1", keyFile])
            #expect(open.status == 13 && open.stderr.contains("can be read by other users"), "\(open.stderr)")
            chmod(keyFile, 0o600)
            let formatted = try await ClusterEnvironment.runAwaited([ClusterEnvironment.rbdctl, "encryption", "format", "-c", conf, "rbd/\(name)", "luks1", keyFile, "--cipher-alg", "aes-128"])
            try #require(formatted.status == 0, "rbdctl encryption format: \(formatted.stderr)")
            // The trailing newline is not part of the passphrase, as with rbd.
            let theirs = try await Self.librbd(name, "load", "luks1", "aes128", read: 0, extents: Self.extents)
            #expect(theirs.size == (32 - 4) << 20)
            let exported = directory.appendingPathComponent("plain").path
            let export = try await ClusterEnvironment.runAwaited([ClusterEnvironment.rbdctl, "export", "-c", conf, "--no-progress", "rbd/\(name)", exported, "--encryption-format", "luks", "--encryption-passphrase-file", keyFile])
            try #require(export.status == 0, "rbdctl export: \(export.stderr)")
            let plain = Array(try Data(contentsOf: URL(fileURLWithPath: exported)))
            #expect(UInt64(plain.count) == theirs.size)
            #expect(Self.firstDifference(plain, inWritten: Self.extents) == nil, "the export differs from librbd's writes at \(Self.firstDifference(plain, inWritten: Self.extents) ?? -1)")
            // `info` with the encryption loaded shows the effective size (28 MiB), without it the raw one.
            let info = try await ClusterEnvironment.runAwaited([ClusterEnvironment.rbdctl, "info", "-c", conf, "rbd/\(name)", "--encryption-format", "luks1", "--encryption-passphrase-file", keyFile])
            #expect(info.status == 0 && String(decoding: info.stdout, as: UTF8.self).contains("size 28 MiB in"), "\(String(decoding: info.stdout, as: UTF8.self)) \(info.stderr)")
            let raw = try await ClusterEnvironment.runAwaited([ClusterEnvironment.rbdctl, "info", "-c", conf, "rbd/\(name)"])
            #expect(String(decoding: raw.stdout, as: UTF8.self).contains("size 32 MiB in"), "\(String(decoding: raw.stdout, as: UTF8.self))")
        }
    }

    /// `rbdctl import --encryption-format luks2` formats the image it creates, sized so
    /// the file follows the header: librbd loads it and reads the file's bytes.
    @Test func rbdctlImportsIntoANewEncryptedImage() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "crypt-import-\(UInt32.random(in: 0...UInt32.max))"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-luks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("passphrase").path
        try Data(Self.passphrase).write(to: URL(fileURLWithPath: keyFile))
        chmod(keyFile, 0o600)
        let source = directory.appendingPathComponent("disk.raw").path
        let size = 6 << 20
        try Data((0..<size).map(Self.pattern)).write(to: URL(fileURLWithPath: source))
        let imported = try await ClusterEnvironment.runAwaited([ClusterEnvironment.rbdctl, "import", "-c", conf, "--no-progress", source, "rbd/\(name)", "--encryption-format", "luks2", "--encryption-passphrase-file", keyFile])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }
        try #require(imported.status == 0, "rbdctl import: \(imported.stderr)")
        let theirs = try await Self.librbd(name, "load", "luks2", "aes256", read: size, extents: [])
        #expect(theirs.size == UInt64(size))
        #expect(Self.firstDifference(theirs.data, inWritten: [(0, size)]) == nil, "librbd reads the imported bytes differently at \(Self.firstDifference(theirs.data, inWritten: [(0, size)]) ?? -1)")
    }

    /// A wrong passphrase is EPERM and changes nothing; an unformatted image is EINVAL.
    @Test func wrongPassphraseIsRefusedAndWritesNothing() async throws {
        try await Self.withImage("wrong", size: "24M") { name, image in
            let plain = await ClusterEnvironment.refusal("loading an unformatted image") { try await image.encryptionLoad(.luks, passphrase: Self.passphrase) }
            #expect(plain?.errno == 22 && plain?.message.contains("no LUKS header") == true, "\(String(describing: plain))")
            try await image.encryptionFormat(.luks2, passphrase: Self.passphrase, algorithm: .aes256, cost: .testing)
            _ = try await image.write(offset: 0, data: ByteBuffer(repeating: 0x5A, count: 4096))
            try await image.flush()
            let before = Array(try await ClusterEnvironment.cephAwaited("rbd", ["export", "--no-progress", "rbd/\(name)", "-"]))
            let reopened = try await Image.open(image.metadataIO, name: name)
            let refused = await ClusterEnvironment.refusal("a wrong passphrase") { try await reopened.encryptionLoad(.luks2, passphrase: Array("wrong".utf8)) }
            #expect(refused?.errno == 1, "\(String(describing: refused))")
            let mismatch = await ClusterEnvironment.refusal("loading LUKS2 as LUKS1") { try await reopened.encryptionLoad(.luks1, passphrase: Self.passphrase) }
            #expect(mismatch?.errno == 22 && mismatch?.message.contains("formatted luks2") == true, "\(String(describing: mismatch))")
            // Without encryption loaded, the handle refuses nothing, but nothing was written.
            try await reopened.close()
            let after = Array(try await ClusterEnvironment.cephAwaited("rbd", ["export", "--no-progress", "rbd/\(name)", "-"]))
            #expect(ImageIOInteropTests.firstDifference(before, after) == nil, "the refused loads changed the image")
        }
    }

    /// cryptsetup reads the header we write off an `rbd export`: the dump names the
    /// cipher and key slot 0, and the passphrase opens it (libcryptsetup's own unlock).
    @Test(arguments: [EncryptionFormat.luks1, .luks2])
    func cryptsetupAcceptsOurHeader(format: EncryptionFormat) async throws {
        try await Self.withImage("dump-\(format)") { name, image in
            try await image.encryptionFormat(format, passphrase: Self.passphrase, algorithm: .aes256, cost: .testing)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-luks-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let exported = directory.appendingPathComponent("image").path
            let keyFile = directory.appendingPathComponent("key").path
            try Data(Self.passphrase).write(to: URL(fileURLWithPath: keyFile))
            _ = try await ClusterEnvironment.cephAwaited("rbd", ["export", "--no-progress", "rbd/\(name)", exported])
            let dump = try await ClusterEnvironment.runAwaited(["cryptsetup", "luksDump", exported])
            let text = String(decoding: dump.stdout, as: UTF8.self)
            #expect(dump.status == 0, "luksDump: \(dump.stderr)")
            #expect(text.contains("Version:") && text.contains(format == .luks1 ? "1" : "2"))
            if format == .luks1 {
                #expect(text.contains("Cipher name:") && text.contains("aes") && text.contains("xts-plain64") && text.contains("Key Slot 0: ENABLED") && text.contains("MK bits:") && text.contains("512"), "\(text)")
            } else {
                #expect(text.contains("cipher: aes-xts-plain64") && text.contains("0: luks2") && text.contains("PBKDF:      argon2id") && text.contains("sector: 4096"), "\(text)")
            }
            let open = try await ClusterEnvironment.runAwaited(["cryptsetup", "open", "--test-passphrase", "--key-file", keyFile, exported])
            #expect(open.status == 0, "cryptsetup could not open key slot 0: \(open.stderr)")
            let wrong = try await ClusterEnvironment.runAwaited(["cryptsetup", "open", "--test-passphrase", "--key-file", "/dev/null", exported])
            #expect(wrong.status != 0)
        }
    }
}

/// QEMU's rbd driver on our C library (`encrypt.format=luks|luks2`): it loads the image
/// librbd formatted and wrote and writes a 512-byte block into librbd's data (for LUKS2
/// a read-modify-write of a 4 KiB sector, which must decrypt librbd's bytes around it);
/// librbd reads QEMU's write and its own bytes back.
@Suite(.requiresCluster, .requiresPythonRBD, .requiresQemuRBD, .requiresCABILibrary, .requiresTools("qemu-io", "rbd"))
struct QemuEncryptionTests {
    @Test(arguments: [("luks", EncryptionFormat.luks1), ("luks2", .luks2)])
    func qemuOpensWhatLibrbdEncrypted(qemuFormat: String, format: EncryptionFormat) async throws {
        try await ImageEncryptionTests.withImage("qemu-\(format)") { name, _ in
            let extents = [(0, 65536)]
            _ = try await ImageEncryptionTests.librbd(name, "format", "\(format)", "aes256", read: 0, extents: extents)
            let conf = try CABIEnvironment.clusterConf()
            let passphrase = String(decoding: ImageEncryptionTests.passphrase, as: UTF8.self)
            // qemu-io fails (and prints "Pattern verification failed") on a mismatch.
            let output = try await ClusterEnvironment.offThreadPool {
                try CABIEnvironment.withSwiftRBD([
                    "qemu-io", "--object", "secret,id=sec0,data=\(passphrase)", "--image-opts",
                    "driver=rbd,pool=rbd,image=\(name),conf=\(conf),encrypt.format=\(qemuFormat),encrypt.key-secret=sec0",
                    "-c", "write -P 0x33 4096 512", "-c", "read -P 0x33 4096 512", "-c", "flush",
                ])
            }
            #expect(!output.stdout.contains("failed") && !output.stdout.contains("Pattern verification"), "qemu-io: \(output.stdout) \(output.stderr)")
            let theirs = try await ImageEncryptionTests.librbd(name, "load", "\(format)", "aes256", read: 65536, extents: [])
            var expected = (0..<65536).map(ImageEncryptionTests.pattern)
            expected.replaceSubrange(4096..<4608, with: repeatElement(0x33, count: 512))
            #expect(ImageIOInteropTests.firstDifference(theirs.data, expected) == nil, "librbd reads QEMU's write differently at \(ImageIOInteropTests.firstDifference(theirs.data, expected) ?? -1)")
        }
    }
}

/// Headers cryptsetup itself makes (on a file, no cluster): we open them with the same
/// volume key `cryptsetup luksDump --dump-volume-key` reports.
@Suite(.requiresTools("cryptsetup"))
struct LUKSHeaderInteropTests {
    @Test(arguments: [
        ["--type", "luks1", "--hash", "sha256"],
        ["--type", "luks1", "--hash", "sha1", "--key-size", "256"],
        ["--type", "luks2", "--pbkdf", "pbkdf2", "--sector-size", "4096"],
        ["--type", "luks2", "--pbkdf", "argon2id", "--pbkdf-memory", "65536", "--pbkdf-parallel", "2", "--sector-size", "512"],
        ["--type", "luks2", "--pbkdf", "argon2i", "--pbkdf-memory", "32768", "--key-size", "256"],
    ])
    func weOpenWhatCryptsetupFormatted(options: [String]) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-luks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("disk").path
        let keyFile = directory.appendingPathComponent("key").path
        let passphrase = Array("pass phrase".utf8)
        try Data(passphrase).write(to: URL(fileURLWithPath: keyFile))
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.truncate(atOffset: 32 << 20)
        try handle.close()
        let iterations = options.contains("argon2id") || options.contains("argon2i") ? "4" : "1000"
        let formatted = try await ClusterEnvironment.runAwaited(["cryptsetup", "luksFormat", "--batch-mode", "--pbkdf-force-iterations", iterations, "--key-file", keyFile] + options + [file])
        try #require(formatted.status == 0, "cryptsetup luksFormat \(options): \(formatted.stderr)")
        let dump = try await ClusterEnvironment.runAwaited(["cryptsetup", "luksDump", "--dump-volume-key", "--batch-mode", "--key-file", keyFile, file])
        try #require(dump.status == 0, "luksDump --dump-volume-key: \(dump.stderr)")
        // "MK dump:" (LUKS1) or "Volume key:" (LUKS2), then hex bytes over one or more lines.
        let text = String(decoding: dump.stdout, as: UTF8.self)
        let start = try #require(text.range(of: "MK dump:") ?? text.range(of: "Volume key:"), "\(text)")
        let hex = text[start.upperBound...].prefix { $0 == " " || $0 == "\t" || $0 == "\n" || $0.isHexDigit }.filter(\.isHexDigit)
        let expected = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(Array(hex)[$0..<($0 + 2)]), radix: 16)! }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)).prefix(20 << 20))
        let key: [UInt8]
        if LUKS1Header.isLUKS1(bytes) {
            let header = try LUKS1Header.decode(bytes)
            key = try header.unlock(passphrase: passphrase, image: bytes)
            #expect(throws: RADOSError.self) { try header.unlock(passphrase: Array("wrong".utf8), image: bytes) }
        } else {
            let header = try LUKS2Header.decode(bytes)
            key = try header.unlock(passphrase: passphrase, image: bytes)
            #expect(header.dataOffset == 16 << 20)
            #expect(throws: RADOSError.self) { try header.unlock(passphrase: Array("wrong".utf8), image: bytes) }
        }
        #expect(key == expected, "\(options): our key differs from cryptsetup's")
    }
}
