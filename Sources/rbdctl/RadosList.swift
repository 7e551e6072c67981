import ArgumentParser
import Foundation
import RADOSProto

/// `rbdctl rados ls`: the objects of a pool, as `rados ls` prints them — one name a
/// line, in PG order; with `--all` (and no `-N`) every namespace, each line prefixed by
/// the namespace and a tab; a locator key, if any, after a tab.
struct RadosList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the objects in a pool (or namespace).", discussion: "Example:\n  rbdctl rados ls -p rbd")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Flag(name: .customLong("all"), help: "List objects in all namespaces.") var all = false
    @Flag(name: .customLong("default"), help: "List objects in the default namespace (overrides --all).") var defaultOnly = false

    func run() async throws {
        var options = self.options
        // As in rados: --all counts only when no namespace was given, and --default wins.
        let wildcard = all && !defaultOnly && options.namespaceName == nil
        if wildcard { options.namespaceName = IOContext.allNamespaces }
        try await options.run("listing", object: "") { io in
            var cursor = ObjectListCursor.start
            var out = ""
            repeat {
                let (entries, next) = try await io.listObjects(from: cursor)
                for entry in entries {
                    if wildcard { out += entry.namespace + "\t" }
                    out += entry.name
                    if !entry.locator.isEmpty { out += "\t" + entry.locator }
                    out += "\n"
                }
                if out.utf8.count > 1 << 16 {
                    FileHandle.standardOutput.write(Data(out.utf8))
                    out = ""
                }
                cursor = next
            } while !cursor.isEnd
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }
}
