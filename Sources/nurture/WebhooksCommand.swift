import ArgumentParser
import Foundation
import NurtureContent
import NurtureCore
import NurtureRuntime

/// `nurture webhooks`: the outbound webhook outbox — list, queue dead ones again, make a secret.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "See the outbound webhooks, queue dead ones again, make a signing secret.",
        subcommands: [List.self, Retry.self, Secret.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List outbound webhooks, newest first: delivered, queued (with their last error) or dead.",
            discussion: """
            Examples:
              nurture webhooks list --status dead --config nurture.yaml
              nurture webhooks list --limit 100 --format json
            """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @Option(help: "Only this status: queued, sending, delivered or dead.")
        var status: String?

        @Option(help: "How many to list.")
        var limit = 50

        @Option(help: "text or json.")
        var format: Format = .text

        @OptionGroup var options: ServiceOptions

        func validate() throws {
            if let status, WebhookStatus(rawValue: status) == nil {
                throw ValidationError("--status must be one of \(WebhookStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() async throws {
            try await options.withRuntime { runtime in
                let records = try await runtime.store.webhooks(status: status.flatMap(WebhookStatus.init(rawValue:)), limit: limit)
                switch format {
                case .json:
                    try printJSON(records)
                case .text:
                    if records.isEmpty { print(status.map { "no \($0) webhooks" } ?? "no webhooks") }
                    for record in records { print(terminalSafe("#\(record.rowID)  lead \(record.leadID)  " + LeadReport.line(record))) }
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue dead webhooks again (after the receiver is fixed), due now, with fresh attempts.",
            discussion: """
            They keep their webhook-id, so a receiver that got one after all drops the repeat.

            Examples:
              nurture webhooks retry 42 43 --config nurture.yaml
              nurture webhooks retry --all-dead
            """
        )

        @Argument(help: "The webhooks' numbers (the # in `nurture webhooks list`).")
        var ids: [Int64] = []

        @Flag(help: "Every dead webhook.")
        var allDead = false

        @OptionGroup var options: ServiceOptions

        func validate() throws {
            if ids.isEmpty != allDead { throw ValidationError("give the webhooks' numbers, or --all-dead") }
        }

        func run() async throws {
            try await options.withRuntime { runtime in
                let count = try await runtime.store.requeueDeadWebhooks(ids: ids, now: Date())
                print("\(count) webhook\(count == 1 ? "" : "s") queued again")
                if count < ids.count { printError("\(ids.count - count) of the numbers given are not dead webhooks") }
            }
        }
    }

    struct Secret: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new signing secret (whsec_…, 32 random bytes) for a webhooks entry and its receiver.",
            discussion: """
            Examples:
              nurture webhooks secret
              export CRM_WEBHOOK_SECRET=$(nurture webhooks secret)
            """
        )

        func run() {
            print(WebhookSignature.newSecret())
        }
    }
}
