import Foundation
import Testing

/// `rbdctl lock ls|add|rm` beside `rbd lock`: the same listing (text and JSON) of the
/// same locks whoever took them, the same exit status for conflicts and missing locks,
/// and locks one tool takes the other breaks.
@Suite(.requiresCluster, .requiresTools("rbd"), .serialized)
struct RbdctlLockTests {
    static func rbdctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let result = try ClusterEnvironment.run([ClusterEnvironment.rbdctl] + arguments + ["-c", try #require(ClusterEnvironment.cephConf)])
        return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
    }

    static func rbd(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let result = try ClusterEnvironment.run(["rbd", "-c", try #require(ClusterEnvironment.cephConf)] + arguments)
        return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
    }

    /// Both tools' listings of `spec`, which must be equal (text, and JSON as values).
    static func expectSameListing(_ spec: String, _ when: String) throws -> [[String: String]] {
        let ours = try rbdctl(["lock", "ls", spec]), theirs = try rbd(["lock", "ls", spec])
        #expect(ours.status == 0 && ours.stdout == theirs.stdout, "\(when): rbdctl printed\n\(ours.stdout)\(ours.stderr)rbd printed\n\(theirs.stdout)")
        let ourJSON = try JSONSerialization.jsonObject(with: Data(try rbdctl(["lock", "ls", "--format", "json", spec]).stdout.utf8)) as? [[String: String]]
        let theirJSON = try JSONSerialization.jsonObject(with: Data(try rbd(["lock", "ls", "--format", "json", spec]).stdout.utf8)) as? [[String: String]]
        #expect(ourJSON != nil && ourJSON == theirJSON, "\(when): \(String(describing: ourJSON)) vs \(String(describing: theirJSON))")
        return theirJSON ?? []
    }

    @Test func locksListTakeAndBreakAsRbdDoes() throws {
        let spec = "rbd/locks-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", spec, "--size", "4M", "--image-feature", "layering"])
        defer { ClusterEnvironment.removeImage(spec) }
        #expect(try Self.expectSameListing(spec, "no locks").isEmpty)

        // Exclusive, taken by us: rbd lists it as we do, and neither tool can take it again.
        #expect(try Self.rbdctl(["lock", "add", spec, "ours"]).status == 0)
        let exclusive = try Self.expectSameListing(spec, "our exclusive lock")
        #expect(exclusive.map { $0["id"] } == ["ours"])
        let again = try Self.rbdctl(["lock", "add", spec, "ours"]), rbdAgain = try Self.rbd(["lock", "add", spec, "ours"])
        #expect(again.status == rbdAgain.status && again.status == 16, "rbdctl \(again.status), rbd \(rbdAgain.status)")
        #expect(again.stderr == "rbdctl: lock is already held by someone else\n", "\(again.stderr)")
        // rbd breaks our lock.
        let locker = try #require(exclusive.first?["locker"])
        #expect(try Self.rbd(["lock", "rm", spec, "ours", locker]).status == 0)
        #expect(try Self.expectSameListing(spec, "after rbd broke our lock").isEmpty)

        // Shared under one tag, one holder each; another tag is refused by both tools.
        #expect(try Self.rbd(["lock", "add", "--shared", "t1", spec, "theirs"]).status == 0)
        #expect(try Self.rbdctl(["lock", "add", "--shared", "t1", spec, "ours"]).status == 0)
        let shared = try Self.expectSameListing(spec, "two shared locks")
        #expect(Set(shared.compactMap { $0["id"] }) == ["theirs", "ours"])
        let otherTag = try Self.rbdctl(["lock", "add", "--shared", "t2", spec, "third"]), rbdOtherTag = try Self.rbd(["lock", "add", "--shared", "t2", spec, "third"])
        #expect(otherTag.status == rbdOtherTag.status && otherTag.stderr.contains("with a different tag"), "rbdctl \(otherTag.status) \(otherTag.stderr), rbd \(rbdOtherTag.status)")

        // We break both; a lock that is not there fails with ENOENT, as in rbd.
        for lock in shared {
            #expect(try Self.rbdctl(["lock", "rm", spec, lock["id"] ?? "", lock["locker"] ?? ""]).status == 0)
        }
        #expect(try Self.expectSameListing(spec, "after we broke both").isEmpty)
        let missing = try Self.rbdctl(["lock", "rm", spec, "ours", "client.1"]), rbdMissing = try Self.rbd(["lock", "rm", spec, "ours", "client.1"])
        #expect(missing.status == rbdMissing.status && missing.status == 2, "rbdctl \(missing.status), rbd \(rbdMissing.status)")
        #expect(try Self.rbdctl(["lock", "add", spec]).status == 22, "no lock id")
    }
}
