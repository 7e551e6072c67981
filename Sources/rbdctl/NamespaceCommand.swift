import ArgumentParser
import Foundation
import RADOSProto
import RBDCore

/// `rbdctl namespace create|ls|rm`, like `rbd namespace`.
struct NamespaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "namespace", abstract: "RBD namespaces of a pool, like rbd namespace.",
        discussion: """
        Examples:
          rbdctl namespace create rbd/tenant1
          rbdctl namespace ls rbd
        """,
        subcommands: [NamespaceCreate.self, NamespaceList.self, NamespaceRemove.self])

    /// `pool/namespace`, or `-p` and `--namespace`.
    static func target(_ text: String?, pool: String?, namespace: String?) throws -> (pool: String, namespace: String) {
        let place = TrashCommand.place(text, pool: pool, namespace: namespace)
        guard !place.namespace.isEmpty else { throw ImageCommandSupport.usage("namespace name was not specified") }
        return place
    }
}

/// `pool/namespace`, or `-p` and `--namespace`.
struct NamespaceTarget: ParsableArguments {
    @Argument(help: "pool/namespace.") var spec: String?
    @Option(name: [.customShort("p"), .customLong("pool")], help: "Pool.") var pool: String?
    @Option(name: .customLong("namespace"), help: "Namespace.") var namespace: String?

    /// Runs `body` on the pool's default namespace with the namespace's name.
    func run(failure: String, cluster: ClusterOptions, _ body: (IOContext, String) async throws -> Void) async throws {
        let place = try NamespaceCommand.target(spec, pool: pool, namespace: namespace)
        try await TrashCommand.inPool((place.pool, ""), failure: failure, cluster: cluster) { _, io in
            try await body(io, place.namespace)
        }
    }
}

struct NamespaceCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a namespace.", discussion: "Example:\n  rbdctl namespace create rbd/tenant1")
    @OptionGroup var target: NamespaceTarget
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await target.run(failure: "failed to create namespace", cluster: cluster) { try await PoolNamespaces.create($0, name: $1) }
    }
}

struct NamespaceRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove an empty namespace.", discussion: "Example:\n  rbdctl namespace rm rbd/tenant1", aliases: ["rm"])
    @OptionGroup var target: NamespaceTarget
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await target.run(failure: "failed to remove namespace", cluster: cluster) { try await PoolNamespaces.remove($0, name: $1) }
    }
}

struct NamespaceList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a pool's namespaces.", discussion: "Example:\n  rbdctl namespace ls --format json rbd", aliases: ["ls"])
    @Argument(help: "pool (default: rbd).") var pool: String?
    @Option(name: [.customShort("p"), .customLong("pool")], help: "Pool.") var poolOption: String?
    @OptionGroup var output: FormatOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await TrashCommand.inPool((pool ?? poolOption ?? "rbd", ""), failure: "listing namespaces failed", cluster: cluster) { _, io in
            let names = try await PoolNamespaces.list(io)
            if let text = output.render(.array("namespaces", names.map { .object("namespace", [("name", .string($0))]) })) {
                print(text, terminator: "")
            } else if !names.isEmpty {
                print(ImageCommandSupport.table(["NAME"], names.map { [$0] }), terminator: "")
            }
        }
    }
}

/// `rbdctl pool init [--force] POOL`, like `rbd pool init`.
struct PoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pool", abstract: "Pool set-up for RBD, like rbd pool.", subcommands: [PoolInit.self])
}

struct PoolInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Tag a pool for RBD and check it can hold images.",
        discussion: "Example:\n  rbdctl pool init rbd")
    @Argument(help: "pool (default: rbd).") var pool: String?
    @Option(name: [.customShort("p"), .customLong("pool")], help: "Pool.") var poolOption: String?
    @Flag(help: "Tag the pool for RBD even when another application uses it.") var force = false
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let name = pool ?? poolOption ?? "rbd"
        try await withClient(cluster: cluster) { client in
            try await PoolInitialization.initialize(client, pool: name, force: force)
        }
    }
}
