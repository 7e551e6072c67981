import ArgumentParser
import Foundation
import RADOSProto
import RBDCore

/// `rbdctl trash mv|ls|restore|rm|purge`, like `rbd trash` (ceph/ceph
/// `src/tools/rbd/action/Trash.cc`): a trashed image keeps its id and data and loses
/// its name until it is restored or removed.
struct TrashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trash", abstract: "The image trash, like rbd trash.",
        discussion: """
        Examples:
          rbdctl trash mv rbd/vm1
          rbdctl trash ls -l rbd
          rbdctl trash restore rbd/10276b8b4567
          rbdctl trash purge rbd
        """,
        subcommands: [TrashMove.self, TrashList.self, TrashRestore.self, TrashRemove.self, TrashPurge.self])

    /// `pool[/namespace]`, or `-p`/`--namespace`.
    static func place(_ text: String?, pool: String?, namespace: String?) -> (pool: String, namespace: String) {
        let parts = (text ?? pool ?? "rbd").split(separator: "/", maxSplits: 1).map(String.init)
        return (parts.first ?? "rbd", namespace ?? (parts.count > 1 ? parts[1] : ""))
    }

    /// Runs `body` with the I/O context of a pool (and namespace); failures print one line.
    static func inPool(_ place: (pool: String, namespace: String), failure: String, cluster: ClusterOptions, _ body: (RADOSClient, IOContext) async throws -> Void) async throws {
        do {
            let client = try await RADOSClient.connectReportingHunts(try cluster.configuration())
            do {
                let io = try await client.ioContext(pool: place.pool, namespace: place.namespace)
                try await body(client, io)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        } catch let error as RADOSError {
            ImageCommandSupport.report(error, failure: failure)
            throw ExitCode(error.errno)
        }
    }

    /// A time as `--expires-at` / `--expired-before` take it: "now", `YYYY-MM-DD`, or
    /// `YYYY-MM-DD HH:MM:SS` (also with a `T`), local time, as Ceph's `utime_t::parse_date`.
    static func parseTime(_ text: String, option: String) throws -> Date {
        if text == "now" { return Date() }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        for format in ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        throw ImageCommandSupport.invalid(text, for: option)
    }
}

struct TrashMove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "move", abstract: "Move an image to the trash.", discussion: "Example:\n  rbdctl trash mv --expires-at 2027-01-31 rbd/vm1", aliases: ["mv"])
    @Argument(help: "pool/[namespace/]image.") var spec: String
    @Option(name: .customLong("expires-at"), help: "Keep it at least until this time (YYYY-MM-DD [HH:MM:SS]; default now).") var expiresAt: String = "now"
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try ImageCommandSupport.requireNoSnapshot(spec)
        let until = try TrashCommand.parseTime(expiresAt, option: "--expires-at")
        let delay = until.timeIntervalSinceNow.rounded(.down)
        guard delay >= -1 else { throw ImageCommandSupport.usage("cannot use a date in the past as an expiration date") }
        try await ImageCommandSupport.run("deferred delete error", spec: spec, cluster: cluster) { _, io, _ in
            try await ImageTrash.move(io, name: spec.image, delay: max(0, delay))
        }
    }
}

struct TrashList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the images in the trash.", discussion: "Example:\n  rbdctl trash ls -l rbd", aliases: ["ls"])
    @Argument(help: "pool[/namespace] (default: rbd).") var place: String?
    @Option(name: [.customShort("p"), .customLong("pool")], help: "Pool.") var pool: String?
    @Option(name: .customLong("namespace"), help: "Namespace.") var namespace: String?
    @Flag(name: [.customShort("a"), .customLong("all")], help: "Also images trashed by mirroring or migration.") var all = false
    @Flag(name: [.customShort("l"), .customLong("long")], help: "Long listing.") var long = false
    @OptionGroup var output: FormatOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await TrashCommand.inPool(TrashCommand.place(place, pool: pool, namespace: namespace), failure: "trash list failed", cluster: cluster) { _, io in
            let entries = try await ImageTrash.list(io, all: all)
            guard long else {
                let items = entries.map { Formatted.object("image", [("id", .string($0.id)), ("name", .string($0.name))]) }
                if let text = output.render(.array("trash", items)) {
                    print(text, terminator: "")
                } else {
                    for entry in entries { print("\(entry.id) \(entry.name)") }
                }
                return
            }
            let now = Date()
            var rows: [[String]] = []
            var items: [Formatted] = []
            for entry in entries {
                // As rbd: an image that cannot be read is left out of the long listing.
                let parent: ImageParentName?
                do {
                    parent = try await ImageInfo.load(io, image: entry.name, id: entry.id).parentName(io)
                } catch {
                    continue
                }
                let deleted = ImageInfoCommand.ctime(entry.deletedAt)
                let status = now < entry.defermentEnd
                    ? "protected until \(ImageInfoCommand.ctime(entry.defermentEnd))"
                    : "expired at \(ImageInfoCommand.ctime(entry.defermentEnd))"
                rows.append([entry.id, entry.name, entry.source, deleted, status, parent?.spec ?? ""])
                var fields: [(String, Formatted)] = [
                    ("id", .string(entry.id)), ("name", .string(entry.name)), ("source", .string(entry.source)),
                    ("deleted_at", .string(deleted)), ("status", .string(status)),
                ]
                if let parent {
                    fields.append(("parent", .object("parent", [
                        ("pool", .string(parent.pool)), ("pool_namespace", .string(parent.poolNamespace)),
                        ("image", .string(parent.image)), ("snapshot", .string(parent.snapshot)),
                    ])))
                }
                items.append(.object("image", fields))
            }
            if let text = output.render(.array("trash", items)) {
                print(text, terminator: "")
            } else if !rows.isEmpty {
                print(ImageCommandSupport.table(["ID", "NAME", "SOURCE", "DELETED_AT", "STATUS", "PARENT"], rows), terminator: "")
            }
        }
    }
}

/// A trashed image: `pool/[namespace/]id`, or `--image-id` (pool rbd).
struct TrashedImage: ParsableArguments {
    @Argument(help: "pool/[namespace/]image-id.") var spec: String?
    @Option(name: .customLong("image-id"), help: "The image's id (instead of the argument's).") var imageID: String?

    /// Runs `body` in the image's pool and namespace with its id.
    func run(failure: String, cluster: ClusterOptions, _ body: (IOContext, String) async throws -> Void) async throws {
        var place = (pool: "rbd", namespace: "")
        var id = imageID
        if let spec {
            let parsed = try ImageCommandSupport.parseSpec(spec)
            try ImageCommandSupport.requireNoSnapshot(parsed)
            place = (parsed.pool, parsed.namespace)
            id = id ?? parsed.image
        }
        guard let id else { throw ImageCommandSupport.usage("image id was not specified") }
        try await TrashCommand.inPool(place, failure: failure, cluster: cluster) { _, io in try await body(io, id) }
    }
}

struct TrashRestore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Give a trashed image its name back.", discussion: "Example:\n  rbdctl trash restore rbd/10276b8b4567")
    @OptionGroup var image: TrashedImage
    @Option(name: .customLong("image"), help: "Restore under this name.") var newName: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await image.run(failure: "restore error", cluster: cluster) { try await ImageTrash.restore($0, id: $1, as: newName) }
    }
}

struct TrashRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a trashed image and its data.", discussion: "Example:\n  rbdctl trash rm rbd/10276b8b4567", aliases: ["rm"])
    @OptionGroup var image: TrashedImage
    @Flag(help: "Remove it even before its expiration time.") var force = false
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await image.run(failure: "remove error", cluster: cluster) { try await ImageTrash.remove($0, id: $1, force: force) }
    }
}

struct TrashPurge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge", abstract: "Remove every expired image from the trash.", discussion: "Example:\n  rbdctl trash purge rbd")
    @Argument(help: "pool[/namespace] (default: rbd).") var place: String?
    @Option(name: [.customShort("p"), .customLong("pool")], help: "Pool.") var pool: String?
    @Option(name: .customLong("namespace"), help: "Namespace.") var namespace: String?
    @Option(name: .customLong("expired-before"), help: "Only images that expired before this time (default now).") var expiredBefore: String = "now"
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let before = try TrashCommand.parseTime(expiredBefore, option: "--expired-before")
        try await TrashCommand.inPool(TrashCommand.place(place, pool: pool, namespace: namespace), failure: "failed to purge trash", cluster: cluster) { _, io in
            try await ImageTrash.purge(io, expiredBefore: before)
        }
    }
}
