import ArgumentParser
import Foundation

/// `rbdctl`: SwiftRBD's command-line tool, shaped after Ceph's `rbd` and `rados`.
@main
struct RBDCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rbdctl",
        abstract: "Manage Ceph RBD images with SwiftRBD (a pure-Swift librbd).",
        version: "0.1.0",
        subcommands: [ParseSpecCommand.self, ConvertCommand.self, ConfigCommand.self, CrushCommand.self, OSDMapCommand.self, RadosCommand.self, StatusCommand.self, MonCommandCommand.self, ImageInfoCommand.self, ImageListCommand.self, OSDCommand.self, CreateCommand.self, ResizeCommand.self, RemoveCommand.self, RenameCommand.self, SnapCommand.self, CloneCommand.self, ChildrenCommand.self, FlattenCommand.self, ImageMetaCommand.self, ImportCommand.self, ExportCommand.self, BenchCommand.self, LockCommand.self, DiffCommand.self, DiskUsageCommand.self, TrashCommand.self, NamespaceCommand.self, PoolCommand.self, CopyCommand.self, DeepCommand.self, FeatureCommand.self, SparsifyCommand.self, EncryptionCommand.self]
    )

    /// Parses with Ceph options moved after the positional arguments
    /// (``CephOptionArguments``), then runs the command.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let unknown = CephOptionArguments.firstUnknown(arguments) {
            FileHandle.standardError.write(Data("rbdctl: unrecognised option '\(unknown)'\n".utf8))
            exit(withError: ExitCode(1))
        }
        let (rest, cephOptions) = CephOptionArguments.split(arguments)
        CephOptionArguments.commandLine = cephOptions
        ErrorReport.verb = ErrorReport.verbPath(rest, root: RBDCtl.self)
        do {
            var command = try parseAsRoot(ResizeCommand.negativeSizeAsOption(SpecOptionArguments.folded(rest)))
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
