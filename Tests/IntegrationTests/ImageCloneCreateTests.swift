import Foundation
import NIOCore
import RADOSProto
import RBDCore
import Testing

/// Clones we make, checked with Ceph's `rbd` (info, children, export, rm, snap
/// unprotect), clones `rbd clone` makes, checked with ours (children, remove), the
/// clone-format-2 snapshot trash both ways, and clone chains mixing both makers.
/// Every Ceph tool runs off Swift's cooperative pool.
@Suite(.requiresCluster, .requiresTools("rbd"), .serialized)
struct ImageCloneCreateTests {
    @discardableResult
    static func rbd(_ arguments: [String]) async throws -> String {
        let output = try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.ceph("rbd", arguments) }
        return String(decoding: output, as: UTF8.self)
    }

    static func json(_ arguments: [String]) async throws -> Any {
        let output = try await ClusterEnvironment.offThreadPool { try ClusterEnvironment.ceph("rbd", arguments + ["--format", "json"]) }
        return try JSONSerialization.jsonObject(with: output)
    }

    static func export(_ spec: String) async throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-clone-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await rbd(["export", "--no-progress", spec, file])
        return Array(try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    static func cleanUp(_ specs: [String]) async {
        _ = try? await ClusterEnvironment.offThreadPool {
            for spec in specs {
                _ = try? ClusterEnvironment.ceph("rbd", ["snap", "unprotect", spec + "@s"])
                ClusterEnvironment.removeImage(spec)
            }
        }
    }

    /// A 16 MiB image with data in a few objects (written by librbd), snapshot `s`
    /// (protected for clone format 1).
    static func makeParent(_ spec: String, protect: Bool) async throws {
        try await rbd(["create", "--size", "16M", spec])
        try await rbd(["bench", "--io-type", "write", "--io-size", "256K", "--io-total", "3M", "--io-pattern", "rand", spec])
        try await rbd(["snap", "create", "--no-progress", spec + "@s"])
        if protect { try await rbd(["snap", "protect", spec + "@s"]) }
    }

    /// `rbd children` (with `--all`) of `spec`, one line each.
    static func children(_ spec: String) async throws -> [String] {
        try await rbd(["children", "--all", spec]).split(separator: "\n").map(String.init)
    }

    /// What `rbd info --format json` says about a clone's parent and operation features.
    static func parentInfo(_ spec: String) async throws -> [String: String] {
        let info = try #require(try await json(["info", spec]) as? [String: Any])
        let parent = try #require(info["parent"] as? [String: Any], "\(spec) has no parent in rbd info")
        var result: [String: String] = [:]
        for key in ["pool", "pool_namespace", "image", "snapshot", "overlap", "trash"] { result[key] = parent[key].map { "\($0)" } }
        result["op_features"] = "\(info["op_features"] ?? "")"
        result["features"] = "\(info["features"] ?? "")"
        return result
    }

    @Test(arguments: [CloneFormat.v2, .v1]) func weCloneAsRbdCloneDoes(format: CloneFormat) async throws {
        let tag = UInt32.random(in: 0...UInt32.max)
        let base = "rbd/cc-base-\(tag)", ours = "rbd/cc-ours-\(tag)", theirs = "rbd/cc-theirs-\(tag)"
        try await Self.makeParent(base, protect: format == .v1)
        let client = try await RADOSClientTests.client()
        do {
            let io = try await client.ioContext(pool: "rbd")
            try await Image.clone(parentIO: io, parentName: String(base.dropFirst(4)), snapshot: "s", childIO: io, childName: String(ours.dropFirst(4)), format: format)
            try await Self.rbd(["clone", "--rbd-default-clone-format", format.rawValue, base + "@s", theirs])

            // rbd sees our clone as it sees its own.
            let mine = try await Self.parentInfo(ours), its = try await Self.parentInfo(theirs)
            #expect(mine == its, "rbd info of our clone \(mine) vs rbd's \(its)")
            #expect(mine["overlap"] == String(16 << 20))
            #expect(mine["image"] == String(base.dropFirst(4)) && mine["snapshot"] == "s")
            #expect(try await Self.children(base + "@s") == [ours, theirs])
            #expect(try await Self.export(ours) == Self.export(base + "@s"), "our unwritten clone exports as the parent snapshot")
            let parent = try await Image.open(io, name: String(base.dropFirst(4)), readOnly: true)
            let listed = try await parent.children(ofSnapshot: "s").map(\.imageName)
            try await parent.close()
            #expect(listed == [String(ours.dropFirst(4)), String(theirs.dropFirst(4))])

            // rbd rm detaches our clone; with both gone, a format 1 parent can be unprotected.
            try await Self.rbd(["rm", "--no-progress", ours])
            #expect(try await Self.children(base + "@s") == [theirs])
            try await Self.rbd(["rm", "--no-progress", theirs])
            #expect(try await Self.children(base + "@s").isEmpty)
            if format == .v1 { try await Self.rbd(["snap", "unprotect", base + "@s"]) }
        } catch {
            await client.shutdown()
            await Self.cleanUp([ours, theirs, base])
            throw error
        }
        await client.shutdown()
        await Self.cleanUp([ours, theirs, base])
    }

    @Test func cloneRefusesWhatLibrbdRefuses() async throws {
        let tag = UInt32.random(in: 0...UInt32.max)
        let base = "rbd/cc-refuse-\(tag)", child = "cc-refused-\(tag)"
        try await Self.makeParent(base, protect: false)
        let client = try await RADOSClientTests.client()
        let io = try await client.ioContext(pool: "rbd")
        let name = String(base.dropFirst(4))
        let unprotected = await ClusterEnvironment.refusal("a format 1 clone of an unprotected snapshot") {
            try await Image.clone(parentIO: io, parentName: name, snapshot: "s", childIO: io, childName: child, format: .v1)
        }
        #expect(unprotected?.errno == 22 && unprotected?.message.contains("must be protected") == true, "\(String(describing: unprotected))")
        let missing = await ClusterEnvironment.refusal("a clone of a missing snapshot") {
            try await Image.clone(parentIO: io, parentName: name, snapshot: "nope", childIO: io, childName: child, format: .v2)
        }
        #expect(missing?.errno == 2)
        let taken = await ClusterEnvironment.refusal("a clone onto an existing name") {
            try await Image.clone(parentIO: io, parentName: name, snapshot: "s", childIO: io, childName: name, format: .v2)
        }
        #expect(taken?.errno == 17)
        #expect(try await Self.children(base + "@s").isEmpty, "a refused clone leaves no child behind")
        await client.shutdown()
        await Self.cleanUp([base])
    }

    @Test(arguments: [CloneFormat.v2, .v1]) func weListAndDetachRbdClones(format: CloneFormat) async throws {
        let tag = UInt32.random(in: 0...UInt32.max)
        let base = "rbd/cl-base-\(tag)", first = "rbd/cl-a-\(tag)", second = "rbd/cl-b-\(tag)"
        try await Self.makeParent(base, protect: format == .v1)
        for child in [first, second] { try await Self.rbd(["clone", "--rbd-default-clone-format", format.rawValue, base + "@s", child]) }
        let client = try await RADOSClientTests.client()
        do {
            let io = try await client.ioContext(pool: "rbd")
            let parent = try await Image.open(io, name: String(base.dropFirst(4)), readOnly: true)
            let listed = try await parent.children(ofSnapshot: "s")
            let all = try await parent.children()
            try await parent.close()
            #expect(listed.map(\.imageName) == [String(first.dropFirst(4)), String(second.dropFirst(4))])
            #expect(listed.allSatisfy { $0.poolName == "rbd" && $0.poolNamespace.isEmpty && !$0.isTrashed && !$0.imageID.isEmpty })
            #expect(all == listed)

            try await Image.remove(io, name: String(first.dropFirst(4)))
            #expect(try await Self.children(base + "@s") == [second])
            try await Image.remove(io, name: String(second.dropFirst(4)))
            #expect(try await Self.children(base + "@s").isEmpty)
            if format == .v1 { try await Self.rbd(["snap", "unprotect", base + "@s"]) }
        } catch {
            await client.shutdown()
            await Self.cleanUp([first, second, base])
            throw error
        }
        await client.shutdown()
        await Self.cleanUp([first, second, base])
    }

    /// `rbd snap ls --all` of `spec` as (name, namespace type, original name).
    static func allSnapshots(_ spec: String) async throws -> [(String, String, String?)] {
        let list = try #require(try await json(["snap", "ls", "--all", spec]) as? [[String: Any]])
        return list.map { item in
            let namespace = item["namespace"] as? [String: Any]
            return ("\(item["name"] ?? "")", "\(namespace?["type"] ?? "")", namespace?["original_name"] as? String)
        }
    }

    @Test(arguments: ["us", "rbd"]) func removingASnapshotWithAV2CloneTrashesItUntilTheCloneGoes(childRemovedBy: String) async throws {
        let tag = UInt32.random(in: 0...UInt32.max)
        let base = "rbd/ct-base-\(tag)", child = "rbd/ct-child-\(tag)"
        try await Self.makeParent(base, protect: false)
        try await Self.rbd(["clone", "--rbd-default-clone-format", "2", base + "@s", child])
        let expected = try await Self.export(base + "@s")
        let client = try await RADOSClientTests.client()
        do {
            let io = try await client.ioContext(pool: "rbd")
            let parent = try await Image.open(io, name: String(base.dropFirst(4)))
            try await parent.removeSnapshot(named: "s")
            try await parent.close()
            let trashed = try await Self.allSnapshots(base)
            #expect(trashed.count == 1 && trashed.first?.1 == "trash" && trashed.first?.2 == "s", "\(trashed)")
            #expect(try await Self.rbd(["snap", "ls", base]).isEmpty)

            // The clone still reads its parent's data, through us and through librbd.
            let clone = try await Image.open(io, name: String(child.dropFirst(4)), readOnly: true)
            let ours = try await clone.read(offset: 0, length: clone.size)
            try await clone.close()
            #expect(Array(ours.readableBytesView) == expected)
            #expect(try await Self.export(child) == expected)

            // The last clone going takes the trashed snapshot with it.
            if childRemovedBy == "us" {
                try await Image.remove(io, name: String(child.dropFirst(4)))
            } else {
                try await Self.rbd(["rm", "--no-progress", child])
            }
            #expect(try await Self.allSnapshots(base).isEmpty)
            let info = try #require(try await Self.json(["info", base]) as? [String: Any])
            #expect((info["op_features"] as? [String])?.isEmpty == true, "\(String(describing: info["op_features"]))")
        } catch {
            await client.shutdown()
            await Self.cleanUp([child, base])
            throw error
        }
        await client.shutdown()
        await Self.cleanUp([child, base])
    }

    @Test func ourClonesOfRbdClonesReadThroughTheChain() async throws {
        let tag = UInt32.random(in: 0...UInt32.max)
        let base = "rbd/cx-base-\(tag)", middle = "rbd/cx-mid-\(tag)", second = "rbd/cx-two-\(tag)", third = "rbd/cx-three-\(tag)"
        try await Self.makeParent(base, protect: false)
        try await Self.rbd(["clone", "--rbd-default-clone-format", "2", base + "@s", middle])
        try await Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "512K", "--io-pattern", "rand", middle])
        try await Self.rbd(["snap", "create", "--no-progress", middle + "@s"])
        let client = try await RADOSClientTests.client()
        do {
            let io = try await client.ioContext(pool: "rbd")
            // Depth 2: our clone of librbd's clone.
            try await Image.clone(parentIO: io, parentName: String(middle.dropFirst(4)), snapshot: "s", childIO: io, childName: String(second.dropFirst(4)), format: .v2)
            // Depth 3: librbd snapshots our clone, we clone that.
            try await Self.rbd(["snap", "create", "--no-progress", second + "@s"])
            try await Image.clone(parentIO: io, parentName: String(second.dropFirst(4)), snapshot: "s", childIO: io, childName: String(third.dropFirst(4)), format: .v2)
            #expect(try await Self.children(second + "@s") == [third])
            for spec in [second, third] {
                let image = try await Image.open(io, name: String(spec.dropFirst(4)), readOnly: true)
                let ours = try await image.read(offset: 0, length: image.size)
                try await image.close()
                let theirs = try await Self.export(spec)
                #expect(Array(ours.readableBytesView) == theirs, "\(spec)")
                #expect(theirs == (try await Self.export(middle + "@s")), "\(spec) exports as the snapshot at the chain's top")
            }
            try await Image.remove(io, name: String(third.dropFirst(4)))
            #expect(try await Self.children(second + "@s").isEmpty)
        } catch {
            await client.shutdown()
            await Self.cleanUp([third, second, middle, base])
            throw error
        }
        await client.shutdown()
        await Self.cleanUp([third, second, middle, base])
    }
}
