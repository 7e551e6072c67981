import ArgumentParser
import Foundation
import RADOSProto
import RBDCore

/// `rbdctl parse-spec SPEC [--format text|json]`: shows how an image name is understood.
struct ParseSpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse-spec",
        abstract: "Parse an image name (rbd:pool/[ns/]image[@snap][:key=value...] or pool/[ns/]image[@snap]).", discussion: "Example:\n  rbdctl parse-spec \"rbd:data/vm1:id=qemu:conf=/etc/ceph/ceph.conf\""
    )

    @Argument(help: "The image name.")
    var spec: String

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let parsed: ImageSpec
        do {
            parsed = try ImageSpec.parse(spec)
        } catch {
            FileHandle.standardError.write(Data("rbdctl: \(error.description)\n".utf8))
            throw ExitCode(error.errno)
        }
        print(ParseSpecCommand.render(parsed, format: format), terminator: "")
    }

    static func render(_ spec: ImageSpec, format: OutputFormat) -> String {
        switch format {
        case .text:
            var out = "pool: \(spec.pool)\nnamespace: \(spec.namespace)\nimage: \(spec.image)\n"
            out += "snap: \(spec.snapshot ?? "")\n"
            for option in spec.options { out += "option: \(option.key)=\(option.value)\n" }
            out += "spec: \(spec.format())\n"
            return out
        case .json:
            let object: [String: Any] = [
                "pool": spec.pool,
                "namespace": spec.namespace,
                "image": spec.image,
                "snap": spec.snapshot.map { $0 as Any } ?? NSNull(),
                "options": spec.options.map { ["key": $0.key, "value": $0.value] },
                "spec": spec.format(),
            ]
            return JSONText.render(object)
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// Pretty JSON with sorted keys, unescaped slashes, and a trailing newline.
enum JSONText {
    static func render(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else {
            return "{}\n"
        }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
