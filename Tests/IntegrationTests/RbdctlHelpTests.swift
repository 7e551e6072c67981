import Foundation
import Testing

/// Every verb's `--help` shows an example, as the CLI issue asks; the help, the shell
/// completion scripts and the man page come from the same command definitions
/// (ArgumentParser's `--experimental-dump-help`, `--generate-completion-script`).
@Suite struct RbdctlHelpTests {
    /// The visible leaf commands (`snap create`, `trash ls`, …) and their discussions.
    static func leafCommands() throws -> [(path: [String], discussion: String)] {
        try #require(FileManager.default.isExecutableFile(atPath: ClusterEnvironment.rbdctl), "build rbdctl first (swift build)")
        let dump = try ClusterEnvironment.runOffline([ClusterEnvironment.rbdctl, "--experimental-dump-help"])
        let root = try #require((try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any])?["command"] as? [String: Any])
        var leaves: [(path: [String], discussion: String)] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            if subcommands.isEmpty {
                if command["shouldDisplay"] as? Bool ?? true { leaves.append((path, command["discussion"] as? String ?? "")) }
            }
            for sub in subcommands { walk(sub, path + [sub["commandName"] as? String ?? "?"]) }
        }
        walk(root, [])
        return leaves.filter { $0.path != ["help"] }
    }

    @Test func everyVerbsHelpHasAnExample() throws {
        let leaves = try Self.leafCommands()
        #expect(leaves.count > 60, "only \(leaves.count) verbs?")
        for leaf in leaves {
            let shown = leaf.discussion.contains("Example:\n  rbdctl ") || leaf.discussion.contains("Examples:\n  rbdctl ")
            #expect(shown, "rbdctl \(leaf.path.joined(separator: " ")) --help has no example")
        }
        // And --help prints it, exiting 0.
        for path in [["convert"], ["trash", "ls"], ["snap", "limit", "set"], ["deep", "cp"]] {
            let help = try ClusterEnvironment.runOffline([ClusterEnvironment.rbdctl] + path + ["--help"])
            #expect(help.status == 0 && String(decoding: help.stdout, as: UTF8.self).contains("Example"), "\(path)")
        }
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptsKnowTheVerbs(shell: String) throws {
        let script = try ClusterEnvironment.runOffline([ClusterEnvironment.rbdctl, "--generate-completion-script", shell])
        let text = String(decoding: script.stdout, as: UTF8.self)
        #expect(script.status == 0)
        for verb in ["convert", "trash", "namespace", "sparsify"] { #expect(text.contains(verb), "\(shell): \(verb)") }
    }
}
