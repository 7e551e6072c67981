import ArgumentParser

/// `rbdctl config …`: configuration as SwiftRBD understands it.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect the Ceph configuration SwiftRBD would use.",
        subcommands: [ConfigShowCommand.self]
    )
}
