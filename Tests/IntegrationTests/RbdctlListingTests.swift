import Foundation
import RADOSProto
import RBDCore
import Testing

/// `rbdctl ls [-l]`, `info`, `snap ls`, `lock ls`, `children`, `du`, `diff`,
/// `image-meta list` and `status` against Ceph's `rbd` on the same images, in every output
/// format: the same bytes (plain, JSON compact and pretty, XML compact and pretty). The images live in a namespace of their own, so other tests' images in pool
/// rbd cannot make the listings differ.
@Suite(.requiresCluster, .requiresTools("rbd"))
struct RbdctlListingTests {
    static func rbd(_ arguments: [String]) throws -> String {
        String(decoding: try ClusterEnvironment.ceph("rbd", arguments), as: UTF8.self)
    }

    static func ours(_ arguments: [String]) throws -> String {
        let result = try RbdctlTransferTests.rbdctl(arguments)
        #expect(result.status == 0, "rbdctl \(arguments.joined(separator: " ")): \(result.stderr)")
        return String(decoding: result.stdout, as: UTF8.self)
    }

    /// Runs `body` with a namespace holding: a base image with a protected and a plain
    /// snapshot, a clone of it, an image under an exclusive `rbd lock`, and a striped one.
    static func withImages(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let namespace = "ls\(UInt32.random(in: 0...UInt32.max))"
        let place = "rbd/\(namespace)"
        try await ClusterEnvironment.offThreadPool {
            _ = try rbd(["namespace", "create", place])
            _ = try rbd(["create", "--size", "16M", "\(place)/base"])
            _ = try rbd(["snap", "create", "--no-progress", "\(place)/base@s1"])
            _ = try rbd(["snap", "protect", "\(place)/base@s1"])
            _ = try rbd(["snap", "create", "--no-progress", "\(place)/base@u1"])
            _ = try rbd(["clone", "\(place)/base@s1", "\(place)/child"])
            _ = try rbd(["create", "--size", "3G", "\(place)/locked"])
            _ = try rbd(["lock", "add", "\(place)/locked", "mine"])
            _ = try rbd(["create", "--size", "1000K", "--stripe-unit", "64K", "--stripe-count", "4", "--image-feature", "layering,striping", "\(place)/striped"])
        }
        do {
            try await body(place)
        } catch {
            Self.clean(place)
            throw error
        }
        Self.clean(place)
    }

    static func clean(_ place: String) {
        if let lockers = try? rbd(["lock", "ls", "--format", "json", "\(place)/locked"]),
           let list = try? JSONSerialization.jsonObject(with: Data(lockers.utf8)) as? [[String: Any]] {
            for lock in list {
                _ = try? rbd(["lock", "rm", "\(place)/locked", lock["id"] as? String ?? "", lock["locker"] as? String ?? ""])
            }
        }
        for image in ["child", "locked", "striped"] { _ = try? rbd(["rm", "--no-progress", "\(place)/\(image)"]) }
        _ = try? rbd(["snap", "unprotect", "\(place)/base@s1"])
        ClusterEnvironment.removeImage("\(place)/base")
        _ = try? rbd(["namespace", "rm", place])
    }

    @Test func longListingAndInfoEqualRbds() async throws {
        try await Self.withImages { place in
            try await ClusterEnvironment.offThreadPool {
                for flags in [
                    [], ["--format", "json"], ["--format", "json", "--pretty-format"], ["--format", "xml"],
                    ["-l"], ["-l", "--format", "json"], ["-l", "--format", "json", "--pretty-format"],
                    ["-l", "--format", "xml", "--pretty-format"],
                ] {
                    let theirs = try Self.rbd(["ls"] + flags + [place])
                    #expect(try Self.ours(["ls"] + flags + [place]) == theirs, "ls \(flags.joined(separator: " "))")
                    #expect(!theirs.isEmpty)
                }
                let long = try Self.rbd(["ls", "-l", place])
                #expect(long.contains("child") && long.contains("excl") && long.contains("yes"), "\(long)")
                // -p and --namespace name the same place.
                let parts = place.split(separator: "/").map(String.init)
                #expect(try Self.ours(["ls", "-l", "-p", parts[0], "--namespace", parts[1]]) == long)

                // A clone's info names its parent and overlap, in text and in JSON.
                let info = try Self.ours(["info", "\(place)/child"])
                #expect(info == (try Self.rbd(["info", "\(place)/child"])))
                #expect(info.contains("\tparent: \(place)/base@s1\n\toverlap: 16 MiB\n"), "\(info)")
                let theirs = try JSONSerialization.jsonObject(with: Data(try Self.rbd(["info", "--format", "json", "\(place)/child"]).utf8)) as? NSDictionary
                let ourJSON = try JSONSerialization.jsonObject(with: Data(try Self.ours(["info", "--format", "json", "\(place)/child"]).utf8)) as? NSDictionary
                #expect(theirs != nil && ourJSON == theirs)
            }
        }
    }

    @Test func statusListsTheWatchersRbdLists() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try await Self.withImages { place in
            let parts = place.split(separator: "/").map(String.init)
            let client = try await RADOSClient.connect(try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false))
            let io = try await client.ioContext(pool: parts[0], namespace: parts[1])
            let image = try await Image.open(io, name: "base")
            let open = try await ClusterEnvironment.offThreadPool {
                try [[], ["--format", "json"], ["--format", "xml", "--pretty-format"]].map { flags in
                    (try Self.rbd(["status"] + flags + ["\(place)/base"]), try Self.ours(["status"] + flags + ["\(place)/base"]))
                }
            }
            try await image.close()
            await client.shutdown()
            for (theirs, ours) in open { #expect(ours == theirs) }
            #expect(open.first.map { $0.0.hasPrefix("Watchers:\n\twatcher=") && $0.0.contains("client.\(client.instanceID)") } == true, "\(open.first?.0 ?? "")")
            let closed = try await ClusterEnvironment.offThreadPool { (try Self.rbd(["status", "\(place)/base"]), try Self.ours(["status", "\(place)/base"])) }
            #expect(closed.0 == "Watchers: none\n" && closed.1 == closed.0)
            let missing = try await ClusterEnvironment.offThreadPool { try RbdctlTransferTests.rbdctl(["status", "\(place)/nosuch"]) }
            #expect(missing.status == 2 && missing.stderr.contains("nosuch"), "\(missing.stderr)")
        }
    }

    @Test func everyFormatEqualsRbds() async throws {
        try await Self.withImages { place in
            try await ClusterEnvironment.offThreadPool {
                _ = try Self.rbd(["image-meta", "set", "\(place)/base", "owner", "tests"])
                _ = try Self.rbd(["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "256K", "--io-pattern", "rand", "\(place)/child"])
                _ = try Self.rbd(["snap", "create", "--no-progress", "\(place)/child@c1"])
                let commands: [[String]] = [
                    ["info", "\(place)/base"], ["info", "\(place)/base@s1"], ["info", "\(place)/child"], ["info", "\(place)/child@c1"],
                    ["info", "\(place)/striped"], ["snap", "ls", "\(place)/base"], ["snap", "ls", "--all", "\(place)/base"],
                    ["lock", "ls", "\(place)/locked"], ["children", "\(place)/base@s1"], ["children", "--all", "\(place)/base@s1"],
                    ["du", "\(place)/base"], ["diff", "\(place)/child"], ["diff", "--from-snap", "c1", "\(place)/child"],
                    ["image-meta", "list", "\(place)/base"], ["image-meta", "list", "\(place)/child"], ["status", "\(place)/child"],
                ]
                for command in commands {
                    for flags in [[], ["--format", "json"], ["--format", "json", "--pretty-format"], ["--format", "xml"], ["--format", "xml", "--pretty-format"]] {
                        let theirs = try Self.rbd(command + flags)
                        let ours = try RbdctlTrashNamespaceTests.ours(command + flags)
                        #expect(ours.status == 0, "\(command + flags): \(ours.stderr)")
                        #expect(ours.stdout == theirs, "\((command + flags).joined(separator: " "))")
                    }
                }
            }
        }
    }
}
