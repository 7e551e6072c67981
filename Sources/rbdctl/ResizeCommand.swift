import ArgumentParser
import RBDCore

/// `rbdctl resize --size SIZE [--allow-shrink] SPEC`, like `rbd resize`.
struct ResizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resize", abstract: "Grow or (with --allow-shrink) shrink an image, like rbd resize.")

    @Argument(help: "pool/[namespace/]image or rbd:pool/image[:option=value…].") var spec: String
    @Option(name: [.customShort("s"), .customLong("size")], parsing: .unconditional, help: "New size (MiB unless a unit M/G/T is given).") var size: String?
    @Flag(name: .customLong("allow-shrink"), help: "Allow shrinking the image.") var allowShrink = false
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try ImageCommandSupport.requireNoSnapshot(spec)
        guard let sizeText = size else { throw ImageCommandSupport.usage("must specify --size <M/G/T>") }
        guard let bytes = ImageCommandSupport.parseBytes(sizeText, defaultUnit: 1 << 20) else {
            throw ImageCommandSupport.invalid(sizeText, for: "--size")
        }
        try await ImageCommandSupport.run("resize error", spec: spec, cluster: cluster) { _, io, _ in
            try await ImageCommandSupport.withImage(io, name: spec.image) { image in
                try await image.resize(to: bytes, allowShrink: allowShrink)
            }
        }
    }
}
