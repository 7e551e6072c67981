import Foundation
import NIOCore
import Testing
@testable import RADOSProto

extension LiveMapSuite {
    /// The map our Objecter builds from the monitor's incremental maps, after a pool is
    /// created, an OSD is marked out and in, and a pg-upmap-items entry is added, places
    /// every PG exactly as a fresh full map from `ceph osd getmap` does.
    @Suite(.requiresCluster, .serialized)
    struct IncrementalMapTests {
        static func cliEpoch() throws -> UInt32 {
            let dump = try JSONSerialization.jsonObject(with: try ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"])) as? [String: Any]
            return UInt32(try #require(dump?["epoch"] as? Int))
        }

        /// The first map epoch holding an upmap for PG `pgid` (`ceph osd pg-upmap-items`
        /// returns before the monitors commit the change, so `ceph osd dump` may not show
        /// it at once); polls the monitors, 30 s at most, off the cooperative pool.
        static func epochWithUpmap(_ pgid: String) async throws -> UInt32 {
            for _ in 0..<300 {
                let dump = try await ClusterEnvironment.offThreadPool { () throws -> Data in
                    try ClusterEnvironment.ceph("ceph", ["osd", "dump", "--format", "json"])
                }
                let json = try JSONSerialization.jsonObject(with: dump) as? [String: Any]
                let upmaps = json?["pg_upmap_items"] as? [[String: Any]] ?? []
                if upmaps.contains(where: { $0["pgid"] as? String == pgid }), let epoch = json?["epoch"] as? Int {
                    return UInt32(epoch)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ClusterEnvironment.ToolFailure(message: "no osd map showed the upmap of \(pgid) within 30 s")
        }

        /// Leaves the cluster settled (no pg_temp churn) for the suites that follow.
    static func waitForActiveClean() {
        for _ in 0..<120 {
            if let out = try? ClusterEnvironment.ceph("ceph", ["pg", "stat"]) {
                let text = String(decoding: out, as: UTF8.self)
                if let match = text.firstMatch(of: /^(\d+) pgs: (\d+) active\+clean;/), match.1 == match.2 { return }
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    static func waitForEpoch(_ objecter: Objecter, atLeast epoch: UInt32) async throws {
            for _ in 0..<200 {
                if await objecter.osdmap.epoch >= epoch { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("our map never reached epoch \(epoch)")
        }

        @Test func mapFromIncrementalsEqualsAFreshFullMap() async throws {
            let (monitor, objecter) = try await ObjecterInteropTests.connect()
            defer { Task { await objecter.shutdown(); await monitor.close() } }
            let startEpoch = await objecter.osdmap.epoch

            let poolName = "incremental-\(UInt16.random(in: 0...UInt16.max))"
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "pool", "create", poolName, "16", "16", "replicated"])
            defer { _ = try? ClusterEnvironment.ceph("ceph", ["osd", "pool", "rm", poolName, poolName, "--yes-i-really-really-mean-it"]) }
            try await Self.waitForEpoch(objecter, atLeast: try Self.cliEpoch())
            let poolID = try await objecter.poolID(named: poolName)

            _ = try ClusterEnvironment.ceph("ceph", ["osd", "out", "2"])
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "in", "2"])
            // An upmap on the new pool's PG 0: move its first OSD to one outside its up set.
            try await Self.waitForEpoch(objecter, atLeast: try Self.cliEpoch())
            let map = await objecter.osdmap
            let mapper = CRUSHMapper(map: map.crush)
            let pg0 = try #require(map.mapping(PlacementGroupID(pool: poolID, seed: 0), mapper: mapper))
            let from = try #require(pg0.up.first)
            let to = try #require((0..<3).map(Int32.init).first { !pg0.up.contains($0) })
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "pg-upmap-items", "\(poolID).0", "\(from)", "\(to)"])
            defer { _ = try? ClusterEnvironment.ceph("ceph", ["osd", "rm-pg-upmap-items", "\(poolID).0"]) }

            let finalEpoch = try await Self.epochWithUpmap("\(poolID).0")
            try await Self.waitForEpoch(objecter, atLeast: finalEpoch)
            let ours = await objecter.osdmap
            #expect(ours.epoch > startEpoch)

            // A fresh full map of the same epoch, as Ceph's own tool fetches it.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("osdmap-\(UInt32.random(in: 0...UInt32.max))")
            defer { try? FileManager.default.removeItem(at: file) }
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "getmap", "\(ours.epoch)", "-o", file.path])
            let fresh = try OSDMap(decoding: ByteBuffer(bytes: try Data(contentsOf: file)))
            #expect(fresh.epoch == ours.epoch)
            #expect(Set(fresh.pools.keys) == Set(ours.pools.keys))
            #expect(fresh.osdState == ours.osdState && fresh.osdWeight == ours.osdWeight)
            #expect(ours.pgUpmapItems[PlacementGroupID(pool: poolID, seed: 0)] != nil)
            let freshMapper = CRUSHMapper(map: fresh.crush)
            let ourMapper = CRUSHMapper(map: ours.crush)
            var compared = 0
            for (id, pool) in fresh.pools {
                for seed in 0..<pool.pgNum {
                    let pg = PlacementGroupID(pool: id, seed: seed)
                    let a = fresh.mapping(pg, mapper: freshMapper)
                    let b = ours.mapping(pg, mapper: ourMapper)
                    #expect(a == b, "\(pg): fresh \(String(describing: a)) ours \(String(describing: b))")
                    compared += 1
                }
            }
            #expect(compared >= 16 + 32)
            // The live Pacific map decodes as osdmaptool reads it: every PG line equal.
            let theirs = try ClusterEnvironment.runOffline(["osdmaptool", file.path, "--test-map-pgs-dump-all"])
            let ourDump = try ClusterEnvironment.runOffline([ClusterEnvironment.rbdctl, "osdmap", "test-map-pgs", "-i", file.path, "--all"])
            #expect(theirs.status == 0 && ourDump.status == 0)
            let pgLines = { (data: Data) in String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.first?.isNumber == true } }
            #expect(!pgLines(theirs.stdout).isEmpty)
            #expect(pgLines(ourDump.stdout) == pgLines(theirs.stdout))

            // And our client addresses for every up OSD equal the fresh map's.
            for osd in 0..<3 { #expect(ours.clientAddress(of: Int32(osd)) == fresh.clientAddress(of: Int32(osd))) }
        }
    }
}
