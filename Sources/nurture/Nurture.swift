import ArgumentParser

/// `nurture`: the marketing-automation nurturing engine's command-line interface.
@main
struct Nurture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nurture",
        abstract: "Nurture leads through the funnel with email sequences kept as files in git.",
        discussion: """
            Examples:
              nurture validate                          (check Workflows/ and Templates/)
              nurture leads import leads.csv --config nurture.yaml
              nurture serve --config nurture.yaml       (the service, until SIGTERM)
              nurture dry-run --leads samples/leads.csv --what-if 'clicked welcome +2d'
              nurture report --since 2026-11-01 --format json
              nurture leads list --stage mql --min-score 60 --format csv
              nurture --generate-completion-script bash > /etc/bash_completion.d/nurture

            Every command has --help. Reference: docs/ in the repository.
            """,
        version: "0.1.0",
        subcommands: [Serve.self, RunOnce.self, Migrate.self, Leads.self, ReportCommand.self, Validate.self, DryRunCommand.self, Preview.self, Send.self, Reload.self, DKIMCommand.self, WebhooksCommand.self, EventsCommand.self]
    )
}
