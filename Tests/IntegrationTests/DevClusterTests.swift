import Foundation
import Testing

/// The throwaway cluster from `scripts/dev-cluster.sh` is what the rest of the suite
/// assumes: cephx required, msgr2 monitor addresses, three OSDs up, and an RBD pool
/// `rbd` of size 2 that Ceph's own `rbd` tool can use.
@Suite(.requiresCluster)
struct DevClusterTests {
    private func json(_ tool: String, _ arguments: [String]) throws -> Any {
        try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph(tool, arguments + ["--format", "json"]))
    }

    @Test func monitorOffersMsgr2AndLegacyAddresses() throws {
        let dump = try #require(try json("ceph", ["mon", "dump"]) as? [String: Any])
        let mons = try #require(dump["mons"] as? [[String: Any]])
        #expect(mons.count == 1)
        let addrvec = try #require((mons.first?["public_addrs"] as? [String: Any])?["addrvec"] as? [[String: Any]])
        let types = Set(addrvec.compactMap { $0["type"] as? String })
        #expect(types == ["v2", "v1"])
        for address in addrvec {
            #expect((address["addr"] as? String)?.hasPrefix("127.0.0.1:") == true)
        }
    }

    @Test func threeOSDsAreUpAndIn() throws {
        let stat = try #require(try json("ceph", ["osd", "stat"]) as? [String: Any])
        #expect(stat["num_osds"] as? Int == 3)
        #expect(stat["num_up_osds"] as? Int == 3)
        #expect(stat["num_in_osds"] as? Int == 3)
    }

    @Test func rbdPoolIsReplicatedSizeTwoAndInitialised() throws {
        let size = try #require(try json("ceph", ["osd", "pool", "get", "rbd", "size"]) as? [String: Any])
        #expect(size["size"] as? Int == 2)
        let apps = try #require(try json("ceph", ["osd", "pool", "application", "get", "rbd"]) as? [String: Any])
        #expect(apps["rbd"] != nil)
        // `rbd pool init` leaves the rbd_info object in the pool.
        let objects = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "ls"]), as: UTF8.self)
        #expect(objects.split(separator: "\n").contains("rbd_info"))
    }

    @Test func cephxIsRequired() throws {
        // A client that offers no authentication must be refused: the monitor allows only
        // cephx, so connecting fails with EACCES and `ceph` exits with that errno (13), not
        // with a timeout (110) or a usage error.
        let conf = try #require(ClusterEnvironment.cephConf)
        let result = try ClusterEnvironment.run([
            "ceph", "-c", conf, "--auth-client-required", "none", "--connect-timeout", "5", "health",
        ])
        #expect(result.status == 13, "ceph exited \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("[errno 13] RADOS permission denied (error connecting to the cluster)"), "\(result.stderr)")
        // The same command with cephx works, so the refusal was about authentication.
        let allowed = try ClusterEnvironment.run(["ceph", "-c", conf, "--connect-timeout", "30", "health"])
        #expect(allowed.status == 0, "ceph health with cephx exited \(allowed.status): \(allowed.stderr)")
    }

    @Test func rbdToolCreatesAndDescribesAnImage() throws {
        let name = "devcluster-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "1G"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "rbd/\(name)", "--no-progress"]) }
        let info = try #require(try json("rbd", ["info", "rbd/\(name)"]) as? [String: Any])
        #expect(info["size"] as? Int == 1 << 30)
        #expect(info["format"] as? Int == 2)
        let listed = try #require(try json("rbd", ["ls", "rbd"]) as? [String])
        #expect(listed.contains(name))
    }
}
