import ArgumentParser
import RBDCore

/// `rbdctl rm SPEC`, like `rbd rm`.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an image and its data, like rbd rm.", discussion: "Example:\n  rbdctl rm rbd/vm1", aliases: ["remove"])

    @Argument(help: "pool/[namespace/]image or rbd:pool/image[:option=value…].") var spec: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try ImageCommandSupport.requireNoSnapshot(spec)
        let shown = Progress(label: "Removing image", enabled: !progress.noProgress)
        try await ImageCommandSupport.run("delete error", spec: spec, cluster: cluster) { _, io, _ in
            try await Image.remove(io, name: spec.image) { shown.update($0, of: $1) }
            shown.done()
        }
    }
}
