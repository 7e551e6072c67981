import ArgumentParser
import Foundation
import RADOSProto

/// `rbdctl osd …`: questions about OSDs answered from the live OSDMap our client holds.
struct OSDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "osd",
        abstract: "Questions answered from the live OSDMap (like ceph osd …).",
        subcommands: [OSDMapObjectCommand.self]
    )
}

/// `rbdctl osd map POOL OBJECT [NAMESPACE]`: where an object lives, computed by our own
/// CRUSH from the map the monitor sent us, printed as `ceph osd map` prints it.
struct OSDMapObjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "map", abstract: "Show an object's PG and OSDs, like ceph osd map.", discussion: "Example:\n  rbdctl osd map rbd rbd_header.10276b8b4567")

    @Argument(help: "Pool name.") var pool: String
    @Argument(help: "Object name.") var object: String
    @Argument(help: "Namespace (optional).") var namespacePositional: String?
    @Option(name: .customLong("namespace"), help: "Namespace (same as the third argument).") var namespaceOption: String?
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let namespace = namespaceOption ?? namespacePositional ?? ""
        let configuration: RADOSConfiguration
        do { configuration = try cluster.configuration() } catch {
            ErrorReport.print(error.message, errno: error.errno)
            throw ExitCode(error.errno)
        }
        do {
            let (monitor, objecter) = try await ClusterConnection.connect(configuration)
            defer { Task { await objecter.shutdown(); await monitor.close() } }
            let poolID = try await objecter.poolID(named: pool)
            guard let placement = await objecter.objectMapping(pool: poolID, namespace: namespace, object: object) else {
                throw RADOSError(.notFound, "pool '\(pool)' does not exist", errno: 2)
            }
            print(Self.render(pool: pool, poolID: poolID, object: object, namespace: namespace, placement: placement, format: format))
        } catch let error as RADOSError {
            ErrorReport.print(error.message, errno: error.errno)
            throw ExitCode(error.errno)
        }
    }

    /// `ceph osd map`'s text line or compact JSON, field for field
    /// (ceph/ceph `src/mon/OSDMonitor.cc`, "osd map").
    static func render(
        pool: String, poolID: Int64, object: String, namespace: String,
        placement: (epoch: UInt32, rawPG: PlacementGroupID, pg: PlacementGroupID, mapping: OSDMap.Mapping), format: OutputFormat
    ) -> String {
        let name = namespace.isEmpty ? object : "\(namespace)/\(object)"
        let m = placement.mapping
        let list = { (osds: [Int32]) in "[" + osds.map(String.init).joined(separator: ",") + "]" }
        switch format {
        case .text:
            return "osdmap e\(placement.epoch) pool '\(pool)' (\(poolID)) object '\(name)' -> pg \(placement.rawPG) (\(placement.pg)) -> up (\(list(m.up)), p\(m.upPrimary)) acting (\(list(m.acting)), p\(m.actingPrimary))"
        case .json:
            func quoted(_ text: String) -> String {
                let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
                return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
            }
            return "{\"epoch\":\(placement.epoch),\"pool\":\(quoted(pool)),\"pool_id\":\(poolID),\"objname\":\(quoted(name)),\"raw_pgid\":\"\(placement.rawPG)\",\"pgid\":\"\(placement.pg)\",\"up\":\(list(m.up)),\"up_primary\":\(m.upPrimary),\"acting\":\(list(m.acting)),\"acting_primary\":\(m.actingPrimary)}"
        }
    }
}
