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

        Lead states are written as JSON or binary (ten times cheaper); every version since \
        the binary one reads both. A database this version creates writes binary; one it \
        migrates keeps writing JSON, which processes of the version before can read: once \
        every process runs this version, --lead-states binary switches them all within 10 \
        seconds. Before going back to an older version, --lead-states json --rewrite turns \
        every state back into JSON (exit 1 if one could not be).

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
    /// it again at most ``LeadStateFormatCache/defaultMaxAge`` after their last reading). Tests
    /// on a database no process serves pass 0.
    @Option(help: .hidden)
    var settleSeconds: Double = Double(LeadStateFormatCache.defaultMaxAge.components.seconds) + 1

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
        let opened: OpenedStore
        do {
            opened = try StoreFactory.open(configuration.storeLocation, migrate: false, logger: options.logger())
        } catch {
            printError("cannot open the database \(configuration.storeLocation): \(error)")
            throw ExitCode(78)
        }
        let store = opened.store
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
            // The format and the counts go through the pool (PostgreSQL's runs for them).
            let states = try? await opened.whileRunning { (try await store.leadStateFormat(), try await store.leadStateVersions()) }
            if let (format, versions) = states {
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
        try await opened.whileRunning { try await setLeadStates(leadStates.format, store: store, configuration: configuration) }
    }

    /// `--lead-states` (and `--rewrite`), with the store's pool running.
    private func setLeadStates(_ format: LeadStateFormat, store: any NurtureStore & SchemaMigrating, configuration: Configuration) async throws {
        do {
            try await store.setLeadStateFormat(format)
            print("lead states written as \(format) from now on (every running process within \(Int(LeadStateFormatCache.defaultMaxAge.components.seconds)) s)")
            guard rewrite else { return }
            // A process that read the old setting just before keeps writing the old way until
            // its reading is too old: rewritten once every process writes the new one.
            if settleSeconds > 0 {
                print("waiting \(Int(settleSeconds)) s for every running process to follow")
                try await Task.sleep(for: .seconds(settleSeconds))
            }
            let rewritten = try await store.rewriteLeadStates(as: format)
            print("rewrote \(rewritten) stored states as \(format)")
            let left = try await store.leadStateVersions().filter { $0.key != format.version }.values.reduce(0, +)
            if left > 0 {
                printError("\(left) states of leads not parked are still not \(format) (written meanwhile by a process that still reads another setting, or by a newer Nurture): run this again")
                throw ExitCode(1)
            }
        } catch let error as CancellationError {
            throw error
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("cannot set the lead state format in \(configuration.storeLocation): \(error)")
            throw ExitCode(78)
        }
    }
}
