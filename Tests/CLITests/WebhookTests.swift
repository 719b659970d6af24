import Foundation
import Testing
import TestSupport

// Synchronous tests that wait on `nurture serve` processes: nested in the serialized
// LongRunningProcessTests so they never hold the cooperative pool beside the others.
extension LongRunningProcessTests {
    /// Outbound webhooks end to end: `nurture serve`, real tracking hits, a real receiver that
    /// verifies each signature with the Standard Webhooks reference library, outages and kill -9.
    @Suite("Outbound webhooks, run as an operator would", .serialized)
    struct WebhookTests {
        let serve = ServeCommandTests()
        static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

        /// The receiver's outage in the kill -9 test; NURTURE_WEBHOOK_OUTAGE=60 gives the issue's 60 s.
        static let outage = Double(ProcessInfo.processInfo.environment["NURTURE_WEBHOOK_OUTAGE"] ?? "") ?? 4

        func receiver(port: Int = 0, status: Int = 204) throws -> LoopbackServer {
            try LoopbackServer(script: "webhook_receiver.py", arguments: ["--secret", Self.secret, "--status", "\(status)"] + (port > 0 ? ["--port", "\(port)"] : []))
        }

        /// A serve folder whose configuration sends webhooks to `port`, the secret from the environment.
        func setUp(smtp: LoopbackServer, receiverPort: Int, events: String, extra: String = "") throws -> (folder: URL, port: Int) {
            let (folder, port) = try serve.setUp(smtp: smtp)
            let config = folder.appendingPathComponent("nurture.yaml")
            let text = try String(contentsOf: config, encoding: .utf8) + """

            webhooks:
              - url: http://127.0.0.1:\(receiverPort)/hooks/nurture
                secret: ${TEST_WEBHOOK_SECRET}
                events: \(events)
                retry_after: 1s
                retry_max: 2s
            \(extra)
            """
            try text.write(to: config, atomically: true, encoding: .utf8)
            return (folder, port)
        }

        func start(_ folder: URL) throws -> ChildProcess {
            let process = ChildProcess()
            process.executableURL = builtProduct("nurture")
            process.arguments = ["serve", "--config", folder.appendingPathComponent("nurture.yaml").path, "--log-level", "warning"]
            process.currentDirectoryURL = folder
            process.environment = ProcessInfo.processInfo.environment.merging(["TEST_WEBHOOK_SECRET": Self.secret]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }

        func nurture(_ arguments: [String], _ folder: URL) throws -> CommandResult {
            try runNurture(arguments + ["--config", folder.appendingPathComponent("nurture.yaml").path], directory: folder, environment: ["TEST_WEBHOOK_SECRET": Self.secret])
        }

        /// Adds a lead with a fit of 30 and returns the tracking links of its welcome email.
        func addLead(_ email: String, base: String, smtp: LoopbackServer) throws -> (open: String, click: String) {
            let auth = ["-H", "Authorization: Bearer serve-test-api-key", "-H", "Content-Type: application/json"]
            let before = try smtp.records("messages.jsonl").count
            let body = #"{"email": "\#(email)", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "job_title": "CTO", "employees": 300, "country": "GB", "timezone": "Europe/London"}"#
            #expect(serve.http("\(base)/v1/leads", ["-X", "POST"] + auth + ["-d", body]) != nil)
            let created = try #require(serve.http("\(base)/v1/leads/\(email)", auth))
            #expect((try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])?["score"] as? Int == 30, "\(created)")
            #expect(try serve.eventually(10) { try smtp.records("messages.jsonl").count == before + 1 })
            let record = try #require(try smtp.records("messages.jsonl").last)
            let data = String(decoding: Data(base64Encoded: record["data"] as! String)!, as: UTF8.self)
            let html = try #require(try ParsedMessage.parse(Array(data.utf8)).parts.last).content
            func link(_ kind: String) throws -> String {
                let token = try #require(html.components(separatedBy: "\(base)/\(kind)/").dropFirst().first).prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
                return "\(base)/\(kind)/\(token)"
            }
            return (try link("o"), try link("c"))
        }

        /// The verified messages a receiver got.
        func verified(_ receiver: LoopbackServer) throws -> [[String: Any]] {
            try receiver.records("webhooks.jsonl").filter { $0["verified"] as? Bool == true }
        }

        @Test("MQL through real tracking hits: exactly one signed POST; with the receiver down it arrives after it returns, and a kill -9 during the outage loses nothing")
        func stageChangedThroughOutageAndKill() throws {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let first = try receiver()
            let receiverPort = first.port
            let (folder, port) = try setUp(smtp: smtp, receiverPort: receiverPort, events: "[stage_changed, unsubscribed]",
                                           extra: "    stages: [mql]\n    max_attempts: 100")
            var process = try start(folder)
            defer { if process.isRunning { process.terminate(); waitForExit(process) } }
            let base = "http://127.0.0.1:\(port)"
            #expect(serve.eventually { serve.http("\(base)/healthz") == "ok\n" })

            // Ada opens and clicks her welcome email: 30 + 2 + 10 = 42 ≥ 40, lead → MQL.
            let ada = try addLead("ada@example.com", base: base, smtp: smtp)
            #expect(serve.http(ada.open) != nil)
            #expect(serve.status(ada.click) == 302)
            #expect(try serve.eventually(10) { try verified(first).count == 1 })
            usleep(1_500_000) // longer than a poll: nothing else comes
            let records = try first.records("webhooks.jsonl")
            #expect(records.count == 1, "\(records)")
            let payload = try #require(records.first?["payload"] as? [String: Any])
            let data = try #require(payload["data"] as? [String: Any])
            let lead = try #require(data["lead"] as? [String: Any])
            #expect(payload["type"] as? String == "stage_changed")
            #expect(data["from"] as? String == "lead" && data["to"] as? String == "mql")
            #expect((data["reason"] as? String)?.contains("score ≥ 40") == true)
            #expect(lead["email"] as? String == "ada@example.com" && lead["stage"] as? String == "mql" && lead["score"] as? Int == 42)
            #expect((records.first?["headers"] as? [String: String])?["webhook-signature"]?.hasPrefix("v1,") == true)

            // The receiver goes down; Grace reaches MQL meanwhile.
            first.stop()
            let outageStarted = Date()
            let grace = try addLead("grace@example.com", base: base, smtp: smtp)
            #expect(serve.http(grace.open) != nil)
            #expect(serve.status(grace.click) == 302)
            // It fails, and is queued again with the reason.
            #expect(try serve.eventually(10) {
                let list = try nurture(["webhooks", "list", "--status", "queued"], folder)
                return list.stdout.contains("stage_changed") && list.stdout.contains("attempt")
            })
            // kill -9 during the outage, and a restart.
            kill(process.processIdentifier, SIGKILL)
            waitForExit(process)
            process = try start(folder)
            #expect(serve.eventually { serve.http("\(base)/healthz") == "ok\n" })
            let rest = Self.outage - Date().timeIntervalSince(outageStarted)
            if rest > 0 { usleep(UInt32(rest * 1_000_000)) }
            #expect(try verified(first).count == 1) // nothing got through while it was down

            // The receiver is back on its address: Grace's webhook arrives, once.
            let second = try receiver(port: receiverPort)
            defer { second.stop() }
            #expect(try serve.eventually(15) { try verified(second).count == 1 })
            usleep(1_500_000)
            let arrived = try second.records("webhooks.jsonl")
            #expect(arrived.count == 1, "\(arrived)")
            #expect(((arrived.first?["payload"] as? [String: Any])?["data"] as? [String: Any]).flatMap { ($0["lead"] as? [String: Any])?["email"] as? String } == "grace@example.com")

            let show = try nurture(["leads", "show", "grace@example.com"], folder)
            #expect(show.stdout.contains("delivered stage_changed -> http://127.0.0.1:\(receiverPort)/hooks/nurture"), "\(show.stdout)")
            let metrics = serve.http("\(base)/metrics", ["-H", "Authorization: Bearer serve-test-api-key"]) ?? ""
            #expect(metrics.contains(#"nurture_webhooks{status="delivered"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"nurture_webhooks{status="dead"} 0"#))
        }

        @Test("a receiver that keeps failing: the webhook is dead-lettered, shown in leads show and /metrics, and queued again on demand")
        func deadLetter() throws {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let failing = try receiver(status: 500)
            defer { failing.stop() }
            let (folder, port) = try setUp(smtp: smtp, receiverPort: failing.port, events: "[unsubscribed]", extra: "    max_attempts: 2")
            let process = try start(folder)
            defer { process.terminate(); waitForExit(process) }
            let base = "http://127.0.0.1:\(port)"
            #expect(serve.eventually { serve.http("\(base)/healthz") == "ok\n" })
            _ = try addLead("alan@example.com", base: base, smtp: smtp)
            let auth = ["-H", "Authorization: Bearer serve-test-api-key", "-H", "Content-Type: application/json"]
            #expect(serve.http("\(base)/v1/events", ["-X", "POST"] + auth + ["-d", #"[{"type": "unsubscribed", "email": "alan@example.com"}]"#]) != nil)
            #expect(try serve.eventually(15) { try nurture(["webhooks", "list", "--status", "dead"], folder).stdout.contains("unsubscribed") })
            #expect(try failing.records("webhooks.jsonl").count == 2) // two attempts, both signed correctly
            #expect(try verified(failing).count == 2)
            let show = try nurture(["leads", "show", "alan@example.com"], folder)
            #expect(show.stdout.contains("DEAD      unsubscribed -> http://127.0.0.1:\(failing.port)/hooks/nurture (2 attempts): gave up after 2 attempts: HTTP 500"), "\(show.stdout)")
            let metrics = serve.http("\(base)/metrics", ["-H", "Authorization: Bearer serve-test-api-key"]) ?? ""
            #expect(metrics.contains(#"nurture_webhooks{status="dead"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"nurture_webhook_attempts_total{outcome="dead"} 1"#))

            let retry = try nurture(["webhooks", "retry", "--all-dead"], folder)
            #expect(retry.stdout.contains("1 webhook queued again"), "\(retry.stderr)")
            #expect(try serve.eventually(10) { try failing.records("webhooks.jsonl").count >= 3 })
        }

        @Test("a bad webhooks entry is refused at start-up with its place; the secret's variable must be set")
        func badConfiguration() throws {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let (folder, _) = try setUp(smtp: smtp, receiverPort: 9, events: "[stage_change, score_crossed]",
                                        extra: "providers:\n  postmark: { username: pm }\n  sendgrid: { verification_key: bm90IGEga2V5 }")
            // A stage that is not the funnel's is refused with a "did you mean".
            let (typo, _) = try setUp(smtp: smtp, receiverPort: 9, events: "[stage_changed]", extra: "    stages: [sqll]")
            let refused = try nurture(["webhooks", "list"], typo)
            #expect(refused.status == 78)
            #expect(refused.stderr.contains("stages: unknown stage 'sqll'; did you mean 'sql'?"), "\(refused.stderr)")
            let check = try runNurture(["serve", "--config", folder.appendingPathComponent("nurture.yaml").path], directory: folder)
            #expect(check.status == 78)
            #expect(check.stderr.contains("webhooks secret: the environment variable TEST_WEBHOOK_SECRET is not set"), "\(check.stderr)")
            let withSecret = try nurture(["webhooks", "list"], folder)
            #expect(withSecret.status == 78)
            #expect(withSecret.stderr.contains("webhooks events: 'stage_change' is not an event; did you mean 'stage_changed'?"), "\(withSecret.stderr)")
            #expect(withSecret.stderr.contains("score_crossed needs score_thresholds"))
            #expect(withSecret.stderr.contains("nurture.yaml:"))
            #expect(withSecret.stderr.contains("providers.postmark needs a password as well as a username"))
            #expect(withSecret.stderr.contains("providers.sendgrid.verification_key: not a P-256 public key"))
        }

        @Test("the dry-run shows each webhook it would call")
        func dryRun() throws {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let (folder, _) = try setUp(smtp: smtp, receiverPort: 9, events: "[stage_changed, score_crossed]", extra: "    score_thresholds: [40]")
            let lead = folder.appendingPathComponent("ada.json")
            try #"{"email": "ada@example.com", "first_name": "Ada", "job_title": "CTO", "employees": 300, "timezone": "America/New_York"}"#.write(to: lead, atomically: true, encoding: .utf8)
            let result = try nurture(["dry-run", "--lead", lead.path, "--start", "2026-11-23 10:00", "--days", "10",
                                      "--workflows", folder.appendingPathComponent("Workflows").path, "--templates", ServeCommandTests.repository.appendingPathComponent("Templates").path,
                                      "--what-if", "clicked welcome +3h", "--what-if", "page_visited /pricing +4d"], folder)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("WEBHOOK stage_changed -> http://127.0.0.1:9/hooks/nurture (would be POSTed, signed)"), "\(result.stdout)")
            #expect(result.stdout.contains("WEBHOOK score_crossed -> http://127.0.0.1:9/hooks/nurture"))
            let lines = result.stdout.split(separator: "\n")
            let stage = try #require(lines.firstIndex { $0.contains("STAGE lead → mql") })
            #expect(lines[stage...].contains { $0.contains("WEBHOOK stage_changed") })
        }
    }
}
