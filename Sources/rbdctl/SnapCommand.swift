import ArgumentParser
import Foundation
import RBDCore

/// `rbdctl snap create|ls|rm|rename|rollback|protect|unprotect|limit`, like `rbd snap`.
struct SnapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snap", abstract: "Image snapshots, like rbd snap.",
        subcommands: [SnapCreate.self, SnapList.self, SnapRemove.self, SnapPurge.self, SnapRename.self, SnapRollback.self, SnapProtect.self, SnapUnprotect.self, SnapLimit.self])
}

/// Runs `body` on the image of `spec` (a `pool/[ns/]image@snap` spec) with its snapshot name.
private func withSnapshot(_ text: String, cluster: ClusterOptions, failure: String, _ body: @escaping (Image, String) async throws -> Void) async throws {
    let spec = try ImageCommandSupport.parseSpec(text)
    let snapshot = try ImageCommandSupport.snapshotName(spec)
    try await ImageCommandSupport.run(failure, spec: spec, cluster: cluster) { _, io, _ in
        try await ImageCommandSupport.withImage(io, name: spec.image) { try await body($0, snapshot) }
    }
}

struct SnapCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Take a snapshot.", discussion: "Example:\n  rbdctl snap create rbd/vm1@monday", aliases: ["add"])
    @Argument(help: "pool/[namespace/]image@snapshot.") var spec: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await withSnapshot(spec, cluster: cluster, failure: "failed to create snapshot") { image, name in
            try await image.createSnapshot(named: name)
        }
    }
}

struct SnapRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a snapshot.", discussion: "Example:\n  rbdctl snap rm rbd/vm1@monday", aliases: ["remove"])
    @Argument(help: "pool/[namespace/]image@snapshot.") var spec: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await withSnapshot(spec, cluster: cluster, failure: "failed to remove snapshot") { image, name in
            try await image.removeSnapshot(named: name)
        }
    }
}

/// `rbdctl snap purge SPEC`: removes the unprotected snapshots; protected ones are
/// reported and kept, and (as with rbd) that is not a failure.
struct SnapPurge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge", abstract: "Remove all unprotected snapshots.", discussion: "Example:\n  rbdctl snap purge rbd/vm1")
    @Argument(help: "pool/[namespace/]image.") var spec: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try ImageCommandSupport.requireNoSnapshot(spec)
        try await ImageCommandSupport.run("removing snaps failed", spec: spec, cluster: cluster) { _, io, _ in
            let kept = try await ImageCommandSupport.withImage(io, name: spec.image) { try await $0.purgeSnapshots() }
            if !kept.isEmpty {
                let names = kept.map { "'\($0)'" }.joined(separator: ", ")
                let verb = kept.count == 1 ? "which is" : "which are"
                FileHandle.standardError.write(Data("rbdctl: error removing snapshot(s) \(names), \(verb) protected - these must be unprotected with `rbd snap unprotect`.\n".utf8))
            }
        }
    }
}

struct SnapRollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollback", abstract: "Roll the image back to a snapshot.", discussion: "Example:\n  rbdctl snap rollback rbd/vm1@monday", aliases: ["revert"])
    @Argument(help: "pool/[namespace/]image@snapshot.") var spec: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await withSnapshot(spec, cluster: cluster, failure: "rollback failed") { image, name in
            try await image.rollback(toSnapshot: name)
        }
    }
}

struct SnapProtect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "protect", abstract: "Protect a snapshot from removal.", discussion: "Example:\n  rbdctl snap protect rbd/golden@base")
    @Argument(help: "pool/[namespace/]image@snapshot.") var spec: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await withSnapshot(spec, cluster: cluster, failure: "protecting snap failed") { image, name in
            try await image.protectSnapshot(named: name)
        }
    }
}

struct SnapUnprotect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unprotect", abstract: "Allow a snapshot to be removed.", discussion: "Example:\n  rbdctl snap unprotect rbd/golden@base")
    @Argument(help: "pool/[namespace/]image@snapshot.") var spec: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await withSnapshot(spec, cluster: cluster, failure: "unprotecting snap failed") { image, name in
            try await image.unprotectSnapshot(named: name)
        }
    }
}

struct SnapRename: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a snapshot.", discussion: "Example:\n  rbdctl snap rename rbd/vm1@monday rbd/vm1@tuesday")
    @Argument(help: "Source: pool/[namespace/]image@snapshot.") var source: String
    @Argument(help: "Destination: [pool/[namespace/]image@]snapshot.") var destination: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let from = try ImageCommandSupport.parseSpec(source)
        let to = destination.contains("@") ? try ImageCommandSupport.parseSpec(destination) : ImageSpec(pool: from.pool, namespace: from.namespace, image: from.image, snapshot: destination)
        let newName = try ImageCommandSupport.snapshotName(to)
        guard to.pool == from.pool, to.namespace == from.namespace, to.image == from.image else {
            throw ImageCommandSupport.usage("source and destination image names must be the same")
        }
        try await withSnapshot(source, cluster: cluster, failure: "renaming snap failed") { image, name in
            try await image.renameSnapshot(named: name, to: newName)
        }
    }
}

/// `rbdctl snap ls [--all] SPEC`: SNAPID NAME SIZE PROTECTED TIMESTAMP, as `rbd snap ls`
/// prints them; `--all` lists every namespace (the trash's too) with a NAMESPACE column.
struct SnapList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List an image's snapshots.", discussion: "Example:\n  rbdctl snap ls --format json rbd/vm1", aliases: ["list"])
    @Argument(help: "pool/[namespace/]image.") var spec: String
    @Flag(name: [.customShort("a"), .customLong("all")], help: "List snapshots of every namespace.") var all = false
    @OptionGroup var output: FormatOptions
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try ImageCommandSupport.requireNoSnapshot(spec)
        try await ImageCommandSupport.run("failed to list snapshots", spec: spec, cluster: cluster) { _, io, _ in
            let (snapshots, namespaces) = try await ImageCommandSupport.withImage(io, name: spec.image, readOnly: true) { image in
                all ? (image.snapshots, image.snapshotNamespaces()) : (image.snapshots.filter { $0.namespaceType == 0 }, [:])
            }
            if let text = output.render(Self.formatted(snapshots, namespaces: all ? namespaces : nil)) {
                print(text, terminator: "")
            } else {
                print(all ? Self.text(snapshots, namespaces: namespaces) : Self.text(snapshots), terminator: "")
            }
        }
    }

    /// The NAMESPACE column: "user", or "trash (old name)".
    static func namespaceText(_ namespace: Image.SnapshotNamespaceDescription?) -> String {
        guard let namespace else { return "unknown" }
        guard let original = namespace.originalName else { return namespace.type }
        return "\(namespace.type) (\(original))"
    }

    static func text(_ snapshots: [Image.Snapshot], namespaces: [UInt64: Image.SnapshotNamespaceDescription]) -> String {
        guard !snapshots.isEmpty else { return "" }
        let rows = snapshots.map { [String($0.id), $0.name, ImageInfoCommand.bytes($0.size), $0.isProtected ? "yes" : "", ImageInfoCommand.ctime($0.timestamp), namespaceText(namespaces[$0.id])] }
        return ImageCommandSupport.table(["SNAPID", "NAME", "SIZE", "PROTECTED", "TIMESTAMP", "NAMESPACE"], rows, rightAligned: [0])
    }

    static func text(_ snapshots: [Image.Snapshot]) -> String {
        guard !snapshots.isEmpty else { return "" }
        let rows = snapshots.map { [String($0.id), $0.name, ImageInfoCommand.bytes($0.size), $0.isProtected ? "yes" : "", ImageInfoCommand.ctime($0.timestamp)] }
        return ImageCommandSupport.table(["SNAPID", "NAME", "SIZE", "PROTECTED", "TIMESTAMP"], rows, rightAligned: [0])
    }

    /// rbd's field order: id, name, size, protected ("true"/"false"), timestamp, and
    /// with `--all` the namespace: its type and, for the trash, `original_name`.
    static func formatted(_ snapshots: [Image.Snapshot], namespaces: [UInt64: Image.SnapshotNamespaceDescription]?) -> Formatted {
        .array("snapshots", snapshots.map { snap in
            var fields: [(String, Formatted)] = [
                ("id", .int(snap.id)), ("name", .string(snap.name)), ("size", .int(snap.size)),
                ("protected", .string(snap.isProtected ? "true" : "false")), ("timestamp", .string(ImageInfoCommand.ctime(snap.timestamp))),
            ]
            if let namespaces {
                let namespace = namespaces[snap.id]
                var detail: [(String, Formatted)] = [("type", .string(namespace?.type ?? "unknown"))]
                if let original = namespace?.originalName { detail.append(("original_name", .string(original))) }
                fields.append(("namespace", .object("namespace", detail)))
            }
            return .object("snapshot", fields)
        })
    }
}

/// `rbdctl snap limit set --limit N SPEC` and `snap limit clear SPEC`, like rbd's: the
/// header keeps the limit and the OSD refuses snapshots beyond it (EDQUOT).
struct SnapLimit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limit", abstract: "Limit the number of snapshots an image may have.",
        subcommands: [SnapLimitSet.self, SnapLimitClear.self])
}

struct SnapLimitSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set the snapshot limit.",
        discussion: "Example:\n  rbdctl snap limit set --limit 10 rbd/vm1")
    @Argument(help: "pool/[namespace/]image.") var spec: String
    @Option(help: "The most snapshots the image may have.") var limit: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        guard let text = limit else { throw ImageCommandSupport.usage("must specify --limit <num>") }
        guard let value = UInt64(text), value < .max else { throw ImageCommandSupport.invalid(text, for: "--limit") }
        try await withImageOnly(spec, cluster: cluster, failure: "setting snapshot limit failed") { try await $0.setSnapshotLimit(value) }
    }
}

struct SnapLimitClear: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clear", abstract: "Remove the snapshot limit.", discussion: "Example:\n  rbdctl snap limit clear rbd/vm1")
    @Argument(help: "pool/[namespace/]image.") var spec: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await withImageOnly(spec, cluster: cluster, failure: "clearing snapshot limit failed") { try await $0.setSnapshotLimit(nil) }
    }
}

/// Runs `body` on the image of `spec` (no snapshot allowed).
private func withImageOnly(_ text: String, cluster: ClusterOptions, failure: String, _ body: @escaping (Image) async throws -> Void) async throws {
    let spec = try ImageCommandSupport.parseSpec(text)
    try ImageCommandSupport.requireNoSnapshot(spec)
    try await ImageCommandSupport.run(failure, spec: spec, cluster: cluster) { _, io, _ in
        try await ImageCommandSupport.withImage(io, name: spec.image) { try await body($0) }
    }
}
