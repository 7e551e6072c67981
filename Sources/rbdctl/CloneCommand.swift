import ArgumentParser
import RADOSProto
import RBDCore

/// `rbdctl clone PARENT@SNAP CHILD`, like `rbd clone`: the clone format comes from
/// `rbd_default_clone_format` (`--rbd-default-clone-format 1|2|auto`); unset layout and
/// features come from the parent, as librbd's clone takes them.
struct CloneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clone", abstract: "Clone a snapshot into a copy-on-write child image, like rbd clone.", discussion: "Example:\n  rbdctl clone rbd/golden@base rbd/vm1")

    @Argument(help: "Parent: pool/[namespace/]image@snapshot.") var parent: String
    @Argument(help: "Child: pool/[namespace/]image.") var child: String
    @OptionGroup var layout: ImageLayoutOptions
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let parentSpec = try ImageCommandSupport.parseSpec(parent)
        let snapshot = try ImageCommandSupport.snapshotName(parentSpec)
        let childSpec = try ImageCommandSupport.parseSpec(child)
        try ImageCommandSupport.requireNoSnapshot(childSpec)
        var options = try layout.createOptions()
        try await ImageCommandSupport.run("clone error", spec: parentSpec, cluster: cluster) { client, parentIO, configuration in
            let format = try configuration.cloneFormat()
            if let dataPool = layout.dataPool {
                guard let id = await client.poolID(named: dataPool) else {
                    throw RADOSError(.notFound, "data pool \(dataPool) does not exist", errno: 2)
                }
                options.dataPoolID = id
            }
            let childIO = try await client.ioContext(pool: childSpec.pool, namespace: childSpec.namespace)
            try await Image.clone(parentIO: parentIO, parentName: parentSpec.image, snapshot: snapshot, childIO: childIO, childName: childSpec.image, options: options, format: format)
        }
    }
}
