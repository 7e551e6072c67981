import ArgumentParser
import RADOSProto
import RBDCore

/// `rbdctl resize --size SIZE [--allow-shrink] SPEC`, like `rbd resize`; also in
/// qemu-img's order, `rbdctl resize rbd:data/foo 10G` (or `+1G`, `-512M` relative to
/// the current size; shrinking needs `--shrink` or `--allow-shrink`).
struct ResizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resize", abstract: "Grow or (with --allow-shrink) shrink an image, like rbd resize (or qemu-img resize).",
        discussion: """
        Examples:
          rbdctl resize --size 20G rbd/foo
          rbdctl resize rbd:data/foo +10G
        """
    )

    @Argument(help: "pool/[namespace/]image or rbd:pool/image[:option=value…].") var spec: String
    @Argument(help: "New size in qemu-img's form ([+|-]bytes, or with a unit K/M/G/T), instead of --size.") var positionalSize: String?
    @Option(name: [.customShort("s"), .customLong("size")], parsing: .unconditional, help: "New size (MiB unless a unit M/G/T is given).") var size: String?
    @Flag(name: [.customLong("allow-shrink"), .customLong("shrink")], help: "Allow shrinking the image.") var allowShrink = false
    @Option(name: .customShort("f"), help: "Disk format, as qemu-img takes it (rbd images are raw).") var diskFormat: String?
    /// `-512M` after the image name, set by ``negativeSizeAsOption(_:)``.
    @Option(name: .customLong("qemu-shrink-by"), help: .private) var shrinkBy: String?
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    /// The size asked for: absolute, or relative to the current size.
    enum Target {
        case absolute(UInt64)
        case grow(UInt64)
        case shrink(UInt64)
    }

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try ImageCommandSupport.requireNoSnapshot(spec)
        try ImageCommandSupport.requireRaw(diskFormat)
        let target: Target
        let positionalSize = self.positionalSize ?? shrinkBy.map { "-" + $0 }
        if self.positionalSize != nil, shrinkBy != nil { throw ImageCommandSupport.usage("the size was given twice") }
        switch try ImageCommandSupport.sizeArgument(option: size, positional: positionalSize) {
        case .rbd(let bytes): target = .absolute(bytes)
        case .qemu(let sizeText):
            let sign = sizeText.first.flatMap { $0 == "+" || $0 == "-" ? $0 : nil }
            guard let bytes = ImageCommandSupport.parseQemuSize(String(sign == nil ? Substring(sizeText) : sizeText.dropFirst())) else {
                throw ImageCommandSupport.usage("invalid image size '\(sizeText)': give [+|-]bytes, or a number with K, M, G, T, P or E")
            }
            target = sign == "+" ? .grow(bytes) : sign == "-" ? .shrink(bytes) : .absolute(bytes)
        }
        try await ImageCommandSupport.run("resize error", spec: spec, cluster: cluster) { _, io, _ in
            try await ImageCommandSupport.withImage(io, name: spec.image) { image in
                let bytes: UInt64
                switch target {
                case .absolute(let value): bytes = value
                case .grow(let delta):
                    let (sum, overflow) = image.size.addingReportingOverflow(delta)
                    guard !overflow else { throw RADOSError(.invalidArgument, "the new size overflows", errno: 22) }
                    bytes = sum
                case .shrink(let delta):
                    guard delta <= image.size else {
                        throw RADOSError(.invalidArgument, "cannot shrink \(image.size) bytes by \(delta)", errno: 22)
                    }
                    bytes = image.size - delta
                }
                try await image.resize(to: bytes, allowShrink: allowShrink)
            }
        }
    }

    /// `arguments` with a negative size after `resize` (`-512M`, qemu-img's relative
    /// shrink) turned into a hidden option, as qemu-img takes the size out of argv
    /// before its option parser can read it as options.
    static func negativeSizeAsOption(_ arguments: [String]) -> [String] {
        guard arguments.first == "resize" else { return arguments }
        var afterTerminator = false
        var previous = ""
        return arguments.map { word in
            defer { previous = word }
            if word == "--" { afterTerminator = true }
            // `--size -5` is --size's value (refused later as rbd refuses it).
            guard !afterTerminator, previous != "--size", previous != "-s", word.count > 1,
                  word.hasPrefix("-"), word.dropFirst().first?.isNumber == true else { return word }
            return "--qemu-shrink-by=" + word.dropFirst()
        }
    }
}
