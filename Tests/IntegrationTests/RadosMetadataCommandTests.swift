import Foundation
import Testing

/// `rbdctl rados` xattr and omap commands against `rados`'s own: for objects one tool
/// sets up and the other reads, the same standard output, standard error and exit
/// status (hexdumps included), in the default namespace and in another one.
@Suite(.requiresCluster)
struct RadosMetadataCommandTests {
    static func both(_ arguments: [String]) throws -> (ours: (Int32, String, String), theirs: (Int32, String, String)) {
        let conf = try #require(ClusterEnvironment.cephConf)
        let ours = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "rados", "-c", conf, "-p", "rbd"] + arguments)
        let theirs = try ClusterEnvironment.run(["rados", "-c", conf, "-p", "rbd"] + arguments)
        return ((ours.status, String(decoding: ours.stdout, as: UTF8.self), ours.stderr),
                (theirs.status, String(decoding: theirs.stdout, as: UTF8.self), theirs.stderr.split(separator: "\n").filter { !$0.contains("asok") }.map { $0 + "\n" }.joined()))
    }

    static func same(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (ours, theirs) = try both(arguments)
        #expect(ours.0 == theirs.0, "exit status of \(arguments)", sourceLocation: sourceLocation)
        #expect(ours.1 == theirs.1, "stdout of \(arguments)", sourceLocation: sourceLocation)
        #expect(withoutCephLog(ours.2) == withoutCephLog(theirs.2), "stderr of \(arguments)", sourceLocation: sourceLocation)
    }

    /// stderr without the lines Ceph's logging adds on its own under load
    /// ("2026-11-29T19:23:08.947+0000 7fa7… -1 monclient: …"): they are not the tool's output.
    static func withoutCephLog(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { $0.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+\+\d{4} [0-9a-f]+ "#, options: .regularExpression) == nil }
            .joined(separator: "\n")
    }

    @Test(arguments: ["", "meta-ns"])
    func xattrAndOmapCommandsPrintWhatRadosPrints(namespace: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let ns = namespace.isEmpty ? [] : ["-N", namespace]
        let object = "meta-cmd-\(UInt32.random(in: 0...UInt32.max))"
        let missing = object + "-missing"
        let conf = try #require(ClusterEnvironment.cephConf)
        defer { _ = try? ClusterEnvironment.run(["rados", "-c", conf, "-p", "rbd"] + ns + ["rm", object]) }
        let long = String(repeating: "A", count: 50) + "BCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        // Set up half with rbdctl, half with rados.
        let conf2 = try #require(ClusterEnvironment.cephConf)
        for (tool, args) in [
            (ClusterEnvironment.rbdctl, ["setxattr", object, "colour", "blue"]), ("rados", ["setxattr", object, "shape", "round"]),
            (ClusterEnvironment.rbdctl, ["setomapval", object, "long", long]), ("rados", ["setomapval", object, "short", "v"]),
            (ClusterEnvironment.rbdctl, ["setomapval", object, "empty", ""]), ("rados", ["setomapheader", object, "the header"]),
        ] {
            let prefix = tool == "rados" ? ["rados", "-c", conf2, "-p", "rbd"] : [tool, "rados", "-c", conf2, "-p", "rbd"]
            let result = try ClusterEnvironment.run(prefix + ns + args)
            #expect(result.status == 0, "\(tool) \(args): \(result.stderr)")
        }
        for arguments in [
            ["listxattr", object], ["getxattr", object, "colour"], ["getxattr", object, "shape"], ["getxattr", object, "nope"],
            ["listomapkeys", object], ["listomapvals", object], ["getomapval", object, "long"], ["getomapval", object, "empty"],
            ["getomapval", object, "nope"], ["getomapheader", object],
            ["listxattr", missing], ["getxattr", missing, "a"], ["listomapkeys", missing], ["listomapvals", missing],
            ["getomapval", missing, "k"], ["getomapheader", missing], ["rmomapkey", missing, "k"], ["rmxattr", missing, "a"],
            ["clearomap", missing],
        ] {
            try Self.same(ns + arguments)
        }
        try Self.same(ns + ["rmxattr", object, "colour"])
        try Self.same(ns + ["listxattr", object])
        try Self.same(ns + ["rmomapkey", object, "short"])
        try Self.same(ns + ["listomapvals", object])
        try Self.same(ns + ["clearomap", object])
        try Self.same(ns + ["listomapvals", object])
    }
}
