import ArgumentParser
import RBDCore

/// `rbdctl rename SRC DST`, like `rbd rename` (same pool and namespace).
struct RenameCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename an image within its pool, like rbd rename.", discussion: "Example:\n  rbdctl rename rbd/vm1 rbd/vm2", aliases: ["mv"])

    @Argument(help: "Source: pool/[namespace/]image.") var source: String
    @Argument(help: "Destination: [pool/[namespace/]]image.") var destination: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let from = try ImageCommandSupport.parseSpec(source)
        try ImageCommandSupport.requireNoSnapshot(from)
        var to = try ImageCommandSupport.parseSpec(destination)
        // A bare destination name stays in the source's pool and namespace.
        if !destination.contains("/") && !destination.hasPrefix("rbd:") {
            to.pool = from.pool
            to.namespace = from.namespace
        }
        guard to.pool == from.pool, to.namespace == from.namespace else {
            throw ImageCommandSupport.usage("mv/rename across pools not supported\nsource pool: \(from.pool) dest pool: \(to.pool)")
        }
        try await ImageCommandSupport.run("rename error", spec: from, cluster: cluster) { _, io, _ in
            try await Image.rename(io, from: from.image, to: to.image)
        }
    }
}
