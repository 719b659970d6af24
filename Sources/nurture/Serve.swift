import ArgumentParser
import Foundation
import NurtureApp
import NurtureRuntime

/// `nurture serve`: the background service.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the scheduler, the delivery workers and the HTTP server until stopped.",
        discussion: """
        SIGTERM or SIGINT: stop taking work, finish the sends in flight, exit 0.
        SIGHUP (or `nurture reload`): reload Workflows/ and Templates/, refusing an invalid set.

        Examples:
          nurture serve --config nurture.yaml
          nurture serve --config nurture.yaml --log-level debug
          NURTURE_DATABASE=postgres://nurture@db/nurture nurture serve
        """
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let runtime = try options.runtime(sending: true)
        do {
            try await runtime.serve()
        } catch let error as RuntimeError {
            printError("\(error)")
            throw ExitCode(78)
        }
    }
}

/// `nurture run`: everything due now, once.
struct RunOnce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Process everything due now (leads, then emails) and exit — for cron, or to see the engine work.",
        discussion: """
        Examples:
          nurture run --config nurture.yaml
          */5 * * * * cd /srv/nurture && nurture run --log-level warning   (crontab)
        """
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await options.withRuntime(sending: true) { runtime in try await runOnce(runtime) }
    }

    func runOnce(_ runtime: Runtime) async throws {
        let (leads, tally) = try await runtime.runOnce()
        let counts = try await runtime.store.counts(now: Date())
        print("processed \(leads) due lead\(leads == 1 ? "" : "s"); sent \(tally.sent), retrying \(tally.retried), failed \(tally.failed), skipped \(tally.skipped)")
        print("database: \(counts.leads) leads, \(counts.sentSends) emails sent, \(counts.queuedSends) queued, \(counts.failedSends) failed")
        if let next = try await runtime.store.nextWake() { print("next due: \(next)") }
    }
}

/// `nurture reload`: SIGHUP to the running service.
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running `nurture serve` to reload its workflow and template files.",
        discussion: """
        Examples:
          nurture reload --config nurture.yaml        (signals the process in pid_file)
          kill -HUP $(cat nurture.pid)                (the same by hand)
        """
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        let configuration = try options.configuration()
        guard let pidFile = configuration.pidFile else {
            throw ValidationError("set pid_file in the configuration so that `nurture reload` can find the service (or send it SIGHUP)")
        }
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ValidationError("no running service: cannot read \(pidFile)")
        }
        guard kill(pid, SIGHUP) == 0 else { throw ValidationError("cannot signal process \(pid): \(String(cString: strerror(errno)))") }
        print("asked process \(pid) to reload")
    }
}
