import ArgumentParser
import RBDCore

/// `rbdctl children [--all] SPEC[@SNAP]`, printed as `rbd children` prints it:
/// `pool/[namespace/]image` per clone, trashed clones (with `--all`) followed by
/// `(trash <id>)`; without a snapshot, the clones of every snapshot.
struct ChildrenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "children", abstract: "List the clones of a snapshot, like rbd children.", discussion: "Example:\n  rbdctl children rbd/golden@base")

    @Argument(help: "pool/[namespace/]image[@snapshot].") var spec: String
    @Flag(name: [.customShort("a"), .customLong("all")], help: "Also list clones in the image trash.") var all = false
    @OptionGroup var output: FormatOptions
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try await ImageCommandSupport.run("listing children failed", spec: spec, cluster: cluster) { _, io, _ in
            let children = try await ImageCommandSupport.withImage(io, name: spec.image, readOnly: true) { image in
                if let snapshot = spec.snapshot { try await image.children(ofSnapshot: snapshot) } else { try await image.children() }
            }.filter { all || !$0.isTrashed }
            print(output.render(Self.formatted(children, all: all)) ?? Self.text(children), terminator: "")
        }
    }

    static func text(_ children: [ImageChild]) -> String {
        children.map { child in
            let place = child.poolNamespace.isEmpty ? child.poolName : "\(child.poolName)/\(child.poolNamespace)"
            return "\(place)/\(child.imageName)" + (child.isTrashed ? " (trash \(child.imageID))" : "") + "\n"
        }.joined()
    }

    /// rbd's fields in its order: pool, pool_namespace, image, and with `--all` id, trash.
    static func formatted(_ children: [ImageChild], all: Bool) -> Formatted {
        .array("children", children.map { child in
            var fields: [(String, Formatted)] = [("pool", .string(child.poolName)), ("pool_namespace", .string(child.poolNamespace)), ("image", .string(child.imageName))]
            if all { fields += [("id", .string(child.imageID)), ("trash", .bool(child.isTrashed))] }
            return .object("child", fields)
        })
    }
}
