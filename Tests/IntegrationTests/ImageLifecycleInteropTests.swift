import Foundation
import Testing

/// Image lifecycle, metadata and snapshots through `rbdctl` (our own stack), checked
/// against Ceph's `rbd` both ways: what we create, resize, rename, snapshot and remove,
/// rbd sees; what rbd does, we see.
@Suite(.requiresCluster, .serialized)
struct ImageLifecycleInteropTests {
    static func rbdctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let conf = try #require(ClusterEnvironment.cephConf)
        var command = [ClusterEnvironment.rbdctl] + arguments
        // Cluster options go after the subcommand path (before the first positional).
        let position = arguments.firstIndex { $0.contains("/") || $0.hasPrefix("rbd:") } ?? arguments.count
        command.insert(contentsOf: ["-c", conf], at: 1 + position)
        let result = try ClusterEnvironment.run(command)
        return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
    }

    /// Runs rbdctl and requires success.
    @discardableResult
    static func ours(_ arguments: [String]) throws -> String {
        let result = try rbdctl(arguments)
        try #require(result.status == 0, "rbdctl \(arguments.joined(separator: " ")): \(result.stderr)")
        return result.stdout
    }

    @discardableResult
    static func rbd(_ arguments: [String]) throws -> String {
        String(decoding: try ClusterEnvironment.ceph("rbd", arguments), as: UTF8.self)
    }

    static func rbdStatus(_ arguments: [String]) throws -> Int32 {
        let conf = try #require(ClusterEnvironment.cephConf)
        return try ClusterEnvironment.run(["rbd", "-c", conf] + arguments).status
    }

    static func rbdInfo(_ spec: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(rbd(["info", "--format", "json", spec]).utf8)) as? [String: Any])
    }

    static func unique(_ label: String) -> String { "life-\(label)-\(UInt32.random(in: 0...UInt32.max))" }

    static func cleanup(_ spec: String) {
        _ = try? rbdStatus(["snap", "purge", "--no-progress", spec])
        _ = try? rbdStatus(["rm", "--no-progress", spec])
    }

    static func randomFile(_ bytes: Int) throws -> URL {
        var generator = SystemRandomNumberGenerator()
        let words = (0..<(bytes + 7) / 8).map { _ in generator.next() }
        let data = words.withUnsafeBytes { Data($0.prefix(bytes)) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-\(UUID().uuidString)")
        try data.write(to: url)
        return url
    }

    static func export(_ spec: String) throws -> Data {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try rbd(["export", "--no-progress", spec, url.path])
        return try Data(contentsOf: url)
    }

    /// The first differing byte, or nil (big buffers are not compared inside #expect).
    static func firstDifference(_ a: Data, _ b: Data) -> Int? {
        if a.count != b.count { return min(a.count, b.count) }
        return zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    }

    /// Starts `rbd watch` on the image (it watches the header while its stdin is open,
    /// printing a line per notification to `output` if given) and waits until the OSD
    /// lists the watch.
    static func startWatcher(_ spec: String, id: String, output: URL? = nil) throws -> (process: Process, stdin: Pipe) {
        let conf = try #require(ClusterEnvironment.cephConf)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["rbd", "-c", conf, "watch", spec]
        let stdin = Pipe()
        process.standardInput = stdin
        if let output {
            try #require(FileManager.default.createFile(atPath: output.path, contents: nil))
            process.standardOutput = try FileHandle(forWritingTo: output)
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        process.standardError = FileHandle.nullDevice
        try process.run()
        var watched = false
        for _ in 0..<50 where !watched {
            let list = try ClusterEnvironment.run(["rados", "-c", conf, "-p", "rbd", "listwatchers", "rbd_header.\(id)"])
            watched = !list.stdout.isEmpty
            if !watched { Thread.sleep(forTimeInterval: 0.2) }
        }
        #expect(watched, "rbd watch did not register a watch on rbd_header.\(id)")
        return (process, stdin)
    }

    static func stop(_ watcher: (process: Process, stdin: Pipe)) throws {
        try watcher.stdin.fileHandleForWriting.write(contentsOf: Data("\n".utf8))
        try watcher.stdin.fileHandleForWriting.close()
        watcher.process.waitUntilExit()
    }

    // MARK: create

    @Test(arguments: [
        ("default", [String](), ""),
        ("layering", ["--image-feature", "layering"], ""),
        ("object-size", ["--object-size", "1M"], ""),
        ("striped", ["--object-size", "1M", "--stripe-unit", "64K", "--stripe-count", "8"], ""),
        ("namespace", ["--image-feature", "layering,exclusive-lock"], "swiftrbd-life-ns"),
    ])
    func createdImagesLookLikeRbds(label: String, options: [String], namespace: String) throws {
        if !namespace.isEmpty { _ = try? Self.rbdStatus(["namespace", "create", "rbd/\(namespace)"]) }
        let pool = namespace.isEmpty ? "rbd" : "rbd/\(namespace)"
        let ourSpec = "\(pool)/\(Self.unique(label))"
        let theirSpec = "\(pool)/\(Self.unique(label + "-rbd"))"
        defer {
            Self.cleanup(ourSpec)
            Self.cleanup(theirSpec)
        }
        try Self.ours(["create", "--size", "100M"] + options + [ourSpec])
        try Self.rbd(["create", "--size", "100M"] + options + [theirSpec])
        let ours = try Self.rbdInfo(ourSpec)
        let theirs = try Self.rbdInfo(theirSpec)
        for key in ["size", "objects", "order", "object_size", "snapshot_count", "format", "features", "op_features", "flags", "stripe_unit", "stripe_count"] {
            #expect(ours[key].map { "\($0)" } == theirs[key].map { "\($0)" }, "\(label): \(key)")
        }
        let id = try #require(ours["id"] as? String)
        #expect(ours["block_name_prefix"] as? String == "rbd_data.\(id)")
        #expect(id.count <= 14 && id.allSatisfy { $0.isHexDigit })
        // The image lists, opens and is usable by rbd.
        #expect(try Self.rbd(["ls", pool]).split(separator: "\n").contains(Substring(ourSpec.split(separator: "/").last ?? "")))
        if (ours["features"] as? [String])?.contains("object-map") == true {
            try Self.rbd(["object-map", "check", "--no-progress", ourSpec])
        }
        try Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "1M", ourSpec])
    }

    @Test func createWithDataPool() throws {
        let dataPool = "swiftrbd-life-data"
        _ = try? ClusterEnvironment.ceph("ceph", ["osd", "pool", "create", dataPool, "8"])
        _ = try? ClusterEnvironment.ceph("ceph", ["osd", "pool", "application", "enable", dataPool, "rbd"])
        let spec = "rbd/\(Self.unique("datapool"))"
        defer { Self.cleanup(spec) }
        try Self.ours(["create", "--size", "8M", "--image-feature", "layering", "--data-pool", dataPool, spec])
        let info = try Self.rbdInfo(spec)
        #expect(info["data_pool"] as? String == dataPool)
        #expect(info["features"] as? [String] == ["layering", "data-pool"])
        let id = try #require(info["id"] as? String)
        let poolID = String(decoding: try ClusterEnvironment.ceph("ceph", ["osd", "pool", "stats", "rbd", "--format", "json"]), as: UTF8.self)
        let rbdPoolID = try #require((try JSONSerialization.jsonObject(with: Data(poolID.utf8)) as? [[String: Any]])?.first?["pool_id"] as? Int)
        #expect(info["block_name_prefix"] as? String == "rbd_data.\(rbdPoolID).\(id)")
        // Data lands in the data pool; removal through us clears it.
        try Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "8M", spec])
        let before = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", dataPool, "ls"]), as: UTF8.self)
        #expect(before.contains("rbd_data.\(rbdPoolID).\(id)."))
        try Self.ours(["rm", spec])
        let after = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", dataPool, "ls"]), as: UTF8.self)
        #expect(!after.contains(id))
    }

    @Test func createRefusals() throws {
        let spec = "rbd/\(Self.unique("refuse"))"
        defer { Self.cleanup(spec) }
        try Self.rbd(["create", "--size", "1M", spec])
        let exists = try Self.rbdctl(["create", "--size", "1M", spec])
        #expect(exists.status == 17)
        #expect(exists.stderr.contains("already exists"))
        let other = "rbd/\(Self.unique("refuse2"))"
        let cases: [([String], Int32, String)] = [
            (["--image-feature", "object-map"], 22, "object map without exclusive lock"),
            (["--stripe-unit", "3000", "--stripe-count", "2"], 22, "stripe unit is not a factor"),
            // As rbd: an --order out of range is a usage error; an object size that
            // rounds out of range reaches create, which refuses it (EDOM).
            (["--order", "26"], 1, "for option '--order' is invalid"),
            (["--object-size", "64M"], 33, "order must be in the range"),
            (["--data-pool", "swiftrbd-no-such-pool"], 2, "data pool"),
        ]
        for (options, status, text) in cases {
            let result = try Self.rbdctl(["create", "--size", "1M"] + options + [other])
            #expect(result.status == status, "\(options)")
            #expect(result.stderr.contains(text), "\(options): \(result.stderr)")
        }
        // Nothing is left behind by a refused create.
        #expect(try Self.rbdStatus(["info", other]) == 2)
        let noNamespace = try Self.rbdctl(["create", "--size", "1M", "rbd/swiftrbd-no-such-ns/x"])
        #expect(noNamespace.status == 2)
        #expect(try Self.rbdctl(["create", spec + "-nosize"]).status == 22)
    }

    // MARK: resize, rename, remove

    @Test func resizeBothWaysWithStripedTrim() throws {
        let spec = "rbd/\(Self.unique("resize"))"
        defer { Self.cleanup(spec) }
        let file = try Self.randomFile(6 << 20)
        defer { try? FileManager.default.removeItem(at: file) }
        let original = try Data(contentsOf: file)
        try Self.rbd(["import", "--no-progress", "--image-feature", "layering", "--object-size", "1M", "--stripe-unit", "64K", "--stripe-count", "4", file.path, spec])

        let refused = try Self.rbdctl(["resize", "--size", "2M", spec])
        #expect(refused.status == 22)
        #expect(refused.stderr.contains("--allow-shrink"))
        #expect(refused.stderr.split(separator: "\n").count == 1, "one line, as rbd: \(refused.stderr)")
        // Shrink to 2.5 MiB (inside a stripe period), then grow back: the tail reads zeros.
        try Self.ours(["resize", "--size", "2560K", "--allow-shrink", spec])
        #expect(try Self.rbdInfo(spec)["size"] as? Int == 2560 << 10)
        try Self.ours(["resize", "--size", "6M", spec])
        let exported = try Self.export(spec)
        var expected = original.prefix(2560 << 10)
        expected.append(Data(count: (6 << 20) - (2560 << 10)))
        #expect(Self.firstDifference(exported, expected) == nil)
        // rbd's resize, seen by us.
        try Self.rbd(["resize", "--no-progress", "--size", "12M", spec])
        let info = try JSONSerialization.jsonObject(with: Data(try Self.ours(["info", "--format", "json", spec]).utf8)) as? [String: Any]
        #expect(info?["size"] as? Int == 12 << 20)
    }

    @Test func renameBothWays() throws {
        let first = Self.unique("rename")
        let second = first + "-b"
        defer {
            Self.cleanup("rbd/\(first)")
            Self.cleanup("rbd/\(second)")
        }
        try Self.ours(["create", "--size", "1M", "--image-feature", "layering", "rbd/\(first)"])
        let id = try #require(try Self.rbdInfo("rbd/\(first)")["id"] as? String)
        try Self.ours(["rename", "rbd/\(first)", "rbd/\(second)"])
        #expect(try Self.rbdInfo("rbd/\(second)")["id"] as? String == id)
        #expect(try Self.rbdStatus(["info", "rbd/\(first)"]) == 2)
        try Self.rbd(["rename", "rbd/\(second)", "rbd/\(first)"])
        #expect(try Self.rbdctl(["info", "rbd/\(first)"]).status == 0)
        // Onto an existing name, and from a missing one.
        try Self.rbd(["create", "--size", "1M", "rbd/\(second)"])
        #expect(try Self.rbdctl(["rename", "rbd/\(first)", "rbd/\(second)"]).status == 17)
        #expect(try Self.rbdctl(["rename", "rbd/\(first)-missing", "rbd/\(first)-x"]).status == 2)
    }

    @Test func removeRefusesSnapshotsAndWatchersThenRemovesEverything() throws {
        let spec = "rbd/\(Self.unique("remove"))"
        defer { Self.cleanup(spec) }
        try Self.ours(["create", "--size", "12M", "--object-size", "1M", spec])
        let id = try #require(try Self.rbdInfo(spec)["id"] as? String)
        try Self.rbd(["bench", "--io-type", "write", "--io-size", "1M", "--io-total", "12M", spec])
        try Self.rbd(["snap", "create", "--no-progress", spec + "@s"])
        let snapshots = try Self.rbdctl(["rm", spec])
        #expect(snapshots.status == 39)
        #expect(snapshots.stderr.contains("image has snapshots"))
        try Self.rbd(["snap", "rm", "--no-progress", spec + "@s"])

        let watcher = try Self.startWatcher(spec, id: id)
        let busy = try Self.rbdctl(["rm", spec])
        #expect(busy.status == 16)
        #expect(busy.stderr.contains("watchers"))
        try Self.stop(watcher)

        try Self.ours(["rm", spec])
        #expect(try Self.rbdStatus(["info", spec]) == 2)
        let left = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "ls"]), as: UTF8.self)
        #expect(!left.contains(id))
        #expect(try Self.rbdctl(["rm", spec]).status == 2)
    }

    @Test func removeCleansUpAnImageWithoutHeader() throws {
        let spec = "rbd/\(Self.unique("headless"))"
        defer { Self.cleanup(spec) }
        try Self.ours(["create", "--size", "1M", "--image-feature", "layering", spec])
        let id = try #require(try Self.rbdInfo(spec)["id"] as? String)
        _ = try ClusterEnvironment.ceph("rados", ["-p", "rbd", "rm", "rbd_header.\(id)"])
        try Self.ours(["rm", spec])
        #expect(!(try Self.rbd(["ls", "rbd"]).split(separator: "\n").contains(Substring(spec.dropFirst(4)))))
        let objects = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "ls"]), as: UTF8.self)
        #expect(!objects.contains("rbd_id.\(spec.dropFirst(4))\n"))
    }

    @Test func removeAfterTheDataPoolIsGone() throws {
        let dataPool = "swiftrbd-life-gone-\(UInt16.random(in: 0...UInt16.max))"
        _ = try ClusterEnvironment.ceph("ceph", ["osd", "pool", "create", dataPool, "8"])
        let spec = "rbd/\(Self.unique("nodatapool"))"
        defer { Self.cleanup(spec) }
        try Self.ours(["create", "--size", "4M", "--image-feature", "layering", "--data-pool", dataPool, spec])
        let id = try #require(try Self.rbdInfo(spec)["id"] as? String)
        _ = try ClusterEnvironment.ceph("ceph", ["osd", "pool", "rm", dataPool, dataPool, "--yes-i-really-really-mean-it"])
        try Self.ours(["rm", spec])
        let objects = String(decoding: try ClusterEnvironment.ceph("rados", ["-p", "rbd", "ls"]), as: UTF8.self)
        #expect(!objects.contains(id))
        #expect(try Self.rbdStatus(["info", spec]) == 2)
    }

    // MARK: metadata

    @Test func imageMetaBothWays() throws {
        let spec = "rbd/\(Self.unique("meta"))"
        defer { Self.cleanup(spec) }
        try Self.ours(["create", "--size", "1M", spec])
        try Self.ours(["image-meta", "set", spec, "conf_rbd_cache", "false"])
        #expect(try Self.rbd(["image-meta", "get", spec, "conf_rbd_cache"]) == "false\n")
        try Self.rbd(["image-meta", "set", spec, "owner", "value with spaces"])
        #expect(try Self.ours(["image-meta", "get", spec, "owner"]) == "value with spaces\n")
        #expect(try Self.ours(["image-meta", "list", spec]) == (try Self.rbd(["image-meta", "list", spec])))
        #expect(try Self.ours(["image-meta", "list", spec, "--format", "json"]) == (try Self.rbd(["image-meta", "list", spec, "--format", "json"])))
        try Self.ours(["image-meta", "remove", spec, "owner"])
        #expect(try Self.rbdStatus(["image-meta", "get", spec, "owner"]) == 2)
        #expect(try Self.rbdctl(["image-meta", "get", spec, "owner"]).status == 2)
        #expect(try Self.rbdctl(["image-meta", "remove", spec, "owner"]).status == 2)
        try Self.ours(["image-meta", "remove", spec, "conf_rbd_cache"])
        #expect(try Self.ours(["image-meta", "list", spec]) == (try Self.rbd(["image-meta", "list", spec])))
    }

    // MARK: snapshots

    @Test func snapshotsBothWays() throws {
        let spec = "rbd/\(Self.unique("snap"))"
        defer { Self.cleanup(spec) }
        try Self.ours(["create", "--size", "4M", "--image-feature", "layering", spec])
        try Self.rbd(["snap", "create", "--no-progress", spec + "@theirs"])
        try Self.ours(["snap", "create", spec + "@ours"])
        // Same listing, text and JSON.
        #expect(try Self.ours(["snap", "ls", spec]) == (try Self.rbd(["snap", "ls", spec])))
        #expect(try Self.ours(["snap", "ls", spec, "--format", "json"]) == (try Self.rbd(["snap", "ls", spec, "--format", "json"])))
        #expect(try Self.rbd(["snap", "ls", spec]).contains(" ours "))

        // Protect: ours → rbd sees it; a protected snapshot resists both removals.
        try Self.ours(["snap", "protect", spec + "@ours"])
        #expect(try Self.rbd(["snap", "ls", spec, "--format", "json"]).contains("\"name\":\"ours\",\"size\":4194304,\"protected\":\"true\""))
        let protected = try Self.rbdctl(["snap", "rm", spec + "@ours"])
        #expect(protected.status == 16)
        #expect(protected.stderr.contains("protected"))
        #expect(try Self.rbdStatus(["snap", "rm", "--no-progress", spec + "@ours"]) == 16)
        #expect(try Self.rbdctl(["snap", "protect", spec + "@ours"]).status == 16)
        try Self.rbd(["snap", "unprotect", spec + "@ours"])
        #expect(try Self.rbdctl(["snap", "unprotect", spec + "@ours"]).status == 22)
        try Self.rbd(["snap", "protect", spec + "@theirs"])
        #expect(try Self.ours(["snap", "ls", spec]) == (try Self.rbd(["snap", "ls", spec])))
        try Self.ours(["snap", "unprotect", spec + "@theirs"])
        #expect(try Self.rbd(["snap", "ls", spec, "--format", "json"]).contains("\"protected\":\"true\"") == false)

        // Rename both ways.
        try Self.ours(["snap", "rename", spec + "@ours", spec + "@ours2"])
        try Self.rbd(["snap", "rename", spec + "@theirs", spec + "@theirs2"])
        #expect(try Self.ours(["snap", "ls", spec]) == (try Self.rbd(["snap", "ls", spec])))
        #expect(try Self.rbdctl(["snap", "rename", spec + "@ours2", spec + "@theirs2"]).status == 17)
        #expect(try Self.rbdctl(["snap", "create", spec + "@ours2"]).status == 17)

        // Remove both ways; missing ones fail with ENOENT.
        try Self.ours(["snap", "rm", spec + "@theirs2"])
        try Self.rbd(["snap", "rm", "--no-progress", spec + "@ours2"])
        #expect(try Self.ours(["snap", "ls", spec]) == "")
        #expect(try Self.rbd(["snap", "ls", spec]) == "")
        #expect(try Self.rbdctl(["snap", "rm", spec + "@ours2"]).status == 2)
        #expect(try Self.rbdctl(["snap", "protect", spec + "@nosuch"]).status == 2)
        #expect(try Self.rbdctl(["snap", "create", spec]).status == 22)
    }

    @Test(arguments: ["1", "2"])
    func unprotectAndRemoveRefusedWhileClonesExist(cloneFormat: String) throws {
        let spec = "rbd/\(Self.unique("parent"))"
        let clone = "rbd/\(Self.unique("clone"))"
        defer {
            Self.cleanup(clone)
            _ = try? Self.rbdStatus(["snap", "unprotect", spec + "@s"])
            Self.cleanup(spec)
        }
        try Self.ours(["create", "--size", "4M", "--image-feature", "layering", spec])
        try Self.ours(["snap", "create", spec + "@s"])
        try Self.ours(["snap", "protect", spec + "@s"])
        try Self.rbd(["clone", "--rbd-default-clone-format", cloneFormat, spec + "@s", clone])
        let busy = try Self.rbdctl(["snap", "unprotect", spec + "@s"])
        #expect(busy.status == 16)
        #expect(busy.stderr.contains("child"))
        // Still protected afterwards (the "unprotecting" state was reverted).
        #expect(try Self.rbd(["snap", "ls", spec, "--format", "json"]).contains("\"protected\":\"true\""))
        #expect(try Self.rbdctl(["rm", spec]).status == 39)
        try Self.rbd(["rm", "--no-progress", clone])
        try Self.ours(["snap", "unprotect", spec + "@s"])
        try Self.ours(["snap", "rm", spec + "@s"])
        try Self.ours(["rm", spec])
        #expect(try Self.rbdStatus(["info", spec]) == 2)
    }

    @Test func purgeKeepsProtectedSnapshots() throws {
        let spec = "rbd/\(Self.unique("purge"))"
        defer {
            _ = try? Self.rbdStatus(["snap", "unprotect", spec + "@b"])
            Self.cleanup(spec)
        }
        try Self.ours(["create", "--size", "4M", "--image-feature", "layering", spec])
        for name in ["a", "b", "c"] { try Self.rbd(["snap", "create", "--no-progress", spec + "@" + name]) }
        try Self.rbd(["snap", "protect", spec + "@b"])
        let purge = try Self.rbdctl(["snap", "purge", spec])
        #expect(purge.status == 0)
        #expect(purge.stderr.contains("'b', which is protected"))
        let left = try JSONSerialization.jsonObject(with: Data(try Self.rbd(["snap", "ls", spec, "--format", "json"]).utf8)) as? [[String: Any]]
        #expect(left?.compactMap { $0["name"] as? String } == ["b"])
        try Self.rbd(["snap", "unprotect", spec + "@b"])
        try Self.ours(["snap", "purge", spec])
        #expect(try Self.rbd(["snap", "ls", spec]) == "")
    }

    /// While another client has the image open (`rbd watch`, which runs librbd's image
    /// watcher), our header-changing operations go through and that client is told of
    /// each one: librbd decodes our notify as a header update.
    @Test func headerChangesWhileOpenElsewhereNotifyTheOtherClient() throws {
        let spec = "rbd/\(Self.unique("inuse"))"
        defer { Self.cleanup(spec) }
        try Self.ours(["create", "--size", "4M", "--image-feature", "layering", spec])
        let id = try #require(try Self.rbdInfo(spec)["id"] as? String)
        try Self.ours(["snap", "create", spec + "@before"])
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-watch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: log) }
        let watcher = try Self.startWatcher(spec, id: id, output: log)
        let operations = [
            ["snap", "create", spec + "@s"], ["snap", "rename", spec + "@before", spec + "@renamed"],
            ["snap", "protect", spec + "@renamed"], ["snap", "unprotect", spec + "@renamed"],
            ["snap", "rollback", spec + "@renamed"], ["snap", "rm", spec + "@renamed"],
            ["resize", "--size", "8M", spec], ["image-meta", "set", spec, "k", "v"], ["image-meta", "remove", spec, "k"],
        ]
        for arguments in operations { try Self.ours(arguments) }
        try Self.stop(watcher)
        let notifications = String(decoding: try Data(contentsOf: log), as: UTF8.self).split(separator: "\n").filter { $0.contains("received notification") }
        #expect(notifications.count == operations.count, "\(notifications)")
        #expect(notifications.allSatisfy { $0.contains("notify_op=HeaderUpdate") }, "\(notifications)")
        #expect(try Self.rbdInfo(spec)["size"] as? Int == 8 << 20)
        let snapshots = try JSONSerialization.jsonObject(with: Data(try Self.rbd(["snap", "ls", spec, "--format", "json"]).utf8)) as? [[String: Any]]
        #expect(snapshots?.compactMap { $0["name"] as? String } == ["s"])
    }

    @Test func protectNeedsLayeringAndSnapshotsKeepTheObjectMap() throws {
        let spec = "rbd/\(Self.unique("features"))"
        defer { Self.cleanup(spec) }
        try Self.ours(["create", "--size", "1M", "--image-feature", "deep-flatten", spec])
        try Self.rbd(["snap", "create", "--no-progress", spec + "@s"])
        #expect(try Self.rbdctl(["snap", "protect", spec + "@s"]).status == 38)
        // With the default features (object-map, fast-diff) the snapshot's object map is
        // made too, as rbd makes it.
        let full = "rbd/\(Self.unique("full"))"
        defer { Self.cleanup(full) }
        try Self.ours(["create", "--size", "1M", full])
        try Self.rbd(["bench", "--io-type", "write", "--io-size", "4K", "--io-total", "16K", full])
        try Self.ours(["snap", "create", full + "@s"])
        #expect(try Self.rbd(["snap", "ls", "--format", "json", full]).contains("\"name\":\"s\""))
        try Self.rbd(["object-map", "check", "--no-progress", full + "@s"])
        let info = try Self.rbd(["info", full + "@s"])
        #expect(!info.contains("invalid"), "\(info)")
    }

    @Test func rollbackRestoresTheSnapshotData() throws {
        let spec = "rbd/\(Self.unique("rollback"))"
        defer { Self.cleanup(spec) }
        let file = try Self.randomFile(8 << 20)
        defer { try? FileManager.default.removeItem(at: file) }
        let original = try Data(contentsOf: file)
        try Self.rbd(["import", "--no-progress", "--image-feature", "layering", "--object-size", "1M", file.path, spec])
        try Self.ours(["snap", "create", spec + "@before"])
        try Self.rbd(["bench", "--io-type", "write", "--io-size", "64K", "--io-total", "4M", "--io-pattern", "rand", spec])
        #expect(Self.firstDifference(try Self.export(spec), original) != nil)
        // Shrink too: the rollback must grow the head back and restore the trimmed objects.
        try Self.ours(["resize", "--size", "3M", "--allow-shrink", spec])
        try Self.ours(["snap", "rollback", spec + "@before"])
        #expect(try Self.rbdInfo(spec)["size"] as? Int == 8 << 20)
        #expect(Self.firstDifference(try Self.export(spec), original) == nil)
        // The snapshot itself still reads the original, and rbd can roll back to our snapshot too.
        #expect(Self.firstDifference(try Self.export(spec + "@before"), original) == nil)
        try Self.rbd(["bench", "--io-type", "write", "--io-size", "1M", "--io-total", "8M", spec])
        try Self.rbd(["snap", "rollback", "--no-progress", spec + "@before"])
        #expect(Self.firstDifference(try Self.export(spec), original) == nil)
        // A snapshot taken by rbd, rolled back by us, after growing the image.
        try Self.rbd(["snap", "create", "--no-progress", spec + "@rbd"])
        try Self.ours(["resize", "--size", "10M", spec])
        try Self.rbd(["bench", "--io-type", "write", "--io-size", "1M", "--io-total", "10M", spec])
        try Self.ours(["snap", "rollback", spec + "@rbd"])
        #expect(try Self.rbdInfo(spec)["size"] as? Int == 8 << 20)
        #expect(Self.firstDifference(try Self.export(spec), original) == nil)
    }
}
