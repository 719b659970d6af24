import ArgumentParser
import Foundation
import NurtureCore
import NurtureApp
import NurtureRuntime

/// `nurture migrate`: bring the database schema up to date, as its own deploy step.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations this version has and the database lacks.",
        discussion: """
        Also done at the start of every command that opens the database, so this is for deploy \
        pipelines that want the schema change as its own step. Safe when several processes \
        start together. --check lists what is pending and exits 1 if anything is.

        Lead states are written as JSON or binary (several times cheaper); every version \
        since the binary one reads both. A new database writes binary, and so does a SQLite \
        file once migrated. A PostgreSQL database that had leads keeps writing JSON, which the \
        processes not upgraded yet can read: once every process runs this version, \
        --lead-states binary switches them all within 10 seconds. Before going back to an \
        older version, --lead-states json --rewrite turns every state back into JSON.

        Examples:
          nurture migrate --check --config nurture.yaml   (exit 1 if one is pending)
          nurture migrate --config nurture.yaml
          nurture migrate --lead-states binary            (after a rolling upgrade)
          nurture migrate --lead-states json --rewrite    (before a downgrade)
        """
    )

    @Flag(help: "Only list pending migrations (exit 1 when there are some).")
    var check = false

    @Option(help: "Write lead states as json or binary from now on (every process, within 10 s).")
    var leadStates: LeadStateFormatArgument?

    @Flag(help: "With --lead-states: also rewrite every stored state in that format, after waiting 11 s for every running process to follow the setting.")
    var rewrite = false

    /// How long --rewrite waits for the running processes to read the new setting (they read
    /// it again at most 10 s after their last reading). Tests on a database no process serves pass 0.
    @Option(help: .hidden)
    var settleSeconds: Double = 11

    /// `--lead-states`'s values.
    enum LeadStateFormatArgument: String, ExpressibleByArgument, CaseIterable {
        case json, binary

        var format: LeadStateFormat {
            switch self {
            case .json: .json
            case .binary: .binary
            }
        }
    }

    func validate() throws {
        if rewrite && leadStates == nil { throw ValidationError("--rewrite goes with --lead-states json|binary") }
        if check && leadStates != nil { throw ValidationError("--check only reads: leave out --lead-states") }
    }

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.configuration()
        let store: any NurtureStore & SchemaMigrating
        do {
            store = try StoreFactory.open(configuration.storeLocation, migrate: false, logger: options.logger()).store
        } catch {
            printError("cannot open the database \(configuration.storeLocation): \(error)")
            throw ExitCode(78)
        }
        if check {
            let pending: [String]
            do {
                pending = try await store.pendingMigrations()
            } catch {
                printError("cannot read the database \(configuration.storeLocation): \(error)")
                throw ExitCode(78)
            }
            print(pending.isEmpty ? "\(configuration.storeLocation): up to date" : "\(configuration.storeLocation): pending: \(pending.joined(separator: ", "))")
            if !pending.isEmpty { throw ExitCode(1) }
            if let format = try? await store.leadStateFormat(), let versions = try? await store.leadStateVersions() {
                let stored = versions.sorted { $0.key < $1.key }
                    .map { "\($0.value) \(LeadStateFormat(version: $0.key)?.description ?? "version \($0.key)")" }
                print("lead states written as \(format); stored: \(stored.isEmpty ? "none" : stored.joined(separator: ", "))")
            }
            return
        }
        let applied: [String]
        do {
            applied = try await store.migrate()
        } catch {
            printError("cannot migrate the database \(configuration.storeLocation): \(error)")
            throw ExitCode(78)
        }
        print(applied.isEmpty ? "\(configuration.storeLocation): up to date" : "\(configuration.storeLocation): applied \(applied.joined(separator: ", "))")
        guard let leadStates else { return }
        do {
            try await store.setLeadStateFormat(leadStates.format, rewrite: false)
            print("lead states written as \(leadStates.format) from now on (every running process within 10 s)")
            if rewrite {
                // A process that read the old setting just before may write one more state the
                // old way: rewritten only once every process writes the new one.
                if settleSeconds > 0 {
                    print("waiting \(Int(settleSeconds)) s for every running process to follow")
                    try await Task.sleep(for: .seconds(settleSeconds))
                }
                let rewritten = try await store.setLeadStateFormat(leadStates.format, rewrite: true)
                print("rewrote \(rewritten) stored states as \(leadStates.format)")
            }
        } catch let error as CancellationError {
            throw error
        } catch {
            printError("cannot set the lead state format in \(configuration.storeLocation): \(error)")
            throw ExitCode(78)
        }
    }
}
