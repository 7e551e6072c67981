import Foundation
import Testing
@testable import RADOSProto

extension LiveMapSuite {
    /// Placement from the live map against the monitor's own answers: 1,000 object names,
    /// half in a namespace, each asked as `osd map` (through python3-rados on one session,
    /// so the run takes seconds), and our rbdctl's `osd map` lines against the `ceph` CLI.
    @Suite(.requiresCluster, .requiresPythonRados, .serialized)
    struct LivePlacementTests {
        /// The monitor's `osd map` answer for each (namespace, name), as JSON objects.
        static func monitorAnswers(_ objects: [(String, String)]) throws -> [[String: Any]] {
            let conf = try #require(ClusterEnvironment.cephConf)
            let script = """
                import json, sys, rados
                cluster = rados.Rados(conffile=sys.argv[1])
                cluster.connect()
                for line in sys.stdin:
                    ns, name = json.loads(line)
                    command = {"prefix": "osd map", "pool": "rbd", "object": name, "format": "json"}
                    if ns:
                        command["nspace"] = ns
                    ret, out, status = cluster.mon_command(json.dumps(command), b"")
                    print(out.decode() if ret == 0 else json.dumps({"error": ret, "status": status}))
                cluster.shutdown()
                """
            let input = objects.map { "[\"\($0.0)\", \"\($0.1)\"]" }.joined(separator: "\n") + "\n"
            let result = try ClusterEnvironment.run([ClusterEnvironment.python, "-c", script, conf], input: Data(input.utf8))
            try #require(result.status == 0, "python3-rados failed: \(result.stderr.prefix(300))")
            return String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }

        @Test func thousandNamesMatchTheMonitor() async throws {
            let (monitor, objecter) = try await ObjecterInteropTests.connect()
            defer { Task { await objecter.shutdown(); await monitor.close() } }
            let pool = try await objecter.poolID(named: "rbd")
            let objects = (0..<1000).map { index in (index.isMultiple(of: 2) ? "" : "ns\(index % 7)", "object-\(index)-\(UInt32.random(in: 0...UInt32.max))") }
            var answers = try Self.monitorAnswers(objects)
        try #require(answers.count == objects.count)
        var mismatches = 0
        var compared = 0
        for index in objects.indices {
            let object = objects[index]
            // Compare at the same epoch: catch up when the monitor is ahead, ask again when we are.
            for _ in 0..<5 {
                let theirEpoch = UInt32(answers[index]["epoch"] as? Int ?? 0)
                let ourEpoch = await objecter.osdmap.epoch
                if theirEpoch > ourEpoch {
                    try await Task.sleep(for: .milliseconds(50))
                } else if theirEpoch < ourEpoch, let fresh = try Self.monitorAnswers([object]).first {
                    answers[index] = fresh
                } else {
                    break
                }
            }
            let theirs = answers[index]
            guard let ours = await objecter.objectMapping(pool: pool, namespace: object.0, object: object.1) else {
                mismatches += 1
                continue
            }
            guard theirs["epoch"] as? Int == Int(ours.epoch) else { continue }
            compared += 1
            let same = theirs["raw_pgid"] as? String == ours.rawPG.description
                && theirs["pgid"] as? String == ours.pg.description
                && theirs["up"] as? [Int] == ours.mapping.up.map(Int.init)
                && theirs["up_primary"] as? Int == Int(ours.mapping.upPrimary)
                && theirs["acting"] as? [Int] == ours.mapping.acting.map(Int.init)
                && theirs["acting_primary"] as? Int == Int(ours.mapping.actingPrimary)
            if !same {
                mismatches += 1
                Issue.record("\(object.0)/\(object.1): monitor says \(theirs), we say \(ours.rawPG) \(ours.pg) up \(ours.mapping.up) acting \(ours.mapping.acting)")
            }
        }
        #expect(mismatches == 0)
            // Other tests can move the epoch meanwhile, but nearly every name is compared.
            #expect(compared >= 900, "only \(compared) of 1,000 names were compared")
        }

        @Test(arguments: [("", "text"), ("ns1", "text"), ("", "json"), ("ns-two", "json")])
        func rbdctlOsdMapPrintsWhatCephPrints(namespace: String, format: String) throws {
            try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
            let conf = try #require(ClusterEnvironment.cephConf)
            let name = "osdmap-cli-\(UInt32.random(in: 0...UInt32.max))"
            let positional = namespace.isEmpty ? [] : [namespace]
            let ours = try ClusterEnvironment.run([ClusterEnvironment.rbdctl, "osd", "map", "rbd", name] + positional + ["-c", conf, "--format", format])
            let theirs = try ClusterEnvironment.ceph("ceph", ["osd", "map", "rbd", name] + positional + ["--format", format == "text" ? "plain" : "json"])
            #expect(ours.status == 0, "\(ours.stderr)")
            // Other suites (snapshots) move the epoch between the two runs: compare all but the epoch.
        let trim = { (text: String) in
            text.trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: #"^osdmap e[0-9]+ "#, with: "osdmap e? ", options: .regularExpression)
                .replacingOccurrences(of: #"^\{"epoch":[0-9]+,"#, with: "{\"epoch\":?,", options: .regularExpression)
        }
            #expect(trim(String(decoding: ours.stdout, as: UTF8.self)) == trim(String(decoding: theirs, as: UTF8.self)))
        }
    }
}
