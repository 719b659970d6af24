import ArgumentParser
import Foundation
import NurtureApp
import NurtureContent
import NurtureCore
import NurtureRuntime

/// `nurture leads …`
struct Leads: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, import, inspect and suppress leads.",
        subcommands: [Import.self, Add.self, List.self, Show.self, Tag.self, Suppress.self, SetStage.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import leads from a CSV file (header row; upsert by email).",
            discussion: """
            Columns: email (required), first_name, last_name, company, job_title, timezone, and any other \
            column as a custom field. Addresses are stored canonical (trimmed, lower-case); rows that \
            repeat an address count once (the last row wins). Bad rows are reported as FILE:line N (the \
            line in the file) and skipped; the rest is written in one transaction. A file whose structure \
            is broken (empty, not UTF-8, a NUL byte, a quote never closed, no email column, two columns of \
            one name) imports nothing and exits 65. The summary accounts for every row read. New leads \
            enter the funnel and their first email is queued; known leads get their fields updated.

            Examples:
              nurture leads import leads.csv --config nurture.yaml
              nurture leads import samples/leads.csv
            """
        )

        @Argument(help: "The CSV file.")
        var file: String

        @OptionGroup var options: ServiceOptions

        func run() async throws {
            let terminal = isatty(STDERR_FILENO) == 1
            let parsed: LeadImporter.Parsed
            do {
                parsed = try LeadImporter.parse(path: file) { rows in
                    if terminal { FileHandle.standardError.write(Data("\rreading \(rows) rows…".utf8)) }
                }
            } catch {
                if terminal { FileHandle.standardError.write(Data("\r".utf8)) }
                printError("\(error)")
                printError("\(file): nothing imported")
                throw ExitCode(65) // EX_DATAERR
            }
            if terminal { FileHandle.standardError.write(Data("\r".utf8)) }
            for problem in parsed.problems { printError("\(file):\(problem)") }
            let total = parsed.leads.count
            let progress = Progress(total: total, enabled: terminal)
            let result = try await options.withRuntime { runtime in
                try await runtime.scheduler.upsert(parsed.leads, now: Date(), progress: { progress.tick() })
            }
            progress.finish()
            print(Self.summary(parsed, created: result.created, updated: result.updated, queued: result.sendsQueued))
        }

        /// Every row read, accounted for: read = imported + bad + repeated.
        static func summary(_ parsed: LeadImporter.Parsed, created: Int, updated: Int, queued: Int) -> String {
            func count(_ n: Int, _ noun: String, _ plural: String = "s") -> String { "\(n) \(noun)\(n == 1 ? "" : plural)" }
            let empty = parsed.emptyRows > 0 ? " (\(count(parsed.emptyRows, "empty row")) ignored)" : ""
            return "read \(count(parsed.rows, "row"))\(empty): imported \(count(parsed.leads.count, "lead")) (\(created) new, \(updated) updated), "
                + "\(count(parsed.problems.count, "bad row")) skipped, \(count(parsed.duplicates, "repeated address", "es"))\(parsed.duplicates > 0 ? " (last row kept)" : ""); "
                + "\(count(queued, "email")) queued"
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add one lead (or update it, by email).",
            discussion: """
            Examples:
              nurture leads add --email ada@example.com --field first_name=Ada \\
                --field 'company=Analytical Engines' --field timezone=Europe/London
              nurture leads add --email ada@example.com --field job_title=CTO
            """
        )

        @Option(help: "The lead's address.")
        var email: String

        @Option(name: .customLong("field"), help: "A field NAME=VALUE (first_name, company, job_title, timezone, any custom field). Repeatable.")
        var fields: [String] = []

        @OptionGroup var options: ServiceOptions

        mutating func validate() throws {
            email = try canonicalAddress(email, option: "--email")
        }

        func run() async throws {
            var values: [String: String] = [:]
            for field in fields {
                guard let eq = field.firstIndex(of: "="), eq != field.startIndex else { throw ValidationError("--field '\(field)' is not NAME=VALUE") }
                values[LeadImporter.normalizeName(String(field[..<eq]))] = String(field[field.index(after: eq)...])
            }
            let zone = values.removeValue(forKey: "timezone") ?? values.removeValue(forKey: "time_zone")
            if let zone, !LeadImporter.validTimeZone(zone) { throw ValidationError("--field timezone=\(zone.prefix(64)): not a time zone (e.g. Europe/Paris)") }
            let email = email
            let result = try await options.withRuntime { runtime in
                try await runtime.scheduler.upsert([Lead(id: "", email: email, fields: values, timeZone: zone)], now: Date())
            }
            print(result.created == 1 ? "added \(email)" : "updated \(email)", result.sendsQueued > 0 ? "(\(result.sendsQueued) email queued)" : "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a lead: fields, scores with their breakdown, stage history, enrollment, sends, events and webhooks.",
            discussion: """
            Examples:
              nurture leads show ada@example.com --config nurture.yaml
              nurture leads show ada@example.com --recent 50
            """
        )

        @Argument(help: "The lead's address.")
        var email: String

        @Option(help: "How many recent sends and events to show.")
        var recent = 10

        @OptionGroup var options: ServiceOptions

        mutating func validate() throws {
            email = try canonicalAddress(email, option: "<email>")
        }

        func run() async throws {
            try await options.withRuntime { runtime in try await show(runtime) }
        }

        func show(_ runtime: Runtime) async throws {
            let found: LeadDetails?
            do {
                found = try await runtime.store.details(.email(email), recent: recent)
            } catch let error as StoreError {
                printError("\(error)")
                throw ExitCode(1)
            }
            guard let details = found else {
                printError("no lead \(email)")
                throw ExitCode(1)
            }
            let webhooks = try await runtime.store.webhooks(leadID: details.state.lead.id, limit: recent)
            print(terminalSafe(LeadReport(details: details, engine: runtime.workflows.engine, now: Date(), webhooks: webhooks).text))
        }
    }

    struct Suppress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Never send marketing email to this address again.",
            discussion: """
            Examples:
              nurture leads suppress ada@example.com --config nurture.yaml
            """
        )

        @Argument(help: "The address.")
        var email: String

        @OptionGroup var options: ServiceOptions

        mutating func validate() throws {
            email = try canonicalAddress(email, option: "<email>")
        }

        func run() async throws {
            try await options.withRuntime { runtime in try await suppress(runtime) }
        }

        func suppress(_ runtime: Runtime) async throws {
            let now = Date()
            let engine = runtime.workflows.engine
            // A lead's suppression, the end of its enrollment and the address on the list are
            // written together; an address with no lead is put on the list alone.
            let update = try await runtime.store.updateLead(.email(email), now: now, recording: nil) { state in
                LeadChange(effects: engine.suppress(.manual, state: &state, now: now), nextWake: nil)
            }
            let listed = update.change?.effects.contains { if case .suppressed = $0 { true } else { false } } ?? false
            if !listed { try await runtime.store.suppress(email: email, reason: .manual, now: now) }
            print("suppressed \(email)")
        }
    }

    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add tags to a lead, or remove them; sequences' when: and if: conditions on tags see them at once.",
            discussion: """
            Examples:
              nurture leads tag ada@example.com webinar-2026 vip --config nurture.yaml
              nurture leads tag ada@example.com --remove trial
            """
        )

        @Argument(help: "The lead's address.")
        var email: String

        @Argument(help: "Tags to add.")
        var tags: [String] = []

        @Option(name: .customLong("remove"), help: "A tag to remove (repeatable).")
        var removed: [String] = []

        @OptionGroup var options: ServiceOptions

        mutating func validate() throws {
            email = try canonicalAddress(email, option: "<email>")
            guard !tags.isEmpty || !removed.isEmpty else { throw ValidationError("give tags to add, or --remove TAG") }
            for tag in tags + removed where tag.isEmpty || tag.count > 100 || tag.contains(where: \.isNewline) {
                throw ValidationError("'\(tag.prefix(100))' is not a tag: one line of at most 100 characters")
            }
        }

        func run() async throws {
            try await options.withRuntime { runtime in
                guard let change = try await runtime.scheduler.tag(.email(email), add: Set(tags), remove: Set(removed), now: Date()) else {
                    printError("no lead \(email)")
                    throw ExitCode(1)
                }
                let done = change.effects.compactMap { effect -> String? in
                    switch effect {
                    case .tagAdded(let tag): "+\(tag)"
                    case .tagRemoved(let tag): "-\(tag)"
                    case .stageChanged(let move): "stage \(move.from) → \(move.to)"
                    case .enrolled(let sequence, _): "enrolled in \(sequence)"
                    default: nil
                    }
                }
                print(terminalSafe(done.isEmpty ? "\(email): no change" : "\(email): \(done.joined(separator: ", "))"))
            }
        }
    }

    struct SetStage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stage", abstract: "Move a lead to a stage by hand (e.g. opportunity, customer).",
            discussion: """
            Examples:
              nurture leads stage ada@example.com opportunity --reason 'deal opened'
              nurture leads stage ada@example.com customer --config nurture.yaml
            """
        )

        @Argument(help: "The lead's address.")
        var email: String

        @Argument(help: "The stage.")
        var stage: String

        @Option(help: "Why (kept in the stage history).")
        var reason = "moved by an operator"

        @OptionGroup var options: ServiceOptions

        mutating func validate() throws {
            email = try canonicalAddress(email, option: "<email>")
        }

        func run() async throws {
            try await options.withRuntime { runtime in try await move(runtime) }
        }

        func move(_ runtime: Runtime) async throws {
            let stages = runtime.workflows.engine.workflow.funnel.stages.map(\.name)
            guard stages.contains(stage) else { throw ValidationError("unknown stage '\(stage)' (stages: \(stages.joined(separator: ", ")))") }
            guard try await runtime.scheduler.move(.email(email), to: stage, reason: reason, now: Date()) != nil else {
                printError("no lead \(email)")
                throw ExitCode(1)
            }
            print("\(email) is now in stage \(stage)")
        }
    }
}

/// The canonical form of an address given on the command line (as imports and the API store
/// it); a bad one is a usage error naming the option.
private func canonicalAddress(_ text: String, option: String) throws -> String {
    do {
        return try EmailAddress.canonical(text)
    } catch {
        throw ValidationError("\(option): \(error)")
    }
}

/// A progress bar on a terminal (stderr), nothing otherwise.
final class Progress: @unchecked Sendable {
    // @unchecked: `done` is only touched from the store's write closure, one call at a time.
    private let total: Int
    private let enabled: Bool
    private var done = 0

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled && total > 0
    }

    func tick() {
        done += 1
        guard enabled, done % 500 == 0 || done == total else { return }
        let width = 30
        let filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
