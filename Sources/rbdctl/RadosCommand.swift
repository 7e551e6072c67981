import ArgumentParser
import Foundation
import NIOCore
import RADOSProto

/// `rbdctl rados …`: object commands shaped like Ceph's `rados` tool, run through
/// SwiftRBD's own messenger and Objecter.
struct RadosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rados",
        abstract: "Object commands like Ceph's rados tool (put, get, ls, stat, rm, xattrs, omap, bench).",
        subcommands: [
            RadosPut.self, RadosGet.self, RadosList.self, RadosStat.self, RadosRemove.self, RadosBench.self,
            RadosListXattr.self, RadosGetXattr.self, RadosSetXattr.self, RadosRemoveXattr.self,
            RadosListOmapKeys.self, RadosListOmapValues.self, RadosGetOmapValue.self, RadosSetOmapValue.self,
            RadosRemoveOmapKey.self, RadosClearOmap.self, RadosGetOmapHeader.self, RadosSetOmapHeader.self, RadosListWatchers.self,
        ]
    )

    /// As with `rados`, options may come before the subcommand (`rados -p rbd put …`).
    @OptionGroup var options: RadosOptions
}

/// Options every `rados` subcommand takes.
struct RadosOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("conf")], help: "Configuration file (default: CEPH_CONF or the search path).")
    var conf: String?

    @Option(name: .customLong("id"), help: "User id (client.<id>).")
    var id: String?

    @Option(name: [.customShort("p"), .customLong("pool")], help: "Pool name.")
    var poolName: String?

    @Option(name: [.customShort("N"), .customLong("namespace")], help: "Namespace in the pool.")
    var namespaceName: String?

    var pool: String { poolName ?? "" }
    var namespace: String { namespaceName ?? "" }

    /// These options, with any left unset taken from `outer` (the ones before the subcommand).
    func merged(with outer: RadosOptions) -> RadosOptions {
        var result = self
        result.conf = conf ?? outer.conf
        result.id = id ?? outer.id
        result.poolName = poolName ?? outer.poolName
        result.namespaceName = namespaceName ?? outer.namespaceName
        return result
    }

    /// Connects, opens the pool's I/O context, runs `body`, and prints failures the way
    /// `rados` does: `error <what> <pool>/<object>: (<errno>) <reason>`, where an OSD's
    /// answer is reported as its errno's text.
    func run(_ what: String, object: String, _ body: (IOContext) async throws -> Void) async throws {
        guard poolName != nil else {
            FileHandle.standardError.write(Data("pool name was not specified\n".utf8))
            throw ExitCode(1)
        }
        var arguments: [String] = []
        if let conf { arguments += ["-c", conf] }
        if let id { arguments += ["--id", id] }
        do {
            let client = try await RADOSClient.connectReportingHunts(try RADOSConfiguration.load(arguments: arguments))
            defer { Task { await client.shutdown() } }
            guard await client.poolID(named: pool) != nil else {
                FileHandle.standardError.write(Data("error opening pool \(pool): (2) No such file or directory\n".utf8))
                throw ExitCode(1)
            }
            let io = try await client.ioContext(pool: pool, namespace: namespace)
            do {
                try await body(io)
            } catch let error as RADOSError where [.notFound, .alreadyExists, .permissionDenied, .clusterError].contains(error.code) {
                throw RADOSError(error.code, String(cString: strerror(error.errno)), errno: error.errno)
            }
        } catch let error as RADOSError {
            FileHandle.standardError.write(Data("error \(what) \(pool)/\(object): (\(error.errno)) \(error.message)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct RadosPut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put", abstract: "Write a file (or - for stdin) as an object.", discussion: "Example:\n  rbdctl rados put -p rbd greeting hello.txt")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var file: String

    func run() async throws {
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        try await options.run("putting", object: object) { io in
            let chunk = 4 << 20
            var offset = 0
            repeat {
                let end = min(data.count, offset + chunk)
                let piece = ByteBuffer(bytes: data[offset..<end])
                if offset == 0 {
                    try await io.writeFull(object, piece)
                } else {
                    try await io.write(object, piece, offset: UInt64(offset))
                }
                offset = end
            } while offset < data.count
        }
    }
}

struct RadosGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Read an object into a file (or - for stdout).", discussion: "Example:\n  rbdctl rados get -p rbd greeting -")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var file: String

    func run() async throws {
        var contents = Data()
        try await options.run("getting", object: object) { io in
            let chunk: UInt64 = 4 << 20
            var offset: UInt64 = 0
            while true {
                let piece = try await io.read(object, offset: offset, length: chunk)
                contents.append(contentsOf: piece.readableBytesView)
                if UInt64(piece.readableBytes) < chunk { break }
                offset += chunk
            }
        }
        if file == "-" {
            FileHandle.standardOutput.write(contents)
        } else {
            try contents.write(to: URL(fileURLWithPath: file))
        }
    }
}

struct RadosStat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stat", abstract: "Show an object's size and modification time.", discussion: "Example:\n  rbdctl rados stat -p rbd greeting")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String

    func run() async throws {
        try await options.run("stat-ing", object: object) { io in
            let info = try await io.stat(object)
            // `rados stat` prints whole seconds.
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSZ"
            let date = formatter.string(from: Date(timeIntervalSince1970: info.modified.timeIntervalSince1970.rounded(.down)))
            let name = options.namespace.isEmpty ? object : "\(options.namespace)/\(object)"
            print("\(options.pool)/\(name) mtime \(date), size \(info.size)")
        }
    }
}

struct RadosRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an object.", discussion: "Example:\n  rbdctl rados rm -p rbd greeting")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String

    func run() async throws {
        try await options.run("removing", object: object) { io in
            try await io.remove(object)
        }
    }
}
