import ArgumentParser
import Foundation
import RADOSProto
import RBDCore

/// `rbdctl cp SRC DST` and `rbdctl deep cp SRC DST`, like rbd's: a new image with the
/// source's bytes (and, deep, its snapshots), the source's layout and features unless
/// options say otherwise.
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy", abstract: "Copy an image (or a snapshot) into a new image, like rbd cp.",
        discussion: """
        Examples:
          rbdctl cp rbd/vm1 rbd/vm1-copy
          rbdctl cp rbd/vm1@before-upgrade backup/vm1-before
        """,
        aliases: ["cp"])

    @Argument(help: "Source: pool/[namespace/]image[@snap].") var source: String
    @Argument(help: "Destination: pool/[namespace/]image.") var destination: String
    @OptionGroup var layout: ImageLayoutOptions
    @Flag(name: .customLong("no-progress"), help: "Do not print progress.") var noProgress = false
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await CopyCommand.copy(source, to: destination, layout: layout, deep: false, flatten: true, label: "Image copy", noProgress: noProgress, cluster: cluster)
    }

    static func copy(_ sourceText: String, to destinationText: String, layout: ImageLayoutOptions, deep: Bool, flatten: Bool, label: String, noProgress: Bool, cluster: ClusterOptions) async throws {
        let source = try ImageCommandSupport.parseSpec(sourceText)
        let destination = try ImageCommandSupport.parseSpec(destinationText)
        try ImageCommandSupport.requireNoSnapshot(destination)
        let requested = try layout.createOptions()
        let progress = Progress(label: label, enabled: !noProgress)
        try await ImageCommandSupport.run("copy failed", spec: source, cluster: cluster) { client, io, configuration in
            let destinationIO = try await client.ioContext(pool: destination.pool, namespace: destination.namespace)
            let options = try await layout.resolve(requested, client: client, configuration: configuration, inheritDefaults: false)
            try await ImageCommandSupport.withImage(io, name: source.image, snapshot: source.snapshot, readOnly: true) { image in
                try await Image.copy(from: image, to: destinationIO, name: destination.image, options: options, deep: deep, flatten: flatten) { done, total in
                    progress.update(done, of: total)
                }
            }
            progress.done()
        }
    }
}

/// `rbdctl deep cp SRC DST` (`rbd deep cp`): the copy keeps the source's snapshots, and
/// a clone's copy is a clone of the same parent snapshot unless `--flatten`.
struct DeepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deep", abstract: "Deep copy, like rbd deep.", subcommands: [DeepCopyCommand.self])
}

struct DeepCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy", abstract: "Copy an image with all its snapshots, like rbd deep cp.",
        discussion: "Example:\n  rbdctl deep cp rbd/vm1 rbd/vm1-copy",
        aliases: ["cp"])

    @Argument(help: "Source: pool/[namespace/]image.") var source: String
    @Argument(help: "Destination: pool/[namespace/]image.") var destination: String
    @OptionGroup var layout: ImageLayoutOptions
    @Flag(help: "Copy a clone as an independent image (its parent's data copied in).") var flatten = false
    @Flag(name: .customLong("no-progress"), help: "Do not print progress.") var noProgress = false
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await CopyCommand.copy(source, to: destination, layout: layout, deep: true, flatten: flatten, label: "Image deep copy", noProgress: noProgress, cluster: cluster)
    }
}
