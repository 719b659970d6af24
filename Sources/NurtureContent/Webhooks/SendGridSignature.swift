import Crypto
import Foundation

/// Verifies SendGrid's Signed Event Webhook: an ECDSA P-256 signature (DER, base64, in
/// `X-Twilio-Email-Event-Webhook-Signature`) of the timestamp header's text followed by the
/// raw body, checked with the account's verification key (base64 DER, as SendGrid's settings
/// page shows it, or PEM).
public struct SendGridSignature: Sendable {
    public static let signatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
    public static let timestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"

    private let key: P256.Signing.PublicKey

    public struct KeyError: Error, CustomStringConvertible {
        public var description: String {
            "not a P-256 public key: paste the Verification Key from SendGrid's Mail Settings → Signed Event Webhook (base64, or PEM)"
        }
    }

    public init(publicKey text: String) throws(KeyError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("-----BEGIN"), let key = try? P256.Signing.PublicKey(pemRepresentation: trimmed) {
            self.key = key
        } else if let der = Data(base64Encoded: trimmed), let key = try? P256.Signing.PublicKey(derRepresentation: der) {
            self.key = key
        } else {
            throw KeyError()
        }
    }

    /// Whether `signature` signs `timestamp` + `body` with this key.
    public func verify(signature: String, timestamp: String, body: Data) -> Bool {
        guard let bytes = Data(base64Encoded: signature.trimmingCharacters(in: .whitespaces)),
              let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: bytes) else { return false }
        var signed = Data(timestamp.utf8)
        signed.append(body)
        return key.isValidSignature(ecdsa, for: signed)
    }
}
