import ArgumentParser
import Foundation
import RBDCore

/// `rbdctl image-meta list|get|set|remove`, like `rbd image-meta`.
struct ImageMetaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image-meta", abstract: "Image metadata, like rbd image-meta.",
        subcommands: [ImageMetaList.self, ImageMetaGet.self, ImageMetaSet.self, ImageMetaRemove.self])
}

struct ImageMetaList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the image's metadata.", discussion: "Example:\n  rbdctl image-meta list rbd/vm1", aliases: ["ls"])

    @Argument(help: "pool/[namespace/]image.") var spec: String
    @OptionGroup var output: FormatOptions
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try await ImageCommandSupport.run("listing metadata failed", spec: spec, cluster: cluster) { _, io, _ in
            let pairs = try await ImageCommandSupport.withImage(io, name: spec.image, readOnly: true) { try await $0.metadata() }
            let keys = pairs.keys.sorted()
            if let text = output.render(.object("metadatas", keys.map { ($0, .string(pairs[$0] ?? "")) })) {
                // As rbd: nothing at all when there is no metadata.
                if !keys.isEmpty { print(text, terminator: "") }
            } else if keys.isEmpty {
                print("There are 0 metadata on this image.")
            } else {
                print(keys.count == 1 ? "There is 1 metadatum on this image:\n" : "There are \(keys.count) metadata on this image:\n")
                print(ImageCommandSupport.table(["Key", "Value"], keys.map { [$0, pairs[$0] ?? ""] }), terminator: "")
            }
        }
    }
}

struct ImageMetaGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Print the value of a metadata key.", discussion: "Example:\n  rbdctl image-meta get rbd/vm1 owner")

    @Argument(help: "pool/[namespace/]image.") var spec: String
    @Argument(help: "The key.") var key: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try await ImageCommandSupport.run("getting metadata failed", spec: spec, cluster: cluster) { _, io, _ in
            print(try await ImageCommandSupport.withImage(io, name: spec.image, readOnly: true) { try await $0.metadata(key) })
        }
    }
}

struct ImageMetaSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Set a metadata key.", discussion: "Example:\n  rbdctl image-meta set rbd/vm1 owner alice")

    @Argument(help: "pool/[namespace/]image.") var spec: String
    @Argument(help: "The key.") var key: String
    @Argument(help: "The value.") var value: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try await ImageCommandSupport.run("setting metadata failed", spec: spec, cluster: cluster) { _, io, _ in
            try await ImageCommandSupport.withImage(io, name: spec.image) { try await $0.setMetadata(key, to: value) }
        }
    }
}

struct ImageMetaRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a metadata key.", discussion: "Example:\n  rbdctl image-meta remove rbd/vm1 owner", aliases: ["rm"])

    @Argument(help: "pool/[namespace/]image.") var spec: String
    @Argument(help: "The key.") var key: String
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try await ImageCommandSupport.run("removing metadata failed", spec: spec, cluster: cluster) { _, io, _ in
            try await ImageCommandSupport.withImage(io, name: spec.image) { try await $0.removeMetadata(key) }
        }
    }
}
