import ArgumentParser
import Foundation
import RADOSProto
import RBDCore

/// `rbdctl du`, like `rbd du` for one image: provisioned and used bytes of each
/// snapshot (what changed since the one before, in whole objects) and of the head (what
/// changed since the last snapshot), then the total when there is more than one row
/// (at a snapshot: the snapshots up to it, each counted in the provisioned total);
/// as ceph/ceph `src/tools/rbd/action/DiskUsage.cc` computes and prints them. Images
/// without fast diff are measured object by object (rbd's warning says so).
struct DiskUsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disk-usage", abstract: "Show the provisioned and used size of an image and its snapshots.", discussion: "Example:\n  rbdctl du rbd/vm1", aliases: ["du"])

    @Argument(help: "pool/[namespace/]image[@snapshot].") var spec: String
    @OptionGroup var output: FormatOptions
    @OptionGroup var cluster: ClusterOptions

    struct Row {
        var name: String
        var id: String
        var snapshot: (name: String, id: UInt64)?
        var provisioned: UInt64
        var used: UInt64
    }

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try await ImageCommandSupport.run("du failed", spec: spec, cluster: cluster) { _, io, _ in
            try await ImageCommandSupport.withImage(io, name: spec.image, readOnly: true) { head in
            if !head.info.features.contains(.fastDiff) {
                FileHandle.standardError.write(Data("warning: fast-diff map is not enabled for \(spec.image). operation may be slow.\n".utf8))
            }
            var rows: [Row] = []
            var previous: String?
            for snapshot in head.snapshots.sorted(by: { $0.id < $1.id }) {
                let at = try await Image.open(io, name: spec.image, snapshot: snapshot.name, readOnly: true)
                let used = try await Self.used(at, since: previous)
                try await at.close()
                rows.append(Row(name: head.name, id: head.id, snapshot: (snapshot.name, snapshot.id), provisioned: snapshot.size, used: used))
                previous = snapshot.name
            }
            rows.append(Row(name: head.name, id: head.id, snapshot: nil, provisioned: head.size, used: try await Self.used(head, since: previous)))
            var totalProvisioned = head.size
            if let wanted = spec.snapshot {
                // At a snapshot: the snapshots up to it, each provisioned in the total.
                guard let last = rows.firstIndex(where: { $0.snapshot?.name == wanted }) else {
                    throw RADOSError(.notFound, "snapshot \(wanted) of image \(spec.image) does not exist", errno: 2)
                }
                rows = Array(rows[...last])
                totalProvisioned = rows.reduce(0) { $0 + $1.provisioned }
            }
            print(output.render(Self.formatted(rows)) ?? Self.text(rows, totalProvisioned: totalProvisioned), terminator: "")
            }
        }
    }

    /// Bytes of the whole objects that changed since `snapshot` (since creation: nil).
    static func used(_ image: Image, since snapshot: String?) async throws(RADOSError) -> UInt64 {
        try await image.diff(fromSnapshot: snapshot, wholeObject: true).filter(\.exists).reduce(0) { $0 + $1.length }
    }

    /// rbd's fields in its order (`images`, each with name, id, [snapshot, snapshot_id],
    /// provisioned_size, used_size).
    static func formatted(_ rows: [Row]) -> Formatted {
        .object("stats", [("images", .array("images", rows.map { row in
            var fields: [(String, Formatted)] = [("name", .string(row.name)), ("id", .string(row.id))]
            if let snapshot = row.snapshot { fields += [("snapshot", .string(snapshot.name)), ("snapshot_id", .int(snapshot.id))] }
            fields += [("provisioned_size", .int(row.provisioned)), ("used_size", .int(row.used))]
            return .object("image", fields)
        }))])
    }

    /// rbd's table: names left, sizes right-aligned under left-aligned headers.
    static func text(_ rows: [Row], totalProvisioned: UInt64) -> String {
        var cells = rows.map { row in
            [row.name + (row.snapshot.map { "@\($0.name)" } ?? ""), ByteCount.format(row.provisioned), ByteCount.format(row.used)]
        }
        if rows.count > 1 {
            cells.append(["<TOTAL>", ByteCount.format(totalProvisioned), ByteCount.format(rows.reduce(0) { $0 + $1.used })])
        }
        let headers = ["NAME", "PROVISIONED", "USED"]
        var widths = headers.map(\.count)
        for row in cells {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func pad(_ text: String, _ width: Int, right: Bool) -> String {
            let space = String(repeating: " ", count: width - text.count)
            return right ? space + text : text + space
        }
        var out = headers.enumerated().map { pad($1, widths[$0], right: false) }.joined(separator: "  ") + "\n"
        for row in cells {
            out += row.enumerated().map { pad($1, widths[$0], right: $0 > 0) }.joined(separator: "  ") + "\n"
        }
        return out
    }
}
