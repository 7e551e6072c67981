import ArgumentParser
import Foundation
import NIOCore
import RADOSProto
import RBDCore

/// `rbdctl info SPEC`: an image's header as `rbd info` shows it, read through our own stack.
struct ImageInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show an image's size, layout, features and timestamps, like rbd info.", discussion: "Example:\n  rbdctl info rbd/vm1   (or: rbdctl info -f raw rbd:rbd/vm1)")

    @Argument(help: "pool/[namespace/]image or rbd:pool/image[:option=value…].") var spec: String
    @OptionGroup var output: FormatOptions
    @Option(name: .customShort("f"), help: "Disk format, as qemu-img info takes it (rbd images are raw).") var diskFormat: String?
    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var encryption: EncryptionOptions

    func run() async throws {
        try ImageCommandSupport.requireRaw(diskFormat)
        try await withImageContext(spec: spec, cluster: cluster) { io, spec in
            var info = try await ImageInfo.load(io, image: spec.image)
            // At a snapshot (`img@snap`), as rbd: the snapshot's size and whether it is
            // protected; a snapshot that does not exist fails the command (ENOENT).
            var snapshot: Image.Snapshot?
            if let name = spec.snapshot {
                let image = try await Image.open(io, name: spec.image, snapshot: name, readOnly: true)
                snapshot = image.snapshot
                try await image.close()
                if let snapshot { info.size = snapshot.size }
            }
            // With the image's encryption loaded (the passphrase is checked), the size
            // is what follows the LUKS header, as librbd reports it then.
            if encryption.format != nil {
                info.size = try await ImageCommandSupport.withImage(io, name: spec.image, snapshot: spec.snapshot, readOnly: true, encryption: encryption) { $0.size }
            }
            // rbd names the data pool; a pool deleted since prints its id.
            var dataPool: String?
            if let id = info.dataPoolID {
                dataPool = (try? await io.ioContext(poolID: id))?.poolName ?? "\(id)"
            }
            let protected = snapshot.map(\.isProtected)
            let parent = try await info.parentName(io)
            print(output.render(Self.formatted(info, dataPool: dataPool, protected: protected, parent: parent)) ?? Self.text(info, dataPool: dataPool, protected: protected, parent: parent), terminator: "")
        }
    }

    /// `ctime`'s form, as rbd prints timestamps ("Sun Nov 29 15:58:10 2026").
    static func ctime(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var buffer = [CChar](repeating: 0, count: 64)
        guard ctime_r(&seconds, &buffer) != nil else { return "" }
        let text = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sizes the way rbd prints them ("1 GiB", "4 MiB", "64 KiB").
    static func bytes(_ value: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return amount == amount.rounded() ? "\(Int(amount)) \(units[unit])" : String(format: "%.1f %@", amount, units[unit])
    }

    /// `protected` is set for a snapshot (rbd's last line, "protected: True|False").
    static func text(_ info: ImageInfo, dataPool: String? = nil, protected: Bool? = nil, parent: ImageParentName? = nil) -> String {
        var out = "rbd image '\(info.name)':\n"
        out += "\tsize \(bytes(info.size)) in \(info.objectCount) objects\n"
        out += "\torder \(info.order) (\(bytes(info.objectSize)) objects)\n"
        out += "\tsnapshot_count: \(info.snapshotCount)\n"
        out += "\tid: \(info.id)\n"
        if let dataPool { out += "\tdata_pool: \(dataPool)\n" }
        out += "\tblock_name_prefix: \(info.blockNamePrefix)\n"
        out += "\tformat: 2\n"
        out += "\tfeatures: \(info.features.names.joined(separator: ", "))\n"
        out += "\top_features: \(info.operationFeatureNames.joined(separator: ", "))\n"
        out += "\tflags: \(info.flagNames.joined(separator: ", "))\n"
        out += "\tcreate_timestamp: \(ctime(info.createTimestamp))\n"
        out += "\taccess_timestamp: \(ctime(info.accessTimestamp))\n"
        out += "\tmodify_timestamp: \(ctime(info.modifyTimestamp))\n"
        if let protected { out += "\tprotected: \(protected ? "True" : "False")\n" }
        if let parent {
            out += "\tparent: \(parent.spec)\(parent.isTrashed ? " (trash \(parent.imageID))" : "")\n"
            out += "\toverlap: \(bytes(parent.overlap))\n"
        }
        if info.features.contains(.stripingV2) {
            out += "\tstripe unit: \(bytes(info.stripeUnit))\n"
            out += "\tstripe count: \(info.stripeCount)\n"
        }
        return out
    }

    /// rbd's fields in its order (`src/tools/rbd/action/Info.cc`).
    static func formatted(_ info: ImageInfo, dataPool: String? = nil, protected: Bool? = nil, parent: ImageParentName? = nil) -> Formatted {
        var fields: [(String, Formatted)] = [
            ("name", .string(info.name)), ("id", .string(info.id)), ("size", .int(info.size)), ("objects", .int(info.objectCount)),
            ("order", .int(info.order)), ("object_size", .int(info.objectSize)), ("snapshot_count", .int(info.snapshotCount)),
        ]
        if let dataPool { fields.append(("data_pool", .string(dataPool))) }
        fields += [
            ("block_name_prefix", .string(info.blockNamePrefix)), ("format", .int(2)),
            ("features", .array("features", info.features.names.map { .named("feature", .string($0)) })),
            ("op_features", .array("op_features", info.operationFeatureNames.map { .named("op_feature", .string($0)) })),
            ("flags", .array("flags", info.flagNames.map { .named("flag", .string($0)) })),
            ("create_timestamp", .string(ctime(info.createTimestamp))), ("access_timestamp", .string(ctime(info.accessTimestamp))),
            ("modify_timestamp", .string(ctime(info.modifyTimestamp))),
        ]
        if let protected { fields.append(("protected", .string(protected ? "true" : "false"))) }
        if let parent {
            fields.append(("parent", .object("parent", [
                ("pool", .string(parent.pool)), ("pool_namespace", .string(parent.poolNamespace)), ("image", .string(parent.image)),
                ("id", .string(parent.imageID)), ("snapshot", .string(parent.snapshot)), ("trash", .bool(parent.isTrashed)),
                ("overlap", .int(parent.overlap)),
            ])))
        }
        if info.features.contains(.stripingV2) {
            fields += [("stripe_unit", .int(info.stripeUnit)), ("stripe_count", .int(info.stripeCount))]
        }
        return .object("image", fields)
    }
}

/// `rbdctl ls [-l] [POOL[/NAMESPACE]]`: the images in a pool's directory, like rbd ls;
/// `-l` adds rbd's long listing (`src/tools/rbd/action/List.cc`): one row per image and
/// per user snapshot with SIZE, PARENT, FMT, PROT and LOCK.
struct ImageListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the images in a pool, like rbd ls.",
        discussion: """
        Examples:
          rbdctl ls -l rbd
          rbdctl ls --format json --pretty-format rbd/ns1
        """,
        aliases: ["list"]
    )

    @Argument(help: "pool[/namespace] (default: rbd).") var pool: String?
    @Flag(name: [.customShort("l"), .customLong("long")], help: "Long listing: size, parent, format, protection and lock.") var long = false
    @Option(name: [.customShort("p"), .customLong("pool")], help: "Pool (instead of the argument).") var poolOption: String?
    @Option(name: .customLong("namespace"), help: "Namespace within the pool.") var namespace: String?
    @OptionGroup var output: FormatOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let parts = (pool ?? poolOption ?? "rbd").split(separator: "/", maxSplits: 1).map(String.init)
        let namespace = self.namespace ?? (parts.count > 1 ? parts[1] : "")
        try await withClient(cluster: cluster) { client in
            let io = try await client.ioContext(pool: parts.first ?? "rbd", namespace: namespace)
            let names = try await ImageDirectory.list(io)
            guard long else {
                if let text = output.render(.array("images", names.map { .named("name", .string($0)) })) {
                    print(text, terminator: "")
                } else {
                    for name in names { print(name) }
                }
                return
            }
            var rows: [ListRow] = []
            for name in names {
                // As rbd: an image that vanished or cannot be opened meanwhile is skipped.
                guard let row = try? await ListRow.load(io, name: name) else { continue }
                rows.append(row)
            }
            if let text = output.render(.array("images", rows.flatMap(\.formatted))) {
                print(text, terminator: "")
            } else if !rows.isEmpty {
                print(ImageCommandSupport.table(["NAME", "SIZE", "PARENT", "FMT", "PROT", "LOCK"], rows.flatMap(\.cells), rightAligned: [1, 3], leftAlignedHeaders: true), terminator: "")
            }
        }
    }

    /// One image of the long listing, with its user snapshots.
    struct ListRow {
        var info: ImageInfo
        var parent: ImageParentName?
        var snapshots: [Image.Snapshot]
        /// "exclusive", "shared" or nil.
        var lockType: String?

        static func load(_ io: IOContext, name: String) async throws -> ListRow {
            let info = try await ImageInfo.load(io, image: name)
            let snapshots = try await ImageCommandSupport.withImage(io, name: name, readOnly: true) { image in
                image.snapshots.filter { $0.namespaceType == 0 }
            }
            let lockers = try await io.lockers(RBDObjectNames.header(imageID: info.id), name: ImageNotify.lockName)
            let lockType = lockers.holders.isEmpty ? nil : lockers.isExclusive ? "exclusive" : "shared"
            return ListRow(info: info, parent: try await info.parentName(io), snapshots: snapshots, lockType: lockType)
        }

        var cells: [[String]] {
            let parentText = parent.map(\.spec) ?? ""
            var rows = [[info.name, ImageInfoCommand.bytes(info.size), parentText, "2", "", lockType == nil ? "" : lockType == "exclusive" ? "excl" : "shr"]]
            for snapshot in snapshots {
                rows.append(["\(info.name)@\(snapshot.name)", ImageInfoCommand.bytes(snapshot.size), parentText, "2", snapshot.isProtected ? "yes" : "", ""])
            }
            return rows
        }

        var formatted: [Formatted] {
            let parentObject: [(String, Formatted)] = parent.map {
                [("parent", .object("parent", [
                    ("pool", .string($0.pool)), ("pool_namespace", .string($0.poolNamespace)),
                    ("image", .string($0.image)), ("snapshot", .string($0.snapshot)),
                ]))]
            } ?? []
            var items: [Formatted] = [.object("image",
                [("image", .string(info.name)), ("id", .string(info.id)), ("size", .int(info.size))] + parentObject
                    + [("format", .int(2))] + (lockType.map { [("lock_type", .string($0))] } ?? []))]
            for snapshot in snapshots {
                items.append(.object("snapshot",
                    [("image", .string(info.name)), ("id", .string(info.id)), ("snapshot", .string(snapshot.name)),
                     ("snapshot_id", .int(snapshot.id)), ("size", .int(snapshot.size))] + parentObject
                        + [("format", .int(2)), ("protected", .string(snapshot.isProtected ? "true" : "false"))]))
            }
            return items
        }
    }
}

/// Connects with the cluster options, runs `body`, and turns failures into one line and an errno exit.
func withClient(cluster: ClusterOptions, spec: ImageSpec? = nil, _ body: (RADOSClient) async throws -> Void) async throws {
    do {
        let configuration = try spec.map { spec throws(RADOSError) in try cluster.configuration(for: spec) } ?? cluster.configuration()
        let client = try await RADOSClient.connectReportingHunts(configuration)
        do {
            try await body(client)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    } catch let error as RADOSError {
        ErrorReport.print(error.message, errno: error.errno)
        throw ExitCode(error.errno)
    }
}

/// Parses an image spec, applies its options, and opens its pool's I/O context.
func withImageContext(spec text: String, cluster: ClusterOptions, _ body: (IOContext, ImageSpec) async throws -> Void) async throws {
    let spec: ImageSpec
    do {
        spec = try ImageSpec.parse(text)
    } catch {
        ErrorReport.print(error.message, errno: error.errno)
        throw ExitCode(error.errno)
    }
    try await withClient(cluster: cluster, spec: spec) { client in
        let io = try await client.ioContext(pool: spec.pool, namespace: spec.namespace)
        try await body(io, spec)
    }
}
