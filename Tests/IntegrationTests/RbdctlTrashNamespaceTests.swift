import Foundation
import Testing

/// `rbdctl trash`, `namespace` and `snap limit` against Ceph's `rbd` on the same images:
/// what one tool does, the other sees and can undo; listings are byte for byte rbd's;
/// refusals carry rbd's exit status and lose nothing. Each test works in a namespace of
/// its own, so other tests' images cannot change what is listed.
@Suite(.requiresCluster, .requiresTools("rbd", "rados"))
struct RbdctlTrashNamespaceTests {
    static func rbd(_ arguments: [String]) throws -> String {
        String(decoding: try ClusterEnvironment.ceph("rbd", arguments), as: UTF8.self)
    }

    /// rbdctl with the cluster's configuration given last (the verbs here have
    /// subcommands, which must come first).
    static func ours(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let conf = try #require(ClusterEnvironment.cephConf)
        let result = try ClusterEnvironment.run([ClusterEnvironment.rbdctl] + arguments + ["--conf", conf])
        return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
    }

    static func trashIDs(_ place: String) throws -> [String: String] {
        let list = try JSONSerialization.jsonObject(with: Data(try rbd(["trash", "ls", "--format", "json", place]).utf8)) as? [[String: String]] ?? []
        return Dictionary(uniqueKeysWithValues: list.compactMap { entry in entry["name"].flatMap { name in entry["id"].map { (name, $0) } } })
    }

    static func uniqueNamespace(_ stem: String) -> String { "\(stem)\(UInt32.random(in: 0...UInt32.max))" }

    @Test func trashMovesRestoresAndRemovesInteroperably() async throws {
        let namespace = Self.uniqueNamespace("trash")
        let place = "rbd/\(namespace)"
        defer {
            for (_, id) in (try? Self.trashIDs(place)) ?? [:] { _ = try? Self.rbd(["trash", "rm", "--force", "--no-progress", "\(place)/\(id)"]) }
            for image in ["a", "b", "c", "child", "a2"] { ClusterEnvironment.removeImage("\(place)/\(image)") }
            _ = try? Self.rbd(["snap", "unprotect", "\(place)/base@s"])
            ClusterEnvironment.removeImage("\(place)/base")
            _ = try? Self.rbd(["namespace", "rm", place])
        }
        try await ClusterEnvironment.offThreadPool {
            #expect(try Self.ours(["namespace", "create", place]).status == 0)
            for image in ["a", "b", "c"] {
                _ = try Self.rbd(["create", "--size", "8M", "\(place)/\(image)"])
                _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "1M", "\(place)/\(image)"])
            }
            _ = try Self.rbd(["create", "--size", "8M", "\(place)/base"])
            _ = try Self.rbd(["snap", "create", "--no-progress", "\(place)/base@s"])
            _ = try Self.rbd(["snap", "protect", "\(place)/base@s"])
            _ = try Self.rbd(["clone", "\(place)/base@s", "\(place)/child"])
            let exportA = try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "\(place)/a", "-"])

            // Ours moves (one with a deferment), rbd lists them; rbd moves one, we list it too.
            #expect(try Self.ours(["trash", "mv", "\(place)/a"]).status == 0)
            #expect(try Self.ours(["trash", "mv", "--expires-at", "2099-01-01", "\(place)/b"]).status == 0)
            _ = try Self.rbd(["trash", "mv", "\(place)/c"])
            #expect(try Self.ours(["trash", "mv", "\(place)/child"]).status == 0)
            let ids = try Self.trashIDs(place)
            #expect(Set(ids.keys) == ["a", "b", "c", "child"])
            #expect(!(try Self.rbd(["ls", place])).contains("child"))
            for flags in [[], ["-l"], ["--format", "json"], ["-l", "--format", "json", "--pretty-format"], ["-l", "--format", "xml"]] {
                let theirs = try Self.rbd(["trash", "ls"] + flags + [place])
                #expect(try Self.ours(["trash", "ls"] + flags + [place]).stdout == theirs, "trash ls \(flags)")
            }
            // The clone's parent shows in the long listing.
            #expect(try Self.ours(["trash", "ls", "-l", place]).stdout.contains("\(place)/base@s"))

            // rbd restores ours (the data is intact); we restore rbd's, under a new name.
            _ = try Self.rbd(["trash", "restore", "\(place)/\(ids["a"] ?? "")"])
            #expect(try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "\(place)/a", "-"]) == exportA)
            #expect(try Self.ours(["trash", "restore", "--image", "a2", "\(place)/\(ids["c"] ?? "")"]).status == 0)
            #expect(try Self.rbd(["ls", place]).split(separator: "\n").contains("a2"))
            // A name in use is refused, the entry kept.
            #expect(try Self.ours(["trash", "mv", "\(place)/a2"]).status == 0)
            let clash = try Self.ours(["trash", "restore", "--image", "a", "\(place)/\(ids["c"] ?? "")"])
            #expect(clash.status == 17 && clash.stderr.split(separator: "\n").count == 1, "\(clash.stderr)")
            #expect(try Self.trashIDs(place)["a2"] == ids["c"])

            // Deferred: refused without --force (EPERM, rbd's exit 1), then removed; its
            // data objects go with it.
            let early = try Self.ours(["trash", "rm", "\(place)/\(ids["b"] ?? "")"])
            #expect(early.status == 1 && early.stderr.contains("deferment"), "\(early.stderr)")
            #expect(try Self.ours(["trash", "rm", "--force", "\(place)/\(ids["b"] ?? "")"]).status == 0)
            let objects = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "--namespace", namespace, "ls"]), as: UTF8.self)
            #expect(!objects.contains(ids["b"] ?? "?"), "objects of the removed image remain: \(objects)")

            // An image with snapshots cannot be removed; the entry stays restorable.
            _ = try Self.rbd(["snap", "create", "--no-progress", "\(place)/a@keep"])
            #expect(try Self.ours(["trash", "mv", "\(place)/a"]).status == 0)
            let withSnaps = try Self.ours(["trash", "rm", "\(place)/\(ids["a"] ?? "")"])
            #expect(withSnaps.status == 39, "\(withSnaps.stderr)")
            #expect(try Self.rbd(["trash", "ls", place]).contains(" a\n"))
            #expect(try Self.ours(["trash", "restore", "\(place)/\(ids["a"] ?? "")"]).status == 0)
            _ = try Self.rbd(["snap", "rm", "--no-progress", "\(place)/a@keep"])

            // Purge removes what expired (the clone first, then nothing blocks); rbd
            // sees an empty trash, and the parent's snapshot has no children left.
            #expect(try Self.ours(["trash", "purge", place]).status == 0)
            #expect(try Self.trashIDs(place).isEmpty)
            #expect(try Self.rbd(["children", "\(place)/base@s"]).isEmpty)
            #expect(try Self.ours(["trash", "rm", "\(place)/nosuchid"]).status == 2)
        }
    }

    @Test func namespacesAsRbdKeepsThem() async throws {
        let ours = Self.uniqueNamespace("nsours")
        let theirs = Self.uniqueNamespace("nstheirs")
        defer {
            ClusterEnvironment.removeImage("rbd/\(ours)/img")
            for namespace in [ours, theirs] { _ = try? Self.rbd(["namespace", "rm", "rbd/\(namespace)"]) }
        }
        try await ClusterEnvironment.offThreadPool {
            #expect(try Self.ours(["namespace", "create", "rbd/\(ours)"]).status == 0)
            #expect(try Self.ours(["namespace", "create", "--pool", "rbd", "--namespace", ours]).status == 17)
            _ = try Self.rbd(["namespace", "create", "rbd/\(theirs)"])
            // Other tests make namespaces of their own in pool rbd meanwhile: a listing
            // pair taken while one came or went is taken again (a few times at most).
            for flags in [[], ["--format", "json"], ["--format", "xml", "--pretty-format"]] {
                var pair = ("", "")
                for _ in 0..<5 {
                    pair = (try Self.ours(["namespace", "ls"] + flags + ["rbd"]).stdout, try Self.rbd(["namespace", "ls"] + flags + ["rbd"]))
                    if pair.0 == pair.1 { break }
                }
                #expect(pair.0 == pair.1, "namespace ls \(flags)")
                #expect(pair.1.contains(ours) && pair.1.contains(theirs))
            }
            // rbd creates an image in ours: it is busy until the image is gone (trash too).
            _ = try Self.rbd(["create", "--size", "1M", "rbd/\(ours)/img"])
            #expect(try Self.ours(["namespace", "rm", "rbd/\(ours)"]).status == 16)
            _ = try Self.rbd(["trash", "mv", "rbd/\(ours)/img"])
            #expect(try Self.ours(["namespace", "rm", "rbd/\(ours)"]).status == 16)
            // Refused removals left the namespace usable.
            _ = try Self.rbd(["trash", "restore", "rbd/\(ours)/\(try Self.trashIDs("rbd/\(ours)")["img"] ?? "")"])
            _ = try Self.rbd(["create", "--size", "1M", "rbd/\(ours)/img2"])
            _ = try Self.rbd(["rm", "--no-progress", "rbd/\(ours)/img2"])
            _ = try Self.rbd(["rm", "--no-progress", "rbd/\(ours)/img"])
            #expect(try Self.ours(["namespace", "rm", "rbd/\(ours)"]).status == 0)
            #expect(try Self.ours(["namespace", "rm", "rbd/\(theirs)"]).status == 0)
            let left = try Self.rbd(["namespace", "ls", "rbd"])
            #expect(!left.contains(ours) && !left.contains(theirs))
            #expect(try Self.ours(["namespace", "rm", "rbd/\(ours)"]).status == 2)
        }
    }

    @Test func snapshotLimitIsEnforcedForEveryClient() async throws {
        let name = "limit-\(UInt32.random(in: 0...UInt32.max))"
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        try await ClusterEnvironment.offThreadPool {
            _ = try Self.rbd(["create", "--size", "1M", "rbd/\(name)"])
            #expect(try Self.ours(["snap", "limit", "set", "--limit", "1", "rbd/\(name)"]).status == 0)
            _ = try Self.rbd(["snap", "create", "--no-progress", "rbd/\(name)@one"])
            let refused = try ClusterEnvironment.run(["rbd", "-c", try #require(ClusterEnvironment.cephConf), "snap", "create", "--no-progress", "rbd/\(name)@two"])
            #expect(refused.status == 122, "\(refused.stderr)")  // EDQUOT
            #expect(try Self.ours(["snap", "create", "rbd/\(name)@two"]).status == 122)
            #expect(try Self.ours(["snap", "limit", "set", "--limit", "0", "rbd/\(name)"]).status == 34)  // ERANGE
            #expect(try Self.ours(["snap", "limit", "set", "rbd/\(name)"]).status == 22)
            #expect(try Self.ours(["snap", "limit", "clear", "rbd/\(name)"]).status == 0)
            _ = try Self.rbd(["snap", "create", "--no-progress", "rbd/\(name)@two"])
            // rbd's limit binds us too.
            _ = try Self.rbd(["snap", "limit", "set", "--limit", "2", "rbd/\(name)"])
            #expect(try Self.ours(["snap", "create", "rbd/\(name)@three"]).status == 122)
        }
    }
}

extension LiveMapSuite {
    /// `rbdctl pool init` on a new pool (creating it changes the map, hence the
    /// serialized live-map suite): tagged for rbd, validated as librbd leaves it, and
    /// usable by rbd afterwards.
    @Suite(.requiresCluster, .requiresTools("rbd", "rados", "ceph"))
    struct RbdctlPoolInitTests {
        @Test func poolInitTagsAndValidatesThePool() async throws {
            let pool = "init-\(UInt16.random(in: 0...UInt16.max))"
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "pool", "create", pool, "8", "8", "replicated"])
            defer {
                _ = try? ClusterEnvironment.ceph("ceph", ["osd", "pool", "rm", pool, pool, "--yes-i-really-really-mean-it"])
                IncrementalMapTests.waitForActiveClean()
            }
            try await ClusterEnvironment.offThreadPool {
                let initialized = try RbdctlTrashNamespaceTests.ours(["pool", "init", pool])
                #expect(initialized.status == 0, "\(initialized.stderr)")
                let application = String(decoding: try ClusterEnvironment.ceph("ceph", ["osd", "pool", "application", "get", pool]), as: UTF8.self)
                #expect(application.contains("\"rbd\""), "\(application)")
                #expect(try ClusterEnvironment.ceph("rados", ["-p", pool, "get", "rbd_info", "-"]) == Data("overwrite validated".utf8))
                // Again: nothing to do, still fine; a missing pool is ENOENT.
                #expect(try RbdctlTrashNamespaceTests.ours(["pool", "init", pool]).status == 0)
                #expect(try RbdctlTrashNamespaceTests.ours(["pool", "init", pool + "-missing"]).status == 2)
                _ = try ClusterEnvironment.ceph("rbd", ["create", "--size", "1M", "\(pool)/img"])
                #expect(String(decoding: try ClusterEnvironment.ceph("rbd", ["ls", pool]), as: UTF8.self) == "img\n")
                _ = try ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "\(pool)/img"])
            }
        }
    }
}
