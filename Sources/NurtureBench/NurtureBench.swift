import ArgumentParser

/// `nurture-bench`: measurements behind docs/PERFORMANCE.md. Run through `scripts/bench`,
/// which builds it in release mode and starts the reference servers.
@main
struct NurtureBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nurture-bench",
        abstract: "Nurture's benchmarks (see scripts/bench).",
        subcommands: [SMTPThroughput.self, SchedulingThroughput.self, RenderThroughput.self, OutboxThroughput.self, ReportLatency.self, StateCodingThroughput.self]
    )
}
