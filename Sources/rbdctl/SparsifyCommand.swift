import ArgumentParser
import RBDCore

/// `rbdctl sparsify [--sparse-size SIZE] SPEC`, like `rbd sparsify`.
struct SparsifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sparsify", abstract: "Give back the space of zeros an image stores, like rbd sparsify.",
        discussion: "Example:\n  rbdctl sparsify --sparse-size 64K rbd/vm1")
    @Argument(help: "pool/[namespace/]image.") var spec: String
    @Option(name: .customLong("sparse-size"), help: "Block size to look for zeros in (power of two, 4K up to the object size).") var sparseSize: String = "4K"
    @Flag(name: .customLong("no-progress"), help: "Do not print progress.") var noProgress = false
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try ImageCommandSupport.requireNoSnapshot(spec)
        guard let size = ImageCommandSupport.parseBytes(sparseSize), size >= 4096, size & (size - 1) == 0 else {
            throw ImageCommandSupport.invalid(sparseSize, for: "--sparse-size")
        }
        let progress = Progress(label: "Image sparsify", enabled: !noProgress)
        try await ImageCommandSupport.run("sparsify error", spec: spec, cluster: cluster) { _, io, _ in
            _ = try await ImageCommandSupport.withImage(io, name: spec.image) { image in
                try await image.sparsify(sparseSize: size) { progress.update($0, of: $1) }
            }
            progress.done()
        }
    }
}
