import ArgumentParser
import DiskImageFormats
import Foundation
import NIOCore
import RADOSProto
import RBDCore

/// `rbdctl import FILE|- [SPEC]`: a new image holding a file's (or stdin's) bytes, like
/// `rbd import` (ceph/ceph `src/tools/rbd/action/Import.cc`).
///
/// The image is created with the file's size and `rbd create`'s options; all-zero
/// blocks of `--sparse-size` (4 KiB) are not written, so they stay unallocated. The
/// image name defaults to the file's name in pool rbd. Unlike rbd, stdin is first
/// spooled to an unlinked temporary file (rbd grows the image as it reads instead).
///
/// SwiftRBD refuses to write images with journaling (see `Image.checkWritable`), so
/// `import` checks the features before creating anything instead of leaving an empty
/// image behind.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import a file or stdin into a new image, like rbd import.", discussion: "Example:\n  rbdctl import --image-feature layering disk.raw rbd/vm1")

    @Argument(help: "Source file, or - for stdin.") var path: String
    @Argument(help: "Destination pool/[namespace/]image (default: the file's name in pool rbd).") var spec: String?
    @OptionGroup var layout: ImageLayoutOptions
    @Option(name: .customLong("sparse-size"), help: "Blocks of this size that are all zeros are not written (B/K/M, default 4K).") var sparseSize: String = "4K"
    @Flag(name: .customLong("no-progress"), help: "Do not print progress.") var noProgress = false
    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var encryption: EncryptionOptions

    static let concurrency = 10

    func run() async throws {
        let fromStdin = path == "-"
        guard let specText = spec ?? (fromStdin ? nil : URL(fileURLWithPath: path).lastPathComponent) else {
            throw ImageCommandSupport.usage("destination image name was not specified")
        }
        let spec = try ImageCommandSupport.parseSpec(specText)
        guard spec.snapshot == nil else { throw ImageCommandSupport.usage("snapshot name specified for a command that doesn't use it") }
        guard let sparse = ImageCommandSupport.parseBytes(sparseSize), sparse >= 4096, sparse <= 1 << 30 else {
            throw ImageCommandSupport.invalid(sparseSize, for: "--sparse-size")
        }
        let requested = try layout.createOptions()
        // With encryption, the new image is formatted (luks1 or luks2) before the data
        // goes in, encrypted, after the header.
        if encryption.format == "luks" {
            throw ImageCommandSupport.usage("import formats the new image: use --encryption-format luks1 or luks2")
        }

        let fd = fromStdin ? try Self.spoolStdin() : open(path, O_RDONLY)
        guard fd >= 0 else {
            let code = errno
            FileHandle.standardError.write(Data("rbdctl: error opening \(path): \(String(cString: strerror(code)))\n".utf8))
            throw ExitCode(code)
        }
        defer { close(fd) }
        let source: FileSource
        do throws(DiskImageError) {
            source = try FileSource(descriptor: fd, path: path)
        } catch {
            FileHandle.standardError.write(Data("rbdctl: \(error.message)\n".utf8))
            throw ExitCode(error.errno)
        }
        let size = source.size
        let progress = Progress(label: "Importing image", enabled: !noProgress)

        try await ImageCommandSupport.run("import", spec: spec, cluster: cluster) { client, io, configuration in
            let options = try await layout.resolve(requested, client: client, configuration: configuration)
            let blocking = (options.features ?? RBDFeatures.pacificDefault).intersection(Image.unhonouredWriteFeatures)
            guard blocking.isEmpty else {
                throw RADOSError(.unsupported, "SwiftRBD cannot yet write images with \(blocking.names.joined(separator: ", ")); import with --image-feature layering (or set rbd_default_features)", errno: 95)
            }
            // Room for a LUKS header (at most the largest object, 32 MiB), cut back below.
            try await Image.create(io, name: spec.image, size: size + (encryption.format == nil ? 0 : 32 << 20), options: options)
            try await ImageCommandSupport.withImage(io, name: spec.image) { image in
                try await encryption.format(image, holding: size)
                let layout = image.layout
                let chunk = Int(max(layout.objectSize * layout.stripeCount, sparse))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    var inFlight = 0
                    var offset: UInt64 = 0
                    while offset < size {
                        let length = Int(min(UInt64(chunk), size - offset))
                        let buffer: ByteBuffer
                        do throws(DiskImageError) {
                            buffer = try source.read(at: offset, count: length)
                        } catch {
                            throw RADOSError(.invalidArgument, error.message, errno: error.errno)
                        }
                        for run in Image.nonZeroRuns(buffer, block: Int(sparse)) {
                            if inFlight >= Self.concurrency {
                                try await group.next()
                                inFlight -= 1
                            }
                            let slice = buffer.getSlice(at: buffer.readerIndex + run.lowerBound, length: run.count) ?? ByteBuffer()
                            let at = offset + UInt64(run.lowerBound)
                            group.addTask { try await image.write(offset: at, data: slice) }
                            inFlight += 1
                        }
                        offset += UInt64(length)
                        progress.update(offset, of: size)
                    }
                    try await group.waitForAll()
                }
                try await image.flush()
                progress.done()
            }
        }
    }

    /// Copies stdin into an unlinked temporary file and returns its descriptor.
    static func spoolStdin() throws -> Int32 {
        var template = Array("/tmp/rbdctl-import-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ExitCode(errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = block.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress!, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw ExitCode(errno)
            }
            let written = block.withUnsafeBytes { ExportCommand.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<count]), at: nil) }
            if let written { throw ExitCode(written) }
        }
        return fd
    }
}
