import Foundation
import NIOCore
import Testing
@testable import RADOSProto

extension LiveMapSuite {
    /// Placement from the live map, and following map changes, against Ceph's own CLI.
    @Suite(.requiresCluster, .serialized)
    struct ObjecterMapTests {
        @Test func placementEqualsCephOsdMap() async throws {
            let (monitor, objecter) = try await ObjecterInteropTests.connect()
            defer { Task { await objecter.shutdown(); await monitor.close() } }
            let pool = try await objecter.poolID(named: "rbd")
            for index in 0..<24 {
                let namespace = index.isMultiple(of: 3) ? "ns\(index)" : ""
                let name = "placement-\(index)-\(UInt32.random(in: 0...UInt32.max))"
                let args = ["osd", "map", "rbd", name] + (namespace.isEmpty ? [] : [namespace]) + ["--format", "json"]
                // Compare at the same epoch: catch up when the CLI is ahead, ask again when we are.
                var theirs: [String: Any] = [:]
                var ours: OpTarget?
                for _ in 0..<10 {
                    theirs = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("ceph", args)) as? [String: Any])
                    let theirEpoch = UInt32(theirs["epoch"] as? Int ?? 0)
                    if await objecter.osdmap.epoch < theirEpoch { try await Task.sleep(for: .milliseconds(100)) }
                    guard await objecter.osdmap.epoch == theirEpoch else { continue }
                    ours = await objecter.placement(pool: pool, namespace: namespace, object: name)
                    break
                }
                let placement = try #require(ours, "never saw the CLI's epoch")
                // `ceph osd map` prints the PG as pool.seed (hex) and the raw one as pool.hash.
                #expect(theirs["pgid"] as? String == "\(pool).\(String(placement.pgSeed, radix: 16))")
                #expect(theirs["raw_pgid"] as? String == "\(pool).\(String(placement.objectHash, radix: 16))")
                #expect(theirs["acting_primary"] as? Int == placement.primary.map(Int.init))
                #expect((theirs["acting"] as? [Int]) == placement.acting.map(Int.init))
            }
        }

        @Test func followsANewPoolThroughIncrementalMaps() async throws {
            let (monitor, objecter) = try await ObjecterInteropTests.connect()
            defer { Task { await objecter.shutdown(); await monitor.close() } }
            let startEpoch = await objecter.osdmap.epoch
            let poolName = "objecter-pool-\(UInt16.random(in: 0...UInt16.max))"
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "pool", "create", poolName, "8", "8", "replicated"])
            defer { _ = try? ClusterEnvironment.ceph("ceph", ["osd", "pool", "rm", poolName, poolName, "--yes-i-really-really-mean-it"]) }
            // The monitor pushes the change to our subscription.
            var pool: Int64?
            for _ in 0..<100 where pool == nil {
                pool = try? await objecter.poolID(named: poolName)
                if pool == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let id = try #require(pool, "the new pool never appeared in our map")
            #expect(await objecter.osdmap.epoch > startEpoch)
            let bytes = ByteBuffer(string: "written into a pool created after we connected")
            let reply = try await objecter.execute(pool: id, object: "fresh", ops: [.writeFull(bytes)])
            #expect(reply.reply.result == 0)
            let got = try ClusterEnvironment.ceph("rados", ["-p", poolName, "get", "fresh", "-"])
            #expect(String(decoding: got, as: UTF8.self) == String(buffer: bytes))
        }
    }
}
