import ArgumentParser
import DiskImageFormats
import Foundation
import NIOCore
import RADOSProto
import RBDCore

/// `rbdctl convert [-f raw|qcow2] [-O raw|rbd] SOURCE DESTINATION`: `qemu-img convert`
/// for the guide's work (`qemu-img convert -f qcow2 -O raw debian_squeeze.qcow2
/// rbd:data/squeeze`) without QEMU.
///
/// A source is a raw or qcow2 file (probed when `-f` is not given; qcow2 read by
/// ``QCOW2Reader``) or an `rbd:` image; a destination is a raw file or an image (an
/// `rbd:` name, or any image spec with `-O rbd`), created with the source's virtual
/// size as `qemu-img` creates it (an existing image is refused, as QEMU's rbd driver
/// refuses it; a file is truncated). Zero clusters, unallocated clusters and all-zero
/// blocks of `-S` bytes (4 KiB, `qemu-img`'s default) are not written, so the copy
/// stays sparse. A conversion that fails removes the image or file it created.
struct ConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Copy a raw or qcow2 file (or an image) into an image or a raw file, like qemu-img convert.",
        discussion: """
        Examples:
          rbdctl convert -f qcow2 -O raw debian_squeeze.qcow2 rbd:data/squeeze
          rbdctl convert -O raw rbd:data/squeeze squeeze.raw
        """
    )

    @Option(name: .customShort("f"), help: "Source format: raw or qcow2 (probed when not given; rbd: names are raw).") var sourceFormat: String?
    @Option(name: .customShort("O"), help: "Destination format: raw (a file, or an image for rbd: names) or rbd.") var destinationFormat: String = "raw"
    @Option(name: .customShort("S"), help: "All-zero blocks of this size are not written (qemu-img's -S; 0 writes every byte; default 4K).") var sparseSize: String = "4K"
    @Flag(name: .customShort("p"), help: "Show progress (as qemu-img -p; shown anyway when stderr is a terminal).") var showProgress = false
    @Flag(name: .customLong("no-progress"), help: "Do not print progress.") var noProgress = false
    @Argument(help: "Source: a file, or rbd:pool/image[@snap][:option=value…].") var source: String
    @Argument(help: "Destination: a file (-O raw), or rbd:pool/image[:option=value…] (or pool/image with -O rbd).") var destination: String
    @OptionGroup var layout: ImageLayoutOptions
    @OptionGroup var cluster: ClusterOptions

    static let concurrency = 10
    /// Guest bytes read per step from a file source.
    static let step: UInt64 = 4 << 20

    func run() async throws {
        let sparse: Int
        if let value = ImageCommandSupport.parseBytes(sparseSize), value == 0 || (value >= 512 && value <= 1 << 30 && value % 512 == 0) {
            sparse = Int(value)
        } else {
            throw ImageCommandSupport.invalid(sparseSize, for: "-S")
        }
        if let sourceFormat, DiskImageFormat(rawValue: sourceFormat) == nil {
            throw ImageCommandSupport.usage("unknown source format '\(sourceFormat)' (-f raw or -f qcow2)")
        }
        guard ["raw", "rbd"].contains(destinationFormat) else {
            throw ImageCommandSupport.usage("unsupported destination format '\(destinationFormat)': rbdctl writes raw files and rbd images (-O raw or -O rbd)")
        }
        let sourceIsImage = source.hasPrefix("rbd:")
        let destinationIsImage = destination.hasPrefix("rbd:") || destinationFormat == "rbd"
        if sourceIsImage, let sourceFormat, sourceFormat != "raw" {
            throw ImageCommandSupport.usage("rbd images are raw; -f \(sourceFormat) does not apply to \(source)")
        }
        let sourceSpec = sourceIsImage ? try ImageCommandSupport.parseSpec(source) : nil
        let destinationSpec = destinationIsImage ? try ImageCommandSupport.parseSpec(destination) : nil
        if let destinationSpec { try ImageCommandSupport.requireNoSnapshot(destinationSpec) }
        let requested = try layout.createOptions()
        let progress = Progress(label: "Converting image", enabled: !noProgress, evenWithoutTerminal: showProgress)

        do {
            var input = try await ConvertInput.open(sourceIsImage ? nil : source, image: sourceSpec, format: sourceFormat.flatMap(DiskImageFormat.init(rawValue:)), cluster: cluster)
            do {
                let output = try await ConvertOutput.create(
                    file: destinationIsImage ? nil : destination, image: destinationSpec, size: input.virtualSize,
                    layout: layout, requested: requested, cluster: cluster
                )
                do {
                    try await copy(&input, to: output, sparse: sparse, progress: progress)
                    try await output.finish()
                } catch {
                    await output.discard()
                    throw error
                }
            } catch {
                await input.close()
                throw error
            }
            await input.close()
            progress.done()
        } catch let error as RADOSError {
            ImageCommandSupport.report(error, failure: "convert error")
            throw ExitCode(error.errno)
        } catch let error as DiskImageError {
            ErrorReport.print("\(source): \(error.message)", errno: error.errno, fallback: "convert")
            throw ExitCode(error.errno)
        }
    }

    /// Copies every data segment of `input`, skipping all-zero blocks of `sparse` bytes,
    /// with up to ``concurrency`` writes in flight to an image.
    private func copy(_ input: inout ConvertInput, to output: ConvertOutput, sparse: Int, progress: Progress) async throws {
        let size = input.virtualSize
        let step = max(output.preferredStep, Self.step)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            var offset: UInt64 = 0
            while offset < size {
                let length = min(step, size - offset)
                for segment in try await input.segments(at: offset, length: length) {
                    let runs = sparse == 0 ? [0..<segment.bytes.readableBytes] : Image.nonZeroRuns(segment.bytes, block: sparse)
                    for run in runs {
                        let slice = segment.bytes.getSlice(at: segment.bytes.readerIndex + run.lowerBound, length: run.count) ?? ByteBuffer()
                        let at = segment.offset + UInt64(run.lowerBound)
                        if case .image(let image, _, _) = output {
                            if inFlight >= Self.concurrency {
                                try await group.next()
                                inFlight -= 1
                            }
                            group.addTask { _ = try await image.write(offset: at, data: slice) }
                            inFlight += 1
                        } else {
                            try output.writeFile(slice, at: at)
                        }
                    }
                }
                offset += length
                progress.update(offset, of: size)
            }
            try await group.waitForAll()
        }
    }
}

/// What `convert` reads: a disk image file, or an image through the cluster.
enum ConvertInput {
    case file(reader: any DiskImageReader, descriptor: Int32)
    case image(Image, RADOSClient)

    var virtualSize: UInt64 {
        switch self {
        case .file(let reader, _): reader.virtualSize
        case .image(let image, _): image.size
        }
    }

    static func open(_ path: String?, image spec: ImageSpec?, format: DiskImageFormat?, cluster: ClusterOptions) async throws -> ConvertInput {
        if let spec {
            let client = try await RADOSClient.connectReportingHunts(try cluster.configuration(for: spec))
            do {
                let io = try await client.ioContext(pool: spec.pool, namespace: spec.namespace)
                return .image(try await Image.open(io, name: spec.image, snapshot: spec.snapshot, readOnly: true), client)
            } catch {
                await client.shutdown()
                throw error
            }
        }
        let path = path ?? ""
        let descriptor = Glibc.open(path, O_RDONLY)
        guard descriptor >= 0 else {
            let code = errno
            throw RADOSError(.notFound, "cannot open \(path)", errno: code)
        }
        do {
            let source = try FileSource(descriptor: descriptor, path: path)
            let reader = try (format ?? DiskImageFormat.probe(source)).reader(source)
            return .file(reader: reader, descriptor: descriptor)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    mutating func segments(at offset: UInt64, length: UInt64) async throws -> [DiskImageSegment] {
        switch self {
        case .file(var reader, let descriptor):
            let segments = try reader.segments(at: offset, length: length)
            self = .file(reader: reader, descriptor: descriptor)
            return segments
        case .image(let image, _):
            return [DiskImageSegment(offset: offset, bytes: try await image.read(offset: offset, length: length))]
        }
    }

    func close() async {
        switch self {
        case .file(_, let descriptor): Glibc.close(descriptor)
        case .image(let image, let client):
            try? await image.close()
            await client.shutdown()
        }
    }
}

/// What `convert` writes: a new raw file, or a new image.
enum ConvertOutput {
    case file(descriptor: Int32, path: String, size: UInt64)
    case image(Image, IOContext, RADOSClient)

    /// Bytes per read step: a whole stripe period for an image.
    var preferredStep: UInt64 {
        switch self {
        case .file: 0
        case .image(let image, _, _): image.layout.objectSize * image.layout.stripeCount
        }
    }

    static func create(file path: String?, image spec: ImageSpec?, size: UInt64, layout: ImageLayoutOptions, requested: ImageCreateOptions, cluster: ClusterOptions) async throws -> ConvertOutput {
        if let spec {
            let configuration = try cluster.configuration(for: spec)
            let client = try await RADOSClient.connectReportingHunts(configuration)
            do {
                let io = try await client.ioContext(pool: spec.pool, namespace: spec.namespace)
                let options = try await layout.resolve(requested, client: client, configuration: configuration)
                try await Image.create(io, name: spec.image, size: size, options: options)
                do {
                    return .image(try await Image.open(io, name: spec.image), io, client)
                } catch {
                    try? await Image.remove(io, name: spec.image)
                    throw error
                }
            } catch {
                await client.shutdown()
                throw error
            }
        }
        let path = path ?? ""
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            throw RADOSError(.notFound, "cannot create \(path)", errno: code)
        }
        return .file(descriptor: descriptor, path: path, size: size)
    }

    func writeFile(_ bytes: ByteBuffer, at offset: UInt64) throws {
        guard case .file(let descriptor, let path, _) = self else { return }
        let failure = bytes.withUnsafeReadableBytes { ExportCommand.writeAll(descriptor, $0, at: off_t(offset)) }
        if let failure { throw RADOSError(.clusterError, "cannot write \(path)", errno: failure) }
    }

    /// Flushes and closes: the file cut to the virtual size, the image flushed.
    func finish() async throws {
        switch self {
        case .file(let descriptor, let path, let size):
            guard ftruncate(descriptor, off_t(size)) == 0, fsync(descriptor) == 0 else {
                let code = errno
                throw RADOSError(.clusterError, "cannot finish \(path)", errno: code)
            }
            Glibc.close(descriptor)
        case .image(let image, _, let client):
            try await image.flush()
            try await image.close()
            await client.shutdown()
        }
    }

    /// Removes what `create` made, after a failure.
    func discard() async {
        switch self {
        case .file(let descriptor, let path, _):
            Glibc.close(descriptor)
            unlink(path)
        case .image(let image, let io, let client):
            try? await image.close()
            try? await Image.remove(io, name: image.name)
            await client.shutdown()
        }
    }
}
