import ArgumentParser
import Foundation
import NIOCore
import RADOSProto
import RBDCore

/// Which cluster and as whom: `-c/--conf` and `--id`, then CEPH_CONF / CEPH_ARGS as Ceph's tools read them.
struct ClusterOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("conf")], help: "Configuration file (default: CEPH_CONF or the search path).")
    var conf: String?

    @Option(name: .customLong("id"), help: "User id (client.<id>).")
    var id: String?

    @Argument(parsing: .allUnrecognized, help: "Ceph options: --OPTION VALUE or --OPTION=VALUE.")
    var cephOptions: [String] = []

    func configuration() throws(RADOSError) -> RADOSConfiguration {
        var arguments: [String] = []
        if let conf { arguments += ["-c", conf] }
        if let id { arguments += ["--id", id] }
        return try RADOSConfiguration.load(arguments: arguments + cephOptions + CephOptionArguments.commandLine)
    }

    /// The configuration for an image spec, as QEMU's driver builds it from an `rbd:`
    /// name: the spec's `conf=` and `id=` pick the file and the user (over `-c` and
    /// `--id`), and its other options override everything else.
    func configuration(for spec: ImageSpec) throws(RADOSError) -> RADOSConfiguration {
        var arguments: [String] = []
        if let file = spec.configFile ?? conf { arguments += ["-c", file] }
        if let user = spec.user ?? id { arguments += ["--id", user] }
        var configuration = try RADOSConfiguration.load(arguments: arguments + cephOptions + CephOptionArguments.commandLine)
        for option in spec.cephOptions {
            try configuration.setKnown(option.key, to: option.value, source: .override)
        }
        return configuration
    }

    /// Connects to a monitor and runs `body`; errors print one line and exit with their errno.
    func withMonitor(_ body: (MonClient, MMonMap) async throws -> Void) async throws {
        do {
            let configuration = try configuration()
            let monitor = try await MonClient.connect(
                toAnyOf: ClusterConnection.monitorEndpoints(configuration), options: MonClient.Options(configuration))
            try await monitor.subscribe(["monmap": .init(start: 0)])
            let monmap = try await monitor.nextMonMap()
            do {
                try await body(monitor, monmap)
            } catch {
                await monitor.close()
                throw error
            }
            await monitor.close()
        } catch let error as RADOSError {
            ErrorReport.print(error.message, errno: error.errno)
            throw ExitCode(error.errno)
        }
    }
}

/// `rbdctl status`: the cluster fsid, monitor quorum and OSDMap epoch from our own
/// monitor session (compare with `ceph -s`); `rbdctl status IMAGE` shows the image's
/// watchers like `rbd status`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show an image's watchers (like rbd status), or the cluster's fsid, quorum and OSDMap epoch.",
        discussion: """
        Examples:
          rbdctl status rbd/vm1
          rbdctl status --format json
        """
    )

    @Argument(help: "pool/[namespace/]image: show who watches it (has it open).") var image: String?
    @OptionGroup var output: FormatOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        if let image { return try await imageStatus(image) }
        let format: OutputFormat = output.format == .json ? .json : .text
        try await cluster.withMonitor { monitor, monmap in
            let quorumAck = try await monitor.command(["{\"prefix\": \"quorum_status\", \"format\": \"json\"}"], fsid: monmap.fsid)
            let quorum = (try? JSONSerialization.jsonObject(with: Data(quorumAck.output.readableBytesView)) as? [String: Any])?["quorum_names"] as? [String] ?? []
            let osdmap = try await monitor.version(of: "osdmap")
            switch format {
            case .text:
                print("fsid: \(monmap.fsid)")
                print("monmap epoch: \(monmap.epoch)")
                print("mon quorum: \(quorum.joined(separator: ","))")
                print("osdmap epoch: \(osdmap.newest)")
                print("connection: \(monitor.authOutcome.mode == .secure ? "secure" : "crc"), global_id \(monitor.authOutcome.globalID)")
            case .json:
                let object: [String: Any] = [
                    "fsid": monmap.fsid.description, "monmap_epoch": monmap.epoch, "quorum_names": quorum,
                    "osdmap_epoch": osdmap.newest, "mode": monitor.authOutcome.mode == .secure ? "secure" : "crc",
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}

extension StatusCommand {
    /// `rbdctl status IMAGE`: rbd's "Watchers:" list of the image's header object
    /// (`src/tools/rbd/action/Status.cc`; migration and persistent-cache blocks are not shown).
    func imageStatus(_ image: String) async throws {
        let spec = try ImageCommandSupport.parseSpec(image)
        try ImageCommandSupport.requireNoSnapshot(spec)
        try await ImageCommandSupport.run("show status failed", spec: spec, cluster: cluster) { _, io, _ in
            let id = try await ImageInfo.imageID(io, name: spec.image)
            let watchers = try await io.watchers(RBDObjectNames.header(imageID: id)).sorted { ($0.gid, $0.cookie) < ($1.gid, $1.cookie) }
            let formatted = Formatted.object("status", [("watchers", .array("watchers", watchers.map {
                .object("watcher", [("address", .string($0.address)), ("client", .int($0.gid)), ("cookie", .int($0.cookie))])
            }))])
            if let rendered = output.render(formatted) {
                print(rendered, terminator: "")
            } else if watchers.isEmpty {
                print("Watchers: none")
            } else {
                print("Watchers:")
                for watcher in watchers { print("\twatcher=\(watcher.address) client.\(watcher.gid) cookie=\(watcher.cookie)") }
            }
        }
    }
}

/// `rbdctl mon-command '<json>'`: sends a monitor command and prints its output, like
/// `ceph` does for the same JSON; the status string goes to stderr, a failure exits
/// with its errno.
struct MonCommandCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mon-command", abstract: "Run a monitor command given as JSON.", discussion: "Example:\n  rbdctl mon-command '{\"prefix\": \"osd pool ls\", \"format\": \"json\"}'")

    @Argument(help: "The command, e.g. '{\"prefix\": \"osd pool ls\", \"format\": \"json\"}'.")
    var command: String

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await cluster.withMonitor { monitor, monmap in
            let ack = try await monitor.command([command], fsid: monmap.fsid)
            if !ack.status.isEmpty { FileHandle.standardError.write(Data((ack.status + "\n").utf8)) }
            FileHandle.standardOutput.write(Data(ack.output.readableBytesView))
        }
    }
}
