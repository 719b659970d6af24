import Foundation
import Testing
import TestSupport

// Synchronous tests that wait on `nurture serve` processes: nested in the serialized
// LongRunningProcessTests so they never hold the cooperative pool beside the others.
extension LongRunningProcessTests {
    /// The bounce mailbox end to end: `nurture serve` reads a real IMAP server (Dovecot, over TLS)
    /// through libcurl, and applies the DSNs, complaint reports and mailto unsubscribes it finds.
    @Suite("Bounce mailbox, run as an operator would", .serialized)
    struct BounceMailboxTests {
        let serve = ServeCommandTests()

        /// A private Dovecot over TLS with the user `bounces`, and its test certificate (made in a
        /// temporary folder).
        func startIMAP(password: String) throws -> (LoopbackServer, TestCertificate) {
            let certificates = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-imap-\(UUID())")
            try FileManager.default.createDirectory(at: certificates, withIntermediateDirectories: true)
            let certificate = try TestCertificate.make(in: certificates)
            let imap = try LoopbackServer(script: "imap_server.py", arguments: ["--user", "bounces", "--password", password, "--cert", certificate.certificate, "--key", certificate.key])
            return (imap, certificate)
        }

        /// Writes a message into the mailbox, as a local delivery agent would.
        func deliver(_ text: String, to maildir: URL) throws {
            let name = "\(Int(Date().timeIntervalSince1970)).\(UUID().uuidString).test"
            try Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8).write(to: maildir.appendingPathComponent("new/\(name)"))
        }

        /// The messages still in the mailbox (new and cur).
        func remaining(_ maildir: URL) throws -> [String] {
            try ["new", "cur"].flatMap { folder in
                try FileManager.default.contentsOfDirectory(atPath: maildir.appendingPathComponent(folder).path).map {
                    try String(contentsOf: maildir.appendingPathComponent("\(folder)/\($0)"), encoding: .utf8)
                }
            }
        }

        func dsn(to recipient: String, original messageID: String) -> String {
            """
            From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
            To: bounces@acme.example
            Subject: Undelivered Mail Returned to Sender
            Message-Id: <dsn-\(UUID().uuidString)@mx.example.com>
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status;
            \tboundary="B1/mx.example.com"

            --B1/mx.example.com
            Content-Type: text/plain

            I'm sorry to have to inform you that your message could not be delivered.
            --B1/mx.example.com
            Content-Type: message/delivery-status

            Reporting-MTA: dns; mx.example.com

            Final-Recipient: rfc822; \(recipient)
            Action: failed
            Status: 5.1.1
            Diagnostic-Code: smtp; 550 5.1.1 User unknown
            --B1/mx.example.com
            Content-Type: text/rfc822-headers

            From: Acme <hello@acme.example>
            To: \(recipient)
            Message-ID: \(messageID)
            --B1/mx.example.com--
            """
        }

        func arf(from recipient: String, original messageID: String) -> String {
            """
            From: <feedback@isp.example>
            To: <abuse@acme.example>
            Subject: Complaint
            Message-ID: <arf-\(UUID().uuidString)@isp.example>
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

            --arf
            Content-Type: text/plain

            This is an email abuse report.
            --arf
            Content-Type: message/feedback-report

            Feedback-Type: abuse
            Version: 1
            Original-Rcpt-To: <\(recipient)>

            --arf
            Content-Type: message/rfc822

            From: Acme <hello@acme.example>
            To: \(recipient)
            Message-ID: \(messageID)
            Subject: Welcome

            Hello
            --arf--
            """
        }

        @Test("a DSN suppresses the bounced address, an ARF report the complainer, a mailto unsubscribe its lead; an out-of-office stays for a person")
        func mailbox() throws {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let (imap, certificate) = try startIMAP(password: "imap-test-password")
            defer { imap.stop() }
            let maildir = imap.directory.appendingPathComponent("home/bounces/Maildir")

            let (folder, _) = try serve.setUp(smtp: smtp)
            let config = folder.appendingPathComponent("nurture.yaml")
            let text = try String(contentsOf: config, encoding: .utf8)
                .replacingOccurrences(of: #"sender: { from: "Acme <hello@acme.example>" }"#, with: #"sender: { from: "Acme <hello@acme.example>", unsubscribe_mailto: "unsubscribe@acme.example" }"#)
                + """

                bounce_mailbox:
                  url: imaps://127.0.0.1:\(imap.port)/INBOX
                  username: bounces
                  password: ${TEST_IMAP_PASSWORD}
                  ca_file: \(certificate.certificate)
                  poll_interval: 1s
                """
            try text.write(to: config, atomically: true, encoding: .utf8)
            let environment = ["TEST_IMAP_PASSWORD": "imap-test-password"]
            let imported = try runNurture(["leads", "import", "leads.csv", "--config", config.path], directory: folder, environment: environment)
            #expect(imported.status == 0, "\(imported.stderr)")

            let process = ChildProcess()
            process.executableURL = builtProduct("nurture")
            process.arguments = ["serve", "--config", config.path, "--log-level", "warning"]
            process.currentDirectoryURL = folder
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let log = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = log
            try process.run()
            defer { if process.isRunning { process.terminate(); waitForExit(process) } }
            #expect(try serve.eventually { try smtp.records("messages.jsonl").count == 12 })

            // The delivered emails: their Message-IDs and List-Unsubscribe mailto tokens.
            var sent: [String: (messageID: String, unsubscribe: String)] = [:]
            for record in try smtp.records("messages.jsonl") {
                let raw = String(decoding: Data(base64Encoded: record["data"] as! String)!, as: UTF8.self)
                let message = try ParsedMessage.parse(Array(raw.utf8))
                let to = try #require((record["rcpt_tos"] as? [String])?.first)
                func header(_ name: String) -> String? { message.headers.first { $0.first?.lowercased() == name.lowercased() }?.last }
                let list = try #require(header("List-Unsubscribe"))
                let subject = try #require(list.components(separatedBy: "?subject=").last?.prefix { $0 != ">" })
                sent[to] = (try #require(header("Message-ID")), String(subject))
            }
            let lead1 = try #require(sent["lead1@example.com"]), lead2 = try #require(sent["lead2@example.com"]), lead4 = try #require(sent["lead4@example.com"])

            try deliver(dsn(to: "lead1@example.com", original: lead1.messageID), to: maildir)
            try deliver("From: Lead Two <lead2@example.com>\nTo: unsubscribe@acme.example\nSubject: \(lead2.unsubscribe)\nMessage-ID: <u2@example.com>\n\nunsubscribe me\n", to: maildir)
            try deliver("From: Lead Three <lead3@example.com>\nTo: hello@acme.example\nSubject: Automatic reply: Welcome\nMessage-ID: <ooo@example.com>\n\nI am away until Monday.\n", to: maildir)
            try deliver(arf(from: "lead4@example.com", original: lead4.messageID), to: maildir)

            func show(_ email: String) throws -> String {
                try runNurture(["leads", "show", email, "--config", config.path], directory: folder, environment: environment).stdout
            }
            #expect(try serve.eventually(20) { try show("lead1@example.com").contains("— bounced: no marketing email") })
            #expect(try serve.eventually(10) { try show("lead2@example.com").contains("— unsubscribed: no marketing email") })
            #expect(try serve.eventually(10) { try show("lead4@example.com").contains("— complained: no marketing email") })
            #expect(try show("lead3@example.com").contains("stage: lead\n"))
            // The bounce found its email: it counts for the welcome step.
            #expect(try show("lead1@example.com").contains("step=welcome"))
            // Processed reports are deleted; the out-of-office stays, marked, for a person.
            #expect(try serve.eventually(10) { try remaining(maildir).count == 1 })
            #expect(try remaining(maildir).first?.contains("I am away until Monday.") == true)
            // Read again after a restart: nothing is applied twice.
            process.terminate()
            waitForExit(process)
            let events = try show("lead1@example.com").components(separatedBy: "\n").filter { $0.contains(" bounced ") }
            #expect(events.count == 1, "\(events)")
        }

        @Test("a wrong password is logged and retried, and the service keeps serving")
        func wrongPassword() throws {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let (imap, certificate) = try startIMAP(password: "right")
            defer { imap.stop() }
            let (folder, port) = try serve.setUp(smtp: smtp)
            let config = folder.appendingPathComponent("nurture.yaml")
            try (try String(contentsOf: config, encoding: .utf8) + """

                bounce_mailbox: { url: "imaps://127.0.0.1:\(imap.port)/INBOX", username: bounces, password: wrong, ca_file: "\(certificate.certificate)", poll_interval: 1s }
                """).write(to: config, atomically: true, encoding: .utf8)
            let process = ChildProcess()
            process.executableURL = builtProduct("nurture")
            process.arguments = ["serve", "--config", config.path]
            process.currentDirectoryURL = folder
            let log = folder.appendingPathComponent("serve.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            defer { process.terminate(); waitForExit(process) }
            #expect(serve.eventually { serve.http("http://127.0.0.1:\(port)/healthz") == "ok\n" })
            #expect(try serve.eventually(10) { try String(contentsOf: log, encoding: .utf8).contains("cannot read the bounce mailbox") })
            let logged = try String(contentsOf: log, encoding: .utf8)
            #expect(!logged.contains("password: wrong") && !logged.contains(":wrong@"))
            #expect(process.isRunning)
        }
    }
}
