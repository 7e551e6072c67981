import ArgumentParser
import Foundation
import NIOCore
import RADOSProto
import RBDCore

/// `rbdctl export SPEC FILE|-`: an image's bytes (at the head or at `@snap`) into a file or
/// stdout, like `rbd export`.
///
/// As rbd does (ceph/ceph `src/tools/rbd/action/Export.cc`), the file must not exist
/// yet, and a failed export removes the file it created; all-zero 4 KiB blocks are skipped (seeked over) so the file stays sparse, and the
/// file is finally cut to the image size. Stdout gets every byte. Reads go out a period
/// (object size × stripe count) at a time, `rbd_concurrent_management_ops` (10) at once.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export an image (or a snapshot) to a file or stdout, like rbd export.", discussion: "Example:\n  rbdctl export rbd/vm1@monday vm1-monday.raw")

    @Argument(help: "pool/[namespace/]image[@snap] or rbd:….") var spec: String
    @Argument(help: "Destination file, or - for stdout.") var path: String
    @Flag(name: .customLong("no-progress"), help: "Do not print progress.") var noProgress = false
    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var encryption: EncryptionOptions

    static let sparseBlock = 4096
    static let concurrency = 10

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        let toStdout = path == "-"
        let fd: Int32 = toStdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            let code = errno
            FileHandle.standardError.write(Data("rbdctl: error opening \(path): \(String(cString: strerror(code)))\n".utf8))
            throw ExitCode(code)
        }
        defer { if !toStdout { close(fd) } }
        do {
            try await export(spec, to: fd, toStdout: toStdout)
        } catch {
            // As rbd: a failed export leaves no file behind (a retry would meet EEXIST).
            if !toStdout { unlink(path) }
            throw error
        }
    }

    private func export(_ spec: ImageSpec, to fd: Int32, toStdout: Bool) async throws {
        let progress = Progress(label: "Exporting image", enabled: !noProgress)
        try await ImageCommandSupport.run("export", spec: spec, cluster: cluster) { _, io, _ in
            try await ImageCommandSupport.withImage(io, name: spec.image, snapshot: spec.snapshot, readOnly: true, encryption: encryption) { image in
                let size = image.size
                let layout = image.layout
                let chunk = max(layout.objectSize * layout.stripeCount, UInt64(Self.sparseBlock))
                var offset: UInt64 = 0
                while offset < size {
                    // One batch of reads in flight, written in order.
                    var batch: [(UInt64, UInt64)] = []
                    var next = offset
                    while batch.count < Self.concurrency, next < size {
                        let length = min(chunk, size - next)
                        batch.append((next, length))
                        next += length
                    }
                    let buffers = try await withThrowingTaskGroup(of: (Int, ByteBuffer).self) { group in
                        for (index, (start, length)) in batch.enumerated() {
                            group.addTask { (index, try await image.read(offset: start, length: length)) }
                        }
                        var buffers = [ByteBuffer](repeating: ByteBuffer(), count: batch.count)
                        for try await (index, buffer) in group { buffers[index] = buffer }
                        return buffers
                    }
                    for (index, buffer) in buffers.enumerated() {
                        try Self.write(buffer, at: batch[index].0, to: fd, sparse: !toStdout, path: path)
                    }
                    offset = next
                    progress.update(offset, of: size)
                }
                if !toStdout, ftruncate(fd, off_t(size)) != 0 {
                    throw RADOSError(.invalidArgument, "cannot set the size of \(path): \(String(cString: strerror(errno)))", errno: errno)
                }
                progress.done()
            }
        }
    }

    /// Writes `buffer` at file offset `offset`; sparse output skips all-zero blocks.
    static func write(_ buffer: ByteBuffer, at offset: UInt64, to fd: Int32, sparse: Bool, path: String) throws(RADOSError) {
        let failed: Int32? = buffer.withUnsafeReadableBytes { bytes -> Int32? in
            guard sparse else { return writeAll(fd, bytes, at: nil) }
            var start = 0
            while start < bytes.count {
                let end = min(start + sparseBlock, bytes.count)
                let block = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                if !Image.isZero(block), let error = writeAll(fd, block, at: off_t(offset) + off_t(start)) { return error }
                start = end
            }
            return nil
        }
        if let failed {
            throw RADOSError(.invalidArgument, "cannot write \(path): \(String(cString: strerror(failed)))", errno: failed)
        }
    }

    /// Writes all of `bytes` (at `offset` with pwrite, else at the current position);
    /// returns errno on failure.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: off_t?) -> Int32? {
        var done = 0
        while done < bytes.count {
            let base = bytes.baseAddress! + done
            let count = offset.map { pwrite(fd, base, bytes.count - done, $0 + off_t(done)) } ?? Glibc.write(fd, base, bytes.count - done)
            if count < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += count
        }
        return nil
    }
}

/// rbd's progress lines on stderr ("Exporting image: 42% complete...", then "...done."),
/// printed only when stderr is a terminal (or when forced, as `convert -p` does), so
/// scripts and logs get no carriage-return noise.
final class Progress: @unchecked Sendable {
    let label: String
    let enabled: Bool
    private var last = -1

    /// `enabled` is the command's wish (`--no-progress` turns it off); without a
    /// terminal on stderr nothing is printed unless `evenWithoutTerminal`.
    init(label: String, enabled: Bool, evenWithoutTerminal: Bool = false) {
        self.label = label
        self.enabled = enabled && (evenWithoutTerminal || isatty(STDERR_FILENO) != 0)
    }

    func update(_ done: UInt64, of total: UInt64) {
        guard enabled, total > 0 else { return }
        let percent = Int(done * 100 / total)
        // 100% is printed once, by done().
        guard percent != last, percent < 100 else { return }
        last = percent
        FileHandle.standardError.write(Data("\r\(label): \(percent)% complete...".utf8))
    }

    func done() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\(label): 100% complete...done.\n".utf8))
    }
}
