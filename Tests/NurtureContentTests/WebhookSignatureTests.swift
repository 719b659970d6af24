import Foundation
import NurtureContent
import Testing

@Suite("Webhook signatures (Standard Webhooks)")
struct WebhookSignatureTests {
    // The convention's own test vector (its libraries' tests use the same one).
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    let timestamp = 1_614_265_330
    let body = Data(#"{"test": 2432232314}"#.utf8)

    @Test("signs as the reference libraries do")
    func vector() throws {
        let signature = try WebhookSignature(secret: secret)
        #expect(signature.signature(id: id, timestamp: timestamp, body: body) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let headers = signature.headers(id: id, timestamp: timestamp, body: body)
        #expect(headers.map(\.name) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(headers[1].value == "1614265330")
    }

    @Test("verifies its own signatures, among several, within the tolerance only; a changed byte fails")
    func verify() throws {
        let signature = try WebhookSignature(secret: secret)
        let now = Date(timeIntervalSince1970: Double(timestamp) + 60)
        let good = signature.signature(id: id, timestamp: timestamp, body: body)
        #expect(signature.verify(id: id, timestamp: timestamp, body: body, header: "v1,bm90IGl0 \(good)", now: now))
        #expect(!signature.verify(id: id, timestamp: timestamp, body: Data(#"{"test": 2432232315}"#.utf8), header: good, now: now))
        #expect(!signature.verify(id: "msg_other", timestamp: timestamp, body: body, header: good, now: now))
        #expect(!signature.verify(id: id, timestamp: timestamp, body: body, header: good, now: now + 600))
        let other = try WebhookSignature(secret: WebhookSignature.newSecret())
        #expect(!other.verify(id: id, timestamp: timestamp, body: body, header: good, now: now))
    }

    @Test("a secret must be whsec_ and base64 of 24 to 64 bytes")
    func secrets() {
        #expect(throws: WebhookSignature.SecretError.notWhsec) { try WebhookSignature(secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") }
        #expect(throws: WebhookSignature.SecretError.notWhsec) { try WebhookSignature(secret: "whsec_not base64!") }
        #expect(throws: WebhookSignature.SecretError.tooShort(3)) { try WebhookSignature(secret: "whsec_YWJj") }
        let made = WebhookSignature.newSecret()
        #expect(made.hasPrefix("whsec_") && Data(base64Encoded: String(made.dropFirst(6)))?.count == 32)
    }
}
