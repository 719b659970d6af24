import Foundation
import NurtureContent
import Hummingbird
import NurtureCore

/// How the email providers' webhooks prove they come from the provider (`providers:` in
/// nurture.yaml). A provider without settings has its route closed (401).
public struct ProviderWebhookAuth: Sendable {
    /// Postmark: HTTP Basic credentials, written into the webhook URL in Postmark
    /// (`https://user:password@t.acme.example/v1/webhooks/postmark`).
    public struct Basic: Sendable {
        public var username: String
        public var password: Secret

        public init(username: String, password: Secret) {
            self.username = username
            self.password = password
        }

        /// Whether an `Authorization` header carries these credentials (compared in constant time).
        func accepts(_ header: String?) -> Bool {
            guard let header, let text = BasicAuthorization.credentials(header) else { return false }
            let expected = "\(username):\(password.value)"
            return BearerKeyMiddleware<BasicRequestContext>.equal(Array(text.utf8), Array(expected.utf8))
        }
    }

    public var postmark: Basic?
    /// SendGrid: the Signed Event Webhook's verification key.
    public var sendgrid: SendGridSignature?

    public init(postmark: Basic? = nil, sendgrid: SendGridSignature? = nil) {
        self.postmark = postmark
        self.sendgrid = sendgrid
    }
}
