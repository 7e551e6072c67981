import ArgumentParser
import Foundation
import NIOCore
import RADOSProto
import RBDCore

/// `rbdctl info SPEC`: an image's header as `rbd info` shows it, read through our own stack.
struct ImageInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show an image's size, layout, features and timestamps, like rbd info.")

    @Argument(help: "pool/[namespace/]image or rbd:pool/image[:option=value…].") var spec: String
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
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
            // rbd names the data pool; a pool deleted since prints its id.
            var dataPool: String?
            if let id = info.dataPoolID {
                dataPool = (try? await io.ioContext(poolID: id))?.poolName ?? "\(id)"
            }
            let protected = snapshot.map(\.isProtected)
            print(format == .json ? try Self.json(info, dataPool: dataPool, protected: protected) : Self.text(info, dataPool: dataPool, protected: protected), terminator: "")
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
    static func text(_ info: ImageInfo, dataPool: String? = nil, protected: Bool? = nil) -> String {
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
        if info.features.contains(.stripingV2) {
            out += "\tstripe unit: \(bytes(info.stripeUnit))\n"
            out += "\tstripe count: \(info.stripeCount)\n"
        }
        if let protected { out += "\tprotected: \(protected ? "True" : "False")\n" }
        return out
    }

    static func json(_ info: ImageInfo, dataPool: String? = nil, protected: Bool? = nil) throws -> String {
        var object: [String: Any] = [
            "name": info.name, "id": info.id, "size": info.size, "objects": info.objectCount,
            "order": info.order, "object_size": info.objectSize, "snapshot_count": info.snapshotCount,
            "block_name_prefix": info.blockNamePrefix, "format": 2, "features": info.features.names,
            "op_features": info.operationFeatureNames, "flags": info.flagNames,
            "create_timestamp": ctime(info.createTimestamp), "access_timestamp": ctime(info.accessTimestamp),
            "modify_timestamp": ctime(info.modifyTimestamp),
        ]
        if let dataPool { object["data_pool"] = dataPool }
        if info.features.contains(.stripingV2) {
            object["stripe_unit"] = info.stripeUnit
            object["stripe_count"] = info.stripeCount
        }
        if let protected { object["protected"] = protected ? "true" : "false" }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) + "\n"
    }
}

/// `rbdctl ls [POOL[/NAMESPACE]]`: the images in a pool's directory, like rbd ls.
struct ImageListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the images in a pool, like rbd ls.")

    @Argument(help: "pool[/namespace] (default: rbd).") var pool: String = "rbd"
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let parts = pool.split(separator: "/", maxSplits: 1).map(String.init)
        try await withClient(cluster: cluster) { client in
            let io = try await client.ioContext(pool: parts.first ?? "rbd", namespace: parts.count > 1 ? parts[1] : "")
            let names = try await ImageDirectory.list(io)
            if format == .json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: names), as: UTF8.self))
            } else {
                for name in names { print(name) }
            }
        }
    }
}

/// Connects with the cluster options, runs `body`, and turns failures into one line and an errno exit.
func withClient(cluster: ClusterOptions, spec: ImageSpec? = nil, _ body: (RADOSClient) async throws -> Void) async throws {
    do {
        let configuration = try spec.map { spec throws(RADOSError) in try cluster.configuration(for: spec) } ?? cluster.configuration()
        let client = try await RADOSClient.connect(configuration)
        do {
            try await body(client)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    } catch let error as RADOSError {
        FileHandle.standardError.write(Data("rbdctl: \(error.message)\n".utf8))
        throw ExitCode(error.errno)
    }
}

/// Parses an image spec, applies its options, and opens its pool's I/O context.
func withImageContext(spec text: String, cluster: ClusterOptions, _ body: (IOContext, ImageSpec) async throws -> Void) async throws {
    let spec: ImageSpec
    do {
        spec = try ImageSpec.parse(text)
    } catch {
        FileHandle.standardError.write(Data("rbdctl: \(error.message)\n".utf8))
        throw ExitCode(error.errno)
    }
    try await withClient(cluster: cluster, spec: spec) { client in
        let io = try await client.ioContext(pool: spec.pool, namespace: spec.namespace)
        try await body(io, spec)
    }
}
