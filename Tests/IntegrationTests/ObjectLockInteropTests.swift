import Foundation
import NIOCore
import RADOSProto
import Testing

/// Advisory object locks against Ceph's `rados lock`: a lock we take is the lock rados
/// shows, conflicts fail with librados' errnos, a lock rados takes is the lock we list,
/// and we can break it.
@Suite(.requiresCluster, .requiresTools("rados"), .serialized)
struct ObjectLockInteropTests {
    static func rados(_ namespace: String, _ arguments: [String]) throws -> [String: Any] {
        let output = try ClusterEnvironment.ceph("rados", ["-p", "rbd", "-N", namespace] + arguments + ["--format", "json"])
        return try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any], "rados \(arguments) printed \(String(decoding: output, as: UTF8.self))")
    }

    static func errno(_ body: () async throws -> Void) async -> Int32? {
        do {
            try await body()
            return nil
        } catch let error as RADOSError {
            return error.errno
        } catch {
            return -1
        }
    }

    @Test func ourLocksAreRadosLocksAndTheirsAreOurs() async throws {
        let client = try await RADOSClientTests.client()
        defer { Task { await client.shutdown() } }
        let namespace = "locks-\(UInt32.random(in: 0...UInt32.max))"
        let io = try await client.ioContext(pool: "rbd", namespace: namespace)
        try await io.create("locked", exclusive: true)
        defer { _ = try? ClusterEnvironment.ceph("rados", ["-p", "rbd", "-N", namespace, "rm", "locked"]) }

        // Ours, as rados sees it.
        try await io.lockExclusive("locked", name: "mylock", cookie: "cookie-1", description: "taken by SwiftRBD")
        let ours = try await io.lockers("locked", name: "mylock")
        #expect(ours.isExclusive && ours.holders.map(\.cookie) == ["cookie-1"] && ours.holders.first?.description == "taken by SwiftRBD")
        let seen = try Self.rados(namespace, ["lock", "info", "locked", "mylock"])
        #expect(seen["type"] as? String == "exclusive", "\(seen)")
        let theirHolders = try #require(seen["lockers"] as? [[String: Any]])
        #expect(theirHolders.count == 1)
        #expect(theirHolders.first?["name"] as? String == ours.holders.first?.client, "\(theirHolders) vs \(ours.holders)")
        #expect(theirHolders.first?["cookie"] as? String == "cookie-1")
        #expect(theirHolders.first?["description"] as? String == "taken by SwiftRBD")
        let listed = try Self.rados(namespace, ["lock", "list", "locked"])
        #expect((listed["locks"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["mylock"], "\(listed)")
        #expect(try await io.locks("locked") == ["mylock"])

        // Conflicts, with librados' errnos; renewal when asked for.
        #expect(await Self.errno { try await io.lockExclusive("locked", name: "mylock", cookie: "cookie-2") } == 16)
        #expect(await Self.errno { try await io.lockExclusive("locked", name: "mylock", cookie: "cookie-1") } == 17)
        #expect(await Self.errno { try await io.lockExclusive("locked", name: "mylock", cookie: "cookie-1", duration: .seconds(60), mayRenew: true) } == nil)
        #expect(try await io.lockers("locked", name: "mylock").holders.first?.expiration != nil, "the renewed hold has a deadline")
        let refused = try ClusterEnvironment.run(["rados", "-c", try #require(ClusterEnvironment.cephConf), "-p", "rbd", "-N", namespace, "lock", "get", "locked", "mylock", "--lock-cookie", "theirs"])
        #expect(refused.status != 0, "rados took a lock we hold exclusively")
        try await io.unlock("locked", name: "mylock", cookie: "cookie-1")
        #expect(try await io.lockers("locked", name: "mylock").holders.isEmpty)
        #expect((try Self.rados(namespace, ["lock", "info", "locked", "mylock"])["lockers"] as? [Any])?.isEmpty == true)
        #expect(await Self.errno { try await io.unlock("locked", name: "mylock", cookie: "cookie-1") } == 2)

        // Theirs, as we see it; then broken by us.
        _ = try ClusterEnvironment.ceph("rados", ["-p", "rbd", "-N", namespace, "lock", "get", "locked", "shared-lock", "--lock-type", "shared", "--lock-tag", "t1", "--lock-cookie", "rados-cookie"])
        let theirs = try await io.lockers("locked", name: "shared-lock")
        let theirInfo = try Self.rados(namespace, ["lock", "info", "locked", "shared-lock"])
        let theirLocker = try #require((theirInfo["lockers"] as? [[String: Any]])?.first)
        #expect(!theirs.isExclusive && theirs.tag == "t1")
        #expect(theirs.holders.map(\.cookie) == ["rados-cookie"] && theirs.holders.first?.client == theirLocker["name"] as? String)
        #expect(theirs.holders.first?.address == theirLocker["addr"] as? String, "\(theirs.holders) vs \(theirLocker)")
        #expect(await Self.errno { try await io.lockShared("locked", name: "shared-lock", cookie: "ours", tag: "other") } == 16, "a shared lock under another tag")
        let holder = try #require(theirs.holders.first)
        try await io.breakLock("locked", name: "shared-lock", client: holder.client, cookie: holder.cookie)
        #expect((try Self.rados(namespace, ["lock", "info", "locked", "shared-lock"])["lockers"] as? [Any])?.isEmpty == true)
        #expect(await Self.errno { try await io.breakLock("locked", name: "shared-lock", client: "not-a-client", cookie: "x") } == 22)
    }
}
