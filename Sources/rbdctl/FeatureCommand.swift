import ArgumentParser
import Foundation
import RADOSProto
import RBDCore

/// `rbdctl feature enable|disable SPEC FEATURE…`, like `rbd feature`.
struct FeatureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feature", abstract: "Turn image features on or off, like rbd feature.",
        discussion: """
        Examples:
          rbdctl feature enable rbd/vm1 exclusive-lock object-map fast-diff
          rbdctl feature disable rbd/vm1 fast-diff object-map
        """,
        subcommands: [FeatureEnable.self, FeatureDisable.self])

    /// The feature names (bare words) and the Ceph options both land in the trailing
    /// arguments (a command cannot have two lists of positionals); they are told apart
    /// here.
    static func update(_ specText: String, enable: Bool, cluster given: ClusterOptions) async throws {
        var cluster = given
        let names = given.cephOptions.filter { !$0.hasPrefix("-") }
        cluster.cephOptions = given.cephOptions.filter { $0.hasPrefix("-") }
        let spec = try ImageCommandSupport.parseSpec(specText)
        try ImageCommandSupport.requireNoSnapshot(spec)
        guard !names.isEmpty else { throw ImageCommandSupport.usage("at least one feature name must be specified") }
        var features: RBDFeatures = []
        for name in names {
            guard let parsed = RBDFeatures(parsing: name) else { throw ImageCommandSupport.invalid(name, for: "features") }
            features.formUnion(parsed)
        }
        try await ImageCommandSupport.run("failed to update image features", spec: spec, cluster: cluster) { _, io, _ in
            try await ImageCommandSupport.withImage(io, name: spec.image) { try await $0.updateFeatures(features, enable: enable) }
        }
    }
}

struct FeatureEnable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable features (exclusive-lock, object-map, fast-diff).", discussion: "Example:\n  rbdctl feature enable rbd/vm1 exclusive-lock object-map")
    @Argument(help: "pool/[namespace/]image, then the features to enable.") var spec: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws { try await FeatureCommand.update(spec, enable: true, cluster: cluster) }
}

struct FeatureDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Disable features (exclusive-lock, object-map, fast-diff, deep-flatten).", discussion: "Example:\n  rbdctl feature disable rbd/vm1 object-map")
    @Argument(help: "pool/[namespace/]image, then the features to disable.") var spec: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws { try await FeatureCommand.update(spec, enable: false, cluster: cluster) }
}
