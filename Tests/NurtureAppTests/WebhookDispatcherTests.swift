import Foundation
import Logging
import NurtureCore
import NurtureDelivery
import NurtureSQLite
@testable import NurtureApp
@testable import NurtureRuntime
import Testing
import TestSupport

@Suite("The webhook dispatcher, on a real SQLite file")
struct WebhookDispatcherTests {
    @Test("a webhook for an endpoint this process does not have is tried again (another process may have it), not dead at once")
    func unknownEndpoint() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-dispatch-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let routes = WebhookRoutes([WebhookEndpoint(url: "https://crm.example/new", events: [.unsubscribed])])
        let store = try SQLiteStore(path: directory.appendingPathComponent("n.sqlite").path, webhooks: routes)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try await store.upsertLeads(["ada@example.com"], now: now) { id, email, _, state in
            state = LeadState(lead: Lead(id: id, email: email), now: now)
            return LeadChange(effects: [.suppressed(.unsubscribed)], nextWake: nil)
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let dispatcher = WebhookDispatcher(store: store, transport: CurlWebhookTransport(), targets: [],
                                           worker: WorkerIdentity(id: "w/webhooks", host: "test.invalid", pid: 1), logger: logger)
        let tally = try await dispatcher.deliverDue(now: { now })
        #expect(tally.retried == 1 && tally.dead == 0)
        let record = try #require(try await store.webhooks(status: .queued, limit: 10).first)
        #expect(record.attempts == 1)
        #expect(record.lastError == "attempt 1: the endpoint is not in this process's configuration (webhooks:)")
    }

    @Test("the dispatcher has an identity of its own: the email worker retiring gives back none of its webhooks")
    func ownIdentity() throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        #expect(runtime.webhooks.worker != runtime.delivery.worker)
        #expect(runtime.webhooks.worker.pid == runtime.delivery.worker.pid)
    }
}
