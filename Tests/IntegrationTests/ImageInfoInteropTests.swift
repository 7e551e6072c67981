import Foundation
import Testing

/// `rbdctl info` and `rbdctl ls`, read through our own stack, against Ceph's `rbd`.
@Suite(.requiresCluster, .serialized)
struct ImageInfoInteropTests {
    static func rbdctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let conf = try #require(ClusterEnvironment.cephConf)
        let result = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, arguments[0], "-c", conf] + arguments.dropFirst())
        return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
    }

    @Test(arguments: [
        ("plain", ["--size", "1G"], ""),
        ("striped", ["--size", "3G", "--object-size", "1M", "--stripe-unit", "64K", "--stripe-count", "8"], ""),
        ("layering-only", ["--size", "100M", "--image-feature", "layering"], ""),
        ("in-namespace", ["--size", "10M", "--object-size", "64K"], "swiftrbd-ns"),
        ("data-pool", ["--size", "10M", "--data-pool", "swiftrbd-info-data"], ""),
    ])
    func infoEqualsRbdInfo(label: String, options: [String], namespace: String) throws {
        if !namespace.isEmpty { _ = try? ClusterEnvironment.ceph("rbd", ["namespace", "create", "rbd/\(namespace)"]) }
        if let index = options.firstIndex(of: "--data-pool") {
            // `osd pool create` of an existing pool succeeds, so reruns are fine.
            _ = try ClusterEnvironment.ceph("ceph", ["osd", "pool", "create", options[index + 1], "8"])
        }
        let spec = namespace.isEmpty ? "rbd/info-\(label)-\(UInt16.random(in: 0...UInt16.max))" : "rbd/\(namespace)/info-\(label)-\(UInt16.random(in: 0...UInt16.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", spec] + options)
        defer {
            _ = try? ClusterEnvironment.ceph("rbd", ["snap", "purge", "--no-progress", spec])
            _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", spec])
        }
        _ = try ClusterEnvironment.ceph("rbd", ["snap", "create", "--no-progress", spec + "@one"])

        // JSON: every key rbd prints, with the same values.
        let ours = try Self.rbdctl(["info", spec, "--format", "json"])
        #expect(ours.status == 0, "\(ours.stderr)")
        let ourJSON = try #require(try JSONSerialization.jsonObject(with: Data(ours.stdout.utf8)) as? [String: Any])
        let theirJSON = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", spec])) as? [String: Any])
        for (key, value) in theirJSON {
            #expect(ourJSON[key].map { "\($0)" } == "\(value)", "\(label): \(key)")
        }
        // Text: the same lines rbd prints.
        let ourText = try Self.rbdctl(["info", spec]).stdout
        let theirText = String(decoding: try ClusterEnvironment.ceph("rbd", ["info", spec]), as: UTF8.self)
        #expect(ourText == theirText)
    }

    /// `info img@snap` shows the snapshot as rbd does (its own size, and whether it is
    /// protected), and a snapshot that does not exist fails with ENOENT, as in rbd.
    @Test func infoAtASnapshotEqualsRbdInfo() throws {
        let spec = "rbd/info-snap-\(UInt16.random(in: 0...UInt16.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", spec, "--size", "8M", "--image-feature", "layering"])
        defer { ClusterEnvironment.removeImage(spec) }
        _ = try ClusterEnvironment.ceph("rbd", ["snap", "create", "--no-progress", spec + "@one"])
        _ = try ClusterEnvironment.ceph("rbd", ["resize", "--no-progress", "--size", "16M", spec])
        for step in ["unprotected", "protected"] {
            if step == "protected" { _ = try ClusterEnvironment.ceph("rbd", ["snap", "protect", spec + "@one"]) }
            let ourText = try Self.rbdctl(["info", spec + "@one"])
            #expect(ourText.status == 0, "\(ourText.stderr)")
            let theirText = String(decoding: try ClusterEnvironment.ceph("rbd", ["info", spec + "@one"]), as: UTF8.self)
            #expect(ourText.stdout == theirText, "\(step)")
            #expect(theirText.contains("size 8 MiB"), "the snapshot's size, not the head's: \(theirText)")
            let ours = try #require(try JSONSerialization.jsonObject(with: Data(try Self.rbdctl(["info", "--format", "json", spec + "@one"]).stdout.utf8)) as? [String: Any])
            let theirs = try #require(try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", spec + "@one"])) as? [String: Any])
            #expect(Set(ours.keys) == Set(theirs.keys), "\(step)")
            for (key, value) in theirs { #expect(ours[key].map { "\($0)" } == "\(value)", "\(step): \(key)") }
        }
        _ = try ClusterEnvironment.ceph("rbd", ["snap", "unprotect", spec + "@one"])
        let missing = try Self.rbdctl(["info", spec + "@nosuch"])
        let rbdMissing = try ClusterEnvironment.run(["rbd", "-c", try #require(ClusterEnvironment.cephConf), "info", spec + "@nosuch"])
        #expect(missing.status == 2 && rbdMissing.status == 2, "rbdctl exit \(missing.status), rbd exit \(rbdMissing.status)")
        #expect(missing.stdout.isEmpty && missing.stderr.contains("nosuch"), "\(missing.stderr)")
    }

    /// The keys of an `rbd:` name take effect as QEMU's driver applies them: `id=` picks
    /// the user (an unknown one fails, naming it, as `--id` does), `conf=` the file.
    @Test func rbdNameKeysPickTheUserAndTheFile() throws {
        let name = "info-keys-\(UInt16.random(in: 0...UInt16.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "4M", "--image-feature", "layering"])
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        let conf = try #require(ClusterEnvironment.cephConf)
        let nobody = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "info", "rbd:rbd/\(name):id=nobody"])
        #expect(nobody.status != 0 && nobody.stderr.contains("client.nobody"), "id=nobody was not used: exit \(nobody.status) \(nobody.stderr)")
        let admin = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "info", "rbd:rbd/\(name):id=admin:conf=\(conf)"])
        #expect(admin.status == 0 && String(decoding: admin.stdout, as: UTF8.self).hasPrefix("rbd image '\(name)'"), "\(admin.stderr)")
        // conf= names the file even when CEPH_CONF names none.
        let viaConf = try ClusterEnvironment.run(["-u", "CEPH_CONF", ClusterEnvironment.rbdctl, "info", "rbd:rbd/\(name):conf=\(conf)"])
        #expect(viaConf.status == 0, "\(viaConf.stderr)")
        let missingConf = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "info", "rbd:rbd/\(name):conf=/nonexistent/ceph.conf"])
        #expect(missingConf.status != 0 && missingConf.stderr.contains("/nonexistent/ceph.conf"), "\(missingConf.stderr)")
    }

    @Test func listAndMissingImage() throws {
        let name = "ls-\(UInt16.random(in: 0...UInt16.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "1M"])
        defer { _ = try? ClusterEnvironment.ceph("rbd", ["rm", "--no-progress", "rbd/\(name)"]) }
        // Other suites create and remove images meanwhile: compare rbd's listing with
        // ours taken just before and just after it, in a window where ours did not change.
        var ours = "", theirs = "", settled = false
        for _ in 0..<10 where !settled {
            let before = try Self.rbdctl(["ls", "rbd"]).stdout
            theirs = String(decoding: try ClusterEnvironment.ceph("rbd", ["ls", "rbd"]), as: UTF8.self)
            ours = try Self.rbdctl(["ls", "rbd"]).stdout
            settled = before == ours
        }
        #expect(settled, "the pool's images kept changing")
        #expect(ours == theirs)
        #expect(ours.split(separator: "\n").contains(Substring(name)))
        let missing = try Self.rbdctl(["info", "rbd/\(name)-missing"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("\(name)-missing"))
        let malformed = try Self.rbdctl(["info", "rbd:/x"])
        #expect(malformed.status == 22)
    }
}
