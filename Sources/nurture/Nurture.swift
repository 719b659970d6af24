import ArgumentParser

/// `nurture`: the marketing-automation nurturing engine's command-line interface.
@main
struct Nurture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nurture",
        abstract: "Nurture leads through the funnel with email sequences kept as files in git.",
        version: "0.1.0",
        subcommands: [Serve.self, RunOnce.self, Migrate.self, Leads.self, ReportCommand.self, Validate.self, DryRunCommand.self, Preview.self, Send.self, Reload.self]
    )
}
