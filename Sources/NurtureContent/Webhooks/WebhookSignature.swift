import Crypto
import Foundation
import NurtureCore

/// Signs outbound webhooks as the Standard Webhooks convention says
/// (https://www.standardwebhooks.com), so receivers can verify them with any of its libraries:
///
/// - `webhook-id`: the message's id, the same at every retry;
/// - `webhook-timestamp`: seconds since 1970 at the attempt;
/// - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the
///   bytes of the secret, which is written `whsec_<base64 key>`.
public struct WebhookSignature: Sendable {
    private let key: SymmetricKey

    /// Why a secret cannot be used.
    public enum SecretError: Error, Equatable, CustomStringConvertible {
        case notWhsec
        case tooShort(Int)

        public var description: String {
            switch self {
            case .notWhsec: "a webhook secret is written whsec_ followed by base64 (make one with `nurture webhooks secret`)"
            case .tooShort(let n): "the webhook secret's key is \(n) bytes; use 24 to 64 random bytes (`nurture webhooks secret`)"
            }
        }
    }

    /// - Parameter secret: `whsec_<base64>`; the key is 24 to 64 bytes.
    public init(secret: String) throws(SecretError) {
        guard secret.hasPrefix("whsec_"), let bytes = Data(base64Encoded: String(secret.dropFirst(6))) else { throw .notWhsec }
        guard (24...64).contains(bytes.count) else { throw .tooShort(bytes.count) }
        key = SymmetricKey(data: bytes)
    }

    /// A new random secret, `whsec_` and 32 bytes in base64.
    public static func newSecret() -> String {
        "whsec_" + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// The `webhook-signature` value for a message.
    public func signature(id: String, timestamp: Int, body: Data) -> String {
        var content = Data("\(id).\(timestamp).".utf8)
        content.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The three headers of a signed POST.
    public func headers(id: String, timestamp: Int, body: Data) -> [(name: String, value: String)] {
        [("webhook-id", id), ("webhook-timestamp", String(timestamp)), ("webhook-signature", signature(id: id, timestamp: timestamp, body: body))]
    }

    /// Whether `header` (space-separated `v1,<sig>` entries) holds this message's signature,
    /// compared in constant time, and the timestamp is within `tolerance` of `now`.
    public func verify(id: String, timestamp: Int, body: Data, header: String, now: Date, tolerance: TimeInterval = 300) -> Bool {
        guard abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else { return false }
        var content = Data("\(id).\(timestamp).".utf8)
        content.append(body)
        for entry in header.split(separator: " ") {
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let mac = Data(base64Encoded: String(parts[1])) else { continue }
            if HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: content, using: key) { return true }
        }
        return false
    }
}
