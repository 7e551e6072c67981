import Foundation
import Testing

/// Values `rbd` refuses before sending anything are refused by `rbdctl` with the same
/// exit status, and our message names the option and the value given (a negative size
/// is a bad value, not a missing one).
@Suite(.requiresCluster, .requiresTools("rbd"))
struct RbdctlArgumentTests {
    @Test(arguments: [
        (["create", "--size", "-5"], "'-5') for option '--size'"),
        (["create", "--size", "abc"], "'abc') for option '--size'"),
        (["resize", "--size", "-1"], "'-1') for option '--size'"),
        (["bench", "--io-type", "write", "--io-size", "abc"], "'abc') for option '--io-size'"),
        (["bench", "--io-type", "write", "--io-size", "0"], "--io-size should be greater than zero"),
        (["bench", "--io-type", "write", "--io-total", "lots"], "'lots') for option '--io-total'"),
        (["create", "--size", "1M", "--order", "40"], "'40') for option '--order'"),
        (["create", "--size", "1M", "--image-feature", "no-such-feature"], "'no-such-feature') for option '--image-feature'"),
    ])
    func badValuesFailAsInRbd(arguments: [String], message: String) throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let spec = "rbd/args-\(UInt32.random(in: 0...UInt32.max))"
        let ours = try ClusterEnvironment.run([ClusterEnvironment.rbdctl] + arguments + ["-c", conf, spec])
        let theirs = try ClusterEnvironment.run(["rbd", "-c", conf] + arguments + [spec])
        #expect(ours.status == theirs.status && ours.status != 0, "\(arguments): rbdctl exit \(ours.status), rbd exit \(theirs.status) (\(theirs.stderr))")
        #expect(ours.stderr.contains(message), "\(arguments): \(ours.stderr)")
        #expect(ours.stderr.split(separator: "\n").count == 1, "one line: \(ours.stderr)")
    }

    /// Ceph options go anywhere on the line, as with `rbd`: before the image name, with
    /// dashes or underscores, `=value` or the value as the next word; and they take
    /// effect (a bad value placed first is refused, naming it).
    @Test func cephOptionsAnywhere() throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "args-anywhere-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "16M", "--image-feature", "layering"])
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        let bench = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "bench", "--rbd_cache=false", "--io-type", "write", "--io-total", "64K", "-c", conf, "rbd/\(name)"])
        #expect(bench.status == 0 && String(decoding: bench.stdout, as: UTF8.self).contains("ops: 16"), "\(bench.stderr)")
        for form in [["--ms_client_mode", "secure"], ["--ms-client-mode=secure"]] {
            let info = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "info"] + form + ["-c", conf, "rbd/\(name)"])
            #expect(info.status == 0, "\(form): \(info.stderr)")
        }
        let bogus = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "info", "--ms-client-mode", "bogus", "-c", conf, "rbd/\(name)"])
        #expect(bogus.status != 0 && bogus.stderr.contains("bogus"), "the option was not applied: \(bogus.stderr)")
    }

    /// An option Ceph does not have is refused as rbd refuses it ("unrecognised option",
    /// exit 1), and in an `rbd:` name as QEMU's driver refuses it (ENOENT, "invalid conf
    /// option"), checked against both tools; a real option in the name takes effect.
    @Test func unknownCephOptionsAreRefused() throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "args-unknown-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "1M"])
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        let theirs = try ClusterEnvironment.run(["rbd", "-c", conf, "info", "--rbd_no_such_option", "1", "rbd/\(name)"])
        for form in [["--rbd_no_such_option", "1"], ["--rbd-no-such-option=1"]] {
            let ours = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "info"] + form + ["-c", conf, "rbd/\(name)"])
            #expect(ours.status == theirs.status && ours.status == 1, "\(form): \(ours.stderr) / rbd: \(theirs.stderr)")
            #expect(ours.stderr.contains("unrecognised option '--rbd_no_such_option'") || ours.stderr.contains("unrecognised option '--rbd-no-such-option'"), "\(ours.stderr)")
        }
        let qemu = try ClusterEnvironment.run(["qemu-img", "info", "rbd:rbd/\(name):no_such_option=1:conf=\(conf)"])
        #expect(qemu.status != 0 && qemu.stderr.contains("invalid conf option no_such_option"), "\(qemu.stderr)")
        let ours = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "info", "rbd:rbd/\(name):no_such_option=1:conf=\(conf)"])
        #expect(ours.status == 2 && ours.stderr.contains("invalid conf option no_such_option"), "\(ours.stderr)")
        let known = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "info", "rbd:rbd/\(name):rbd_cache=false:conf=\(conf)"])
        #expect(known.status == 0, "\(known.stderr)")
    }

    /// A failure is one line, `rbdctl: <verb>: <what> (<ERRNO>)`, with rbd's exit status.
    @Test func failuresAreOneLineWithTheVerbAndTheErrno() throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let name = "args-errors-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "1M"])
        defer { ClusterEnvironment.removeImage("rbd/\(name)") }
        _ = try ClusterEnvironment.ceph("rbd", ["snap", "create", "--no-progress", "rbd/\(name)@s"])
        let cases: [([String], Int32, String)] = [
            (["snap", "create", "rbd/\(name)@s"], 17, "rbdctl: snap create: snapshot s of image \(name) already exists (EEXIST)\n"),
            (["info", "rbd/\(name)-missing"], 2, "rbdctl: info: error opening image \(name)-missing: no such image in rbd (ENOENT)\n"),
            (["rm", "rbd/\(name)"], 39, "rbdctl: rm: image has snapshots"),
            (["trash", "restore", "rbd/nosuchid"], 2, "rbdctl: trash restore: image nosuchid is not in the trash (ENOENT)\n"),
        ]
        for (arguments, status, text) in cases {
            let result = try ClusterEnvironment.run([ClusterEnvironment.rbdctl] + arguments + ["--conf", conf])
            let theirs = try ClusterEnvironment.run(["rbd", "-c", conf] + arguments)
            #expect(result.status == status && theirs.status == status, "\(arguments): \(result.status) (rbd \(theirs.status)) \(result.stderr)")
            #expect(result.stderr.hasPrefix(text) && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
    }

    /// Layout options as rbd takes them: an object size rounds to the nearest power of
    /// two; one out of range, or a stripe unit that does not divide the object size,
    /// fails as rbd's does (EDOM, EINVAL) and creates nothing.
    @Test func layoutOptionsAsRbdTakesThem() throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        for options in [["--object-size", "3M"], ["--object-size", "6K"], ["--object-size", "3000"], ["--object-size", "64M"],
                        ["--stripe-unit", "3K", "--stripe-count", "2"], ["--stripe-count", "2"]] {
            let stem = "args-layout-\(UInt32.random(in: 0...UInt32.max))"
            defer { for suffix in ["-ours", "-theirs"] { ClusterEnvironment.removeImage("rbd/\(stem)\(suffix)") } }
            let ours = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "create", "--size", "1M"] + options + ["-c", conf, "rbd/\(stem)-ours"])
            let theirs = try ClusterEnvironment.run(["rbd", "-c", conf, "create", "--size", "1M"] + options + ["rbd/\(stem)-theirs"])
            #expect(ours.status == theirs.status, "\(options): rbdctl \(ours.status) \(ours.stderr), rbd \(theirs.status)")
            if theirs.status == 0 {
                let order = { (name: String) throws -> Int? in
                    (try JSONSerialization.jsonObject(with: ClusterEnvironment.ceph("rbd", ["info", "--format", "json", "rbd/\(name)"])) as? [String: Any])?["order"] as? Int
                }
                #expect(try order(stem + "-ours") == order(stem + "-theirs"), "\(options)")
            } else {
                #expect(ours.stderr.split(separator: "\n").count == 1, "\(ours.stderr)")
            }
        }
    }
}
