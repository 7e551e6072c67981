import Foundation
import NIOCore
import RADOSProto
import Testing

extension LiveMapSuite {
    /// Listing a pool (PGNLS over every PG) against `rados ls`: the same objects in the
    /// same order, per namespace and across namespaces (`--all`), with small pages, and
    /// `rbdctl rados ls` printing exactly what `rados ls` prints. It uses a pool of its
    /// own (creating it changes the map, hence the serialized live-map suite), so that
    /// other tests' objects cannot come and go during a comparison.
    @Suite(.requiresCluster, .serialized)
    struct ListingTests {
        static func rados(_ arguments: [String]) throws -> String {
            String(decoding: try ClusterEnvironment.ceph("rados", arguments), as: UTF8.self)
        }

        static func rbdctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let conf = try #require(ClusterEnvironment.cephConf)
            let result = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "rados", "-c", conf] + arguments)
            return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
        }

        @Test func listingMatchesRadosLs() async throws {
            try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
            let pool = "listing-\(UInt16.random(in: 0...UInt16.max))"
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "pool", "create", pool, "8", "8", "replicated"])
            defer {
                _ = try? ClusterEnvironment.ceph("ceph", ["osd", "pool", "rm", pool, pool, "--yes-i-really-really-mean-it"])
                IncrementalMapTests.waitForActiveClean()
            }
            let client = try await RADOSClientTests.client()
            defer { Task { await client.shutdown() } }
            // Objects in the default namespace and two others, written by rados and by us.
            var defaultIO = try await client.ioContext(pool: pool)
            for index in 0..<30 {
                try await defaultIO.writeFull("ours-\(index)", ByteBuffer(string: "\(index)"))
            }
            for index in 0..<10 {
                _ = try ClusterEnvironment.run(["rados", "-c", try #require(ClusterEnvironment.cephConf), "-p", pool, "create", "theirs-\(index)"])
            }
            defaultIO.namespace = "alpha"
            for index in 0..<12 { try await defaultIO.create("a-\(index)", exclusive: true) }
            _ = try Self.rados(["-p", pool, "-N", "beta", "create", "b-only"])

            let theirs = try Self.rados(["-p", pool, "ls"])
            #expect(theirs.split(separator: "\n").count == 40)
            let plain = try await client.ioContext(pool: pool)
            let ours = try await plain.allObjects()
            #expect(ours.map { $0.name + "\n" }.joined() == theirs)
            #expect(ours.allSatisfy { $0.namespace.isEmpty && $0.locator.isEmpty })

            // Small pages give the same sequence.
            var paged: [String] = []
            var cursor = ObjectListCursor.start
            var requests = 0
            repeat {
                let (entries, next) = try await plain.listObjects(from: cursor, maxEntries: 3)
                #expect(entries.count <= 3)
                paged += entries.map(\.name)
                cursor = next
                requests += 1
            } while !cursor.isEnd
            #expect(paged == ours.map(\.name))
            #expect(requests >= 14)

            let alpha = try await client.ioContext(pool: pool, namespace: "alpha").allObjects()
            #expect(alpha.map { $0.name + "\n" }.joined() == (try Self.rados(["-p", pool, "-N", "alpha", "ls"])))
            #expect(alpha.count == 12 && alpha.allSatisfy { $0.namespace == "alpha" })

            let everything = try await client.ioContext(pool: pool, namespace: IOContext.allNamespaces).allObjects()
            let theirsAll = try Self.rados(["-p", pool, "ls", "--all"])
            #expect(everything.map { "\($0.namespace)\t\($0.name)\n" }.joined() == theirsAll)
            #expect(everything.count == 53)

            // rbdctl prints what rados prints, byte for byte, with the same exit status.
            for arguments in [["ls"], ["ls", "--all"], ["-N", "alpha", "ls"], ["ls", "-N", "beta", "--all"], ["ls", "--all", "--default"]] {
                let mine = try Self.rbdctl(["-p", pool] + arguments)
                let cephs = try ClusterEnvironment.run(["rados", "-c", try #require(ClusterEnvironment.cephConf), "-p", pool] + arguments)
                #expect(mine.status == cephs.status, "\(arguments)")
                #expect(mine.stdout == String(decoding: cephs.stdout, as: UTF8.self), "\(arguments)")
            }
            let missing = try Self.rbdctl(["-p", "no-such-pool-\(pool)", "ls"])
            #expect(missing.status == 1)
            #expect(missing.stderr == "error opening pool no-such-pool-\(pool): (2) No such file or directory\n")

            // An empty namespace lists nothing.
            #expect(try await client.ioContext(pool: pool, namespace: "empty").allObjects().isEmpty)
        }
    }
}
