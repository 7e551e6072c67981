import ArgumentParser
import Foundation
import RADOSProto
import RBDCore

/// `rbdctl diff`, like `rbd diff`: the extents that changed since a snapshot (or since
/// the image was created), as data or zero, printed as ceph/ceph
/// `src/tools/rbd/action/Diff.cc` prints them (a table, or JSON with `exists` as a
/// string).
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "Print the extents that differ since a snapshot (or since creation).", discussion: "Example:\n  rbdctl diff --from-snap monday --format json rbd/vm1")

    @Argument(help: "pool/[namespace/]image[@snapshot].") var spec: String
    @Option(name: .customLong("from-snap"), help: "The snapshot to compare with.") var fromSnapshot: String?
    @Flag(name: .customLong("whole-object"), help: "Compare whole objects (fast, with fast-diff).") var wholeObject = false
    @OptionGroup var output: FormatOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try await ImageCommandSupport.run("diff error", spec: spec, cluster: cluster) { _, io, _ in
            let extents = try await ImageCommandSupport.withImage(io, name: spec.image, snapshot: spec.snapshot, readOnly: true) { image in
                try await image.diff(fromSnapshot: fromSnapshot, wholeObject: wholeObject)
            }
            // rbd dumps `exists` as a string ("true"/"false").
            let formatted = Formatted.array("extents", extents.map {
                .object("extent", [("offset", .int($0.offset)), ("length", .int($0.length)), ("exists", .string($0.exists ? "true" : "false"))])
            })
            if let text = output.render(formatted) {
                print(text, terminator: "")
            } else {
                guard !extents.isEmpty else { return }
                let rows = extents.map { [String($0.offset), String($0.length), $0.exists ? "data" : "zero"] }
                print(ImageCommandSupport.table(["Offset", "Length", "Type"], rows), terminator: "")
            }
        }
    }
}
