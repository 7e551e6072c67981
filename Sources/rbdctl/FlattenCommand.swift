import ArgumentParser
import RBDCore

/// `rbdctl flatten SPEC`, like `rbd flatten`: the clone gets every byte it still reads
/// from its parent and stops depending on it.
struct FlattenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flatten", abstract: "Copy a clone's parent data into it and detach it from the parent, like rbd flatten.", discussion: "Example:\n  rbdctl flatten rbd/vm1")

    @Argument(help: "pool/[namespace/]image or rbd:pool/image[:option=value…].") var spec: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try ImageCommandSupport.requireNoSnapshot(spec)
        let shown = Progress(label: "Image flatten", enabled: !progress.noProgress)
        try await ImageCommandSupport.run("flatten error", spec: spec, cluster: cluster) { _, io, _ in
            try await ImageCommandSupport.withImage(io, name: spec.image) { image in
                try await image.flatten { shown.update($0, of: $1) }
            }
            shown.done()
        }
    }
}
