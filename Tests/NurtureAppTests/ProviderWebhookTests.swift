import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NurtureContent
import NurtureCore
import NurtureServer
@testable import NurtureApp
@testable import NurtureRuntime
import Testing
import TestSupport

/// Postmark's and SendGrid's own webhook payloads, posted over real HTTP with the providers'
/// authentication, mapped to the outcomes of relay reports.
@Suite("Provider webhooks (Postmark, SendGrid), over real HTTP on loopback")
struct ProviderWebhookTests {
    /// A runtime with one email sent to `ada@example.com`, and an app whose provider routes
    /// accept `auth`.
    struct Setup {
        let harness: Harness
        let runtime: Runtime
        let messageID: String

        init() async throws {
            harness = try Harness()
            let workflows = try openWindowWorkflows(from: Harness.repository, into: harness.directory)
            runtime = try harness.runtime(workflows: workflows.path)
            _ = try await runtime.scheduler.upsert([lead("ada@example.com"), lead("grace@example.com")], now: Date() - 60)
            _ = try await runtime.runOnce(now: Date() - 60)
            messageID = try #require(try harness.received().first { $0.to == "ada@example.com" }).messageID
        }

        func app(_ auth: ProviderWebhookAuth) -> some ApplicationProtocol {
            Application(
                router: NurtureRoutes.router(api: runtime.feedback, options: .init(apiKey: Secret("test-api-key-0123456789"), providers: auth), logger: runtime.logger),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        }

        /// The lead's stored bounce event.
        func bounce(_ email: String) async throws -> Event? {
            try #require(try await runtime.store.details(.email(email), recent: 50)).events.first { $0.event.type == "bounced" }?.event
        }

        func events(_ email: String, type: String) async throws -> Int {
            try #require(try await runtime.store.details(.email(email), recent: 50)).events.filter { $0.event.type == type }.count
        }
    }

    static let postmark = ProviderWebhookAuth.Basic(username: "postmark", password: Secret("hook-password-0123"))

    func basic(_ user: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString(), .contentType: "application/json"]
    }

    func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
    }

    @Test("Postmark: a hard bounce (found by its Metadata) suppresses once; a complaint by address; opens are ignored; credentials are required")
    func postmark() async throws {
        let setup = try await Setup()
        defer { setup.harness.cleanUp() }
        // Postmark's documented Bounce example, with the Metadata Nurture sends.
        let bounce = """
        {"RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1,
         "Name": "Hard bounce", "Tag": "Test", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
         "Metadata": {"nurture_message_id": "\(setup.messageID)"}, "ServerID": 23,
         "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
         "Details": "Test bounce details", "Email": "ada@example.com", "From": "hello@acme.example",
         "BouncedAt": "2019-11-05T16:33:54.9070259Z", "DumpAvailable": true, "Inactive": true, "CanActivate": true, "Subject": "Test subject"}
        """
        let complaint = #"{"RecordType": "SpamComplaint", "ID": 42, "Type": "SpamComplaint", "TypeCode": 100001, "Email": "grace@example.com", "Description": "The subscriber explicitly marked this message as spam."}"#
        let open = #"{"RecordType": "Open", "FirstOpen": true, "Recipient": "grace@example.com", "MessageID": "x", "ReceivedAt": "2019-11-05T16:33:54Z"}"#
        // Postmark follows its own Bounce with a SubscriptionChange saying the same: not counted again.
        let change = #"{"RecordType": "SubscriptionChange", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Recipient": "ada@example.com", "SuppressSending": true, "SuppressionReason": "HardBounce"}"#
        let auth = basic(Self.postmark.username, Self.postmark.password.value)
        try await setup.app(ProviderWebhookAuth(postmark: Self.postmark)).test(.live) { client in
            #expect(try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: bounce)).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: basic("postmark", "wrong"), body: ByteBuffer(string: bounce)).status == .unauthorized)
            // The bearer API key is not Postmark's credential.
            #expect(try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: [.authorization: "Bearer test-api-key-0123456789", .contentType: "application/json"], body: ByteBuffer(string: bounce)).status == .unauthorized)
            let applied = try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: auth, body: ByteBuffer(string: bounce))
            #expect(applied.status == .ok)
            #expect(json(applied)["applied"] as? Int == 1)
            // Postmark retries a webhook it got no 200 for: the same record is kept once.
            #expect(try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: auth, body: ByteBuffer(string: bounce)).status == .ok)
            #expect(try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: auth, body: ByteBuffer(string: complaint)).status == .ok)
            let ignored = try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: auth, body: ByteBuffer(string: open))
            #expect(json(ignored)["ignored"] as? Int == 1 && json(ignored)["applied"] as? Int == 0)
            let repeated = try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: auth, body: ByteBuffer(string: change))
            #expect(json(repeated)["ignored"] as? Int == 1 && json(repeated)["applied"] as? Int == 0)
            let bad = try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: auth, body: ByteBuffer(string: #"{"Type": "HardBounce"}"#))
            #expect(bad.status == .badRequest)
        }
        #expect(try await setup.runtime.store.suppression(email: "ada@example.com") == .bounced)
        #expect(try await setup.runtime.store.suppression(email: "grace@example.com") == .complained)
        #expect(try await setup.events("ada@example.com", type: "bounced") == 1)
        #expect(try await setup.events("grace@example.com", type: "email_opened") == 0)
        // The bounce was matched to its email (its step counts it); the complaint named only the address.
        #expect(try await setup.bounce("ada@example.com")?.properties["step"] == "welcome")
        // Without settings, the route is closed.
        try await setup.app(ProviderWebhookAuth()).test(.live) { client in
            let closed = try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: auth, body: ByteBuffer(string: bounce))
            #expect(closed.status == .unauthorized)
        }
    }

    @Test("Postmark: a subscription change (the recipient unsubscribed through Postmark) suppresses the lead")
    func postmarkUnsubscribe() async throws {
        let setup = try await Setup()
        defer { setup.harness.cleanUp() }
        let change = #"{"RecordType": "SubscriptionChange", "MessageID": "883953f4", "ServerID": 123456, "ChangedAt": "2020-02-01T10:53:34.416071Z", "Recipient": "grace@example.com", "Origin": "Recipient", "SuppressSending": true, "SuppressionReason": "ManualSuppression", "Tag": "welcome-email", "Metadata": {}}"#
        try await setup.app(ProviderWebhookAuth(postmark: Self.postmark)).test(.live) { client in
            let response = try await client.execute(uri: "/v1/webhooks/postmark", method: .post, headers: basic("postmark", "hook-password-0123"), body: ByteBuffer(string: change))
            #expect(response.status == .ok)
        }
        #expect(try await setup.runtime.store.suppression(email: "grace@example.com") == .unsubscribed)
        #expect(try await setup.runtime.store.lead(.email("grace@example.com"))?.suppression == .unsubscribed)
    }

    /// A P-256 key made by openssl (as SendGrid's signer is not Nurture's): the public key as
    /// SendGrid shows it (base64 DER), and a signer of timestamp + body.
    struct OpenSSLSigner {
        let directory: URL
        let publicKey: String

        init(directory: URL) throws {
            self.directory = directory
            let key = directory.appendingPathComponent("sendgrid.pem").path
            let made = try runProgram(URL(fileURLWithPath: "/usr/bin/openssl"), ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key])
            try #require(made.status == 0, "\(made.stderr)")
            let der = directory.appendingPathComponent("sendgrid.pub.der").path
            let pub = try runProgram(URL(fileURLWithPath: "/usr/bin/openssl"), ["ec", "-in", key, "-pubout", "-outform", "DER", "-out", der])
            try #require(pub.status == 0, "\(pub.stderr)")
            publicKey = try Data(contentsOf: URL(fileURLWithPath: der)).base64EncodedString()
        }

        func sign(timestamp: String, body: String) throws -> String {
            let payload = directory.appendingPathComponent("payload-\(UUID())")
            try Data((timestamp + body).utf8).write(to: payload)
            let signature = directory.appendingPathComponent("signature-\(UUID())")
            let signed = try runProgram(URL(fileURLWithPath: "/usr/bin/openssl"), ["dgst", "-sha256", "-sign", directory.appendingPathComponent("sendgrid.pem").path, "-out", signature.path, payload.path])
            try #require(signed.status == 0, "\(signed.stderr)")
            return try Data(contentsOf: signature).base64EncodedString()
        }
    }

    @Test("SendGrid: a signed list of events — a bounce (by its custom argument) and a drop suppress, opens and deferrals are ignored; a bad signature records nothing")
    func sendgrid() async throws {
        let setup = try await Setup()
        defer { setup.harness.cleanUp() }
        let signer = try OpenSSLSigner(directory: setup.harness.directory)
        let verifier = try SendGridSignature(publicKey: signer.publicKey)
        let events = """
        [{"email": "ada@example.com", "timestamp": 1513299569, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "event": "bounce",
          "category": "cat facts", "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
          "reason": "500 unknown recipient", "status": "5.0.0", "type": "bounce", "nurture_message_id": "\(setup.messageID)"},
         {"email": "ada@example.com", "timestamp": 1513299569, "event": "open", "sg_event_id": "open-1", "useragent": "Mozilla/4.0"},
         {"email": "grace@example.com", "timestamp": 1513299569, "event": "deferred", "attempt": "5", "sg_event_id": "deferred-1"},
         {"email": "grace@example.com", "timestamp": 1513299569, "event": "dropped", "reason": "Bounced Address", "status": "5.0.0", "sg_event_id": "dropped-1"}]
        """
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signature = try signer.sign(timestamp: timestamp, body: events)
        let signed: HTTPFields = [
            .contentType: "application/json",
            HTTPField.Name(SendGridSignature.signatureHeader)!: signature, HTTPField.Name(SendGridSignature.timestampHeader)!: timestamp,
        ]
        try await setup.app(ProviderWebhookAuth(sendgrid: verifier)).test(.live) { client in
            // The body changed, or no signature: refused, nothing recorded.
            let tampered = events.replacingOccurrences(of: "500 unknown recipient", with: "500 unknown recipients")
            #expect(try await client.execute(uri: "/v1/webhooks/sendgrid", method: .post, headers: signed, body: ByteBuffer(string: tampered)).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/webhooks/sendgrid", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: events)).status == .unauthorized)
            let response = try await client.execute(uri: "/v1/webhooks/sendgrid", method: .post, headers: signed, body: ByteBuffer(string: events))
            #expect(response.status == .ok)
            #expect(json(response)["applied"] as? Int == 2)
            #expect(json(response)["ignored"] as? Int == 2)
            // SendGrid retries the same batch: each event is kept once (sg_event_id).
            #expect(try await client.execute(uri: "/v1/webhooks/sendgrid", method: .post, headers: signed, body: ByteBuffer(string: events)).status == .ok)
        }
        #expect(try await setup.runtime.store.suppression(email: "ada@example.com") == .bounced)
        #expect(try await setup.runtime.store.suppression(email: "grace@example.com") == .bounced)
        #expect(try await setup.events("ada@example.com", type: "bounced") == 1)
        #expect(try await setup.events("grace@example.com", type: "bounced") == 1)
        #expect(try await setup.bounce("ada@example.com")?.properties["step"] == "welcome")
        #expect(try await setup.bounce("grace@example.com")?.properties["step"] == nil)
    }
}
