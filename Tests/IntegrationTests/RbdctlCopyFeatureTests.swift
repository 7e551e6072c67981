import Foundation
import Testing

/// `rbdctl cp`, `deep cp`, `feature enable|disable` and `sparsify` against Ceph's `rbd`:
/// copies read back equal at the head and at every snapshot, feature changes leave the
/// header as rbd's leave it on a twin image, and sparsify leaves the same data objects
/// as `rbd sparsify` without changing a byte.
@Suite(.requiresCluster, .requiresTools("rbd", "rados"))
struct RbdctlCopyFeatureTests {
    static func rbd(_ arguments: [String]) throws -> String {
        String(decoding: try ClusterEnvironment.ceph("rbd", arguments), as: UTF8.self)
    }

    static func export(_ spec: String) throws -> Data {
        try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", spec, "-"])
    }

    static func ours(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try RbdctlTrashNamespaceTests.ours(arguments)
    }

    static func info(_ spec: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(try rbd(["info", "--format", "json", spec]).utf8)) as? [String: Any])
    }

    /// Data objects of an image and their sizes.
    static func objects(_ spec: String) throws -> [String] {
        let prefix = try #require(try info(spec)["block_name_prefix"] as? String)
        let pool = String(spec.split(separator: "/").first ?? "rbd")
        return try String(decoding: try ClusterEnvironment.ceph("rados", ["-p", pool, "ls"]), as: UTF8.self)
            .split(separator: "\n").filter { $0.hasPrefix(prefix + ".") }.sorted().map { object in
                let stat = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", pool, "stat", String(object)]), as: UTF8.self)
                return "\(object.dropFirst(prefix.count + 1)) \(stat.split(separator: " ").last ?? "")"
            }
    }

    static func unique(_ stem: String) -> String { "\(stem)-\(UInt32.random(in: 0...UInt32.max))" }

    @Test func copiesAndDeepCopiesReadBackEqual() async throws {
        let source = Self.unique("cpsrc")
        defer {
            for image in [source + "-cp", source + "-cpsnap", source + "-deep", source + "-deepclone", source + "-child", source + "-flat", source + "-striped"] {
                ClusterEnvironment.removeImage("rbd/\(image)")
            }
            _ = try? Self.rbd(["snap", "unprotect", "rbd/\(source)@two"])
            ClusterEnvironment.removeImage("rbd/\(source)")
        }
        try await ClusterEnvironment.offThreadPool {
            // Two snapshots, a resize between them, a protected one, and a discard.
            _ = try Self.rbd(["create", "--size", "12M", "rbd/\(source)"])
            _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "2M", "--io-pattern", "rand", "rbd/\(source)"])
            _ = try Self.rbd(["snap", "create", "--no-progress", "rbd/\(source)@one"])
            _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "512K", "--io-pattern", "rand", "rbd/\(source)"])
            _ = try Self.rbd(["resize", "--no-progress", "--size", "20M", "rbd/\(source)"])
            _ = try Self.rbd(["snap", "create", "--no-progress", "rbd/\(source)@two"])
            _ = try Self.rbd(["snap", "protect", "rbd/\(source)@two"])
            _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "256K", "--io-pattern", "rand", "rbd/\(source)"])

            #expect(try Self.ours(["cp", "rbd/\(source)", "rbd/\(source)-cp"]).status == 0)
            #expect(try Self.export("rbd/\(source)-cp") == Self.export("rbd/\(source)"))
            #expect(try Self.rbd(["snap", "ls", "rbd/\(source)-cp"]).isEmpty)
            let copied = try Self.info("rbd/\(source)-cp"), original = try Self.info("rbd/\(source)")
            #expect(copied["features"] as? [String] == original["features"] as? [String] && copied["order"] as? Int == original["order"] as? Int)
            #expect(try Self.ours(["copy", "rbd/\(source)@one", "rbd/\(source)-cpsnap"]).status == 0)
            #expect(try Self.export("rbd/\(source)-cpsnap") == Self.export("rbd/\(source)@one"))
            #expect(try Self.ours(["cp", "rbd/\(source)", "rbd/\(source)-cp"]).status == 17)

            #expect(try Self.ours(["deep", "cp", "rbd/\(source)", "rbd/\(source)-deep"]).status == 0)
            for suffix in ["@one", "@two", ""] {
                #expect(try Self.export("rbd/\(source)-deep\(suffix)") == Self.export("rbd/\(source)\(suffix)"), "\(suffix)")
            }
            let snaps = try JSONSerialization.jsonObject(with: Data(try Self.rbd(["snap", "ls", "--format", "json", "rbd/\(source)-deep"]).utf8)) as? [[String: Any]]
            #expect(snaps?.map { "\($0["name"] ?? "")=\($0["protected"] ?? "")" } == ["one=false", "two=true"])
            let check = try ClusterEnvironment.run(["rbd", "-c", try #require(ClusterEnvironment.cephConf), "object-map", "check", "--no-progress", "rbd/\(source)-deep"])
            #expect(check.status == 0, "\(check.stderr)")

            // A clone with writes, a snapshot and a shrink: its deep copy is a clone of
            // the same parent snapshot, equal at every point; flattened, it has no parent.
            _ = try Self.rbd(["clone", "rbd/\(source)@two", "rbd/\(source)-child"])
            _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "128K", "--io-pattern", "rand", "rbd/\(source)-child"])
            _ = try Self.rbd(["snap", "create", "--no-progress", "rbd/\(source)-child@c1"])
            _ = try Self.rbd(["resize", "--no-progress", "--allow-shrink", "--size", "10M", "rbd/\(source)-child"])
            _ = try Self.rbd(["resize", "--no-progress", "--size", "16M", "rbd/\(source)-child"])
            #expect(try Self.ours(["deep", "cp", "rbd/\(source)-child", "rbd/\(source)-deepclone"]).status == 0)
            for suffix in ["@c1", ""] {
                #expect(try Self.export("rbd/\(source)-deepclone\(suffix)") == Self.export("rbd/\(source)-child\(suffix)"), "clone\(suffix)")
            }
            let parent = try Self.info("rbd/\(source)-deepclone")["parent"] as? [String: Any]
            #expect(parent?["image"] as? String == source && parent?["snapshot"] as? String == "two" && parent?["overlap"] as? Int == 10 << 20, "\(parent ?? [:])")
            #expect(try Self.rbd(["children", "rbd/\(source)@two"]).contains("\(source)-deepclone"))
            #expect(try Self.ours(["deep", "cp", "--flatten", "rbd/\(source)-child", "rbd/\(source)-flat"]).status == 0)
            #expect(try Self.export("rbd/\(source)-flat") == Self.export("rbd/\(source)-child"))
            #expect(try Self.info("rbd/\(source)-flat")["parent"] == nil)
            // Layout options apply to the copy.
            #expect(try Self.ours(["cp", "--object-size", "1M", "--stripe-unit", "64K", "--stripe-count", "4", "--image-feature", "layering,striping", "rbd/\(source)", "rbd/\(source)-striped"]).status == 0)
            #expect(try Self.export("rbd/\(source)-striped") == Self.export("rbd/\(source)"))
            #expect(try Self.info("rbd/\(source)-striped")["stripe_count"] as? Int == 4)
        }
    }

    @Test func featureChangesMatchRbds() async throws {
        let ours = Self.unique("feat-ours"), theirs = Self.unique("feat-theirs")
        defer { for image in [ours, theirs] { ClusterEnvironment.removeImage("rbd/\(image)") } }
        try await ClusterEnvironment.offThreadPool {
            for image in [ours, theirs] {
                _ = try Self.rbd(["create", "--size", "8M", "--image-feature", "layering,deep-flatten", "rbd/\(image)"])
                _ = try Self.rbd(["snap", "create", "--no-progress", "rbd/\(image)@s"])
            }
            func same() throws {
                let a = try Self.info("rbd/\(ours)"), b = try Self.info("rbd/\(theirs)")
                #expect(a["features"] as? [String] == b["features"] as? [String] && a["flags"] as? [String] == b["flags"] as? [String], "\(a["features"] ?? "") \(a["flags"] ?? "")")
            }
            for (verb, features) in [
                ("enable", ["exclusive-lock"]), ("enable", ["object-map", "fast-diff"]),
                // object-map and fast-diff go off and on together, as rbd does it.
                ("disable", ["fast-diff"]), ("enable", ["fast-diff"]), ("disable", ["object-map"]),
                ("disable", ["exclusive-lock", "deep-flatten"]), ("enable", ["exclusive-lock", "object-map"]),
            ] {
                #expect(try Self.ours(["feature", verb, "rbd/\(ours)"] + features).status == 0, "\(verb) \(features)")
                _ = try Self.rbd(["feature", verb, "rbd/\(theirs)"] + features)
                try same()
            }
            // An enabled object map is rebuilt by rbd and then agrees with the data.
            _ = try Self.rbd(["object-map", "rebuild", "--no-progress", "rbd/\(ours)"])
            #expect(try ClusterEnvironment.run(["rbd", "-c", try #require(ClusterEnvironment.cephConf), "object-map", "check", "--no-progress", "rbd/\(ours)"]).status == 0)
            // rbd's refusals, with rbd's statuses: immutable, dependency, journaling.
            for (arguments, status) in [
                (["feature", "enable", "rbd/\(ours)", "layering"], Int32(22)), (["feature", "disable", "rbd/\(ours)", "exclusive-lock"], 22),
                (["feature", "enable", "rbd/\(ours)", "object-map"], 22), (["feature", "enable", "rbd/\(ours)", "journaling"], 95),
                (["feature", "disable", "rbd/\(ours)", "deep-flatten"], 22),
                (["feature", "enable", "rbd/\(ours)", "no-such-feature"], 1),
            ] {
                let result = try Self.ours(arguments)
                #expect(result.status == status, "\(arguments): \(result.stderr)")
            }
        }
    }

    @Test func sparsifyLeavesWhatRbdSparsifyLeaves() async throws {
        let ours = Self.unique("sparse-ours"), theirs = Self.unique("sparse-theirs")
        defer { for image in [ours, theirs] { ClusterEnvironment.removeImage("rbd/\(image)") } }
        // Data, zeros written as data (3 MiB, a 4 KiB island, a tail object), all stored.
        let bytes = Data(repeating: 0xAA, count: 1 << 20) + Data(count: 3 << 20) + Data(repeating: 0xBB, count: 4096)
            + Data(count: (4 << 20) + 3 * 4096) + Data(repeating: 0xCC, count: 100)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sparsify-\(UUID().uuidString)").path
        try bytes.write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await ClusterEnvironment.offThreadPool {
            for image in [ours, theirs] {
                // --sparse-size 4M: rbd import writes the zeros too.
                _ = try Self.rbd(["import", "--no-progress", "--sparse-size", "4M", file, "rbd/\(image)"])
                _ = try Self.rbd(["snap", "create", "--no-progress", "rbd/\(image)@s"])
            }
            let before = try Self.objects("rbd/\(ours)")
            #expect(try Self.ours(["sparsify", "rbd/\(ours)"]).status == 0)
            _ = try Self.rbd(["sparsify", "--no-progress", "rbd/\(theirs)"])
            let after = try Self.objects("rbd/\(ours)")
            #expect(after != before, "nothing was given back")
            #expect(after.map { $0.split(separator: " ").last ?? "" } == (try Self.objects("rbd/\(theirs)")).map { $0.split(separator: " ").last ?? "" })
            #expect(try Self.export("rbd/\(ours)") == bytes)
            #expect(try Self.export("rbd/\(ours)@s") == bytes)
            #expect(try Self.ours(["sparsify", "--sparse-size", "3K", "rbd/\(ours)"]).status == 1)
        }
    }
}
