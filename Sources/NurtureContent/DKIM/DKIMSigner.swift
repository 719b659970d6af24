import Crypto
import Foundation
import NurtureCore

/// Adds DKIM signatures (RFC 6376, relaxed/relaxed; RFC 8463 for Ed25519) to composed
/// messages: one `DKIM-Signature` field per key, each signing the message as composed.
///
/// Signed: From, To, Subject, Date, Message-ID, Reply-To, MIME-Version, Content-Type,
/// List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 wants the last two covered), and any
/// of ``extraHeaders`` present. The fields a receiver shows or acts on are "oversigned": listed
/// once more than they occur, so that a copy of one added on the way breaks the signature.
public struct DKIMSigner: Sendable {
    public let keys: [DKIMKey]
    /// Further header fields to sign when present (e.g. Feedback-ID, List-Id), lower-case.
    public let extraHeaders: [String]

    static let signedHeaders = [
        "from", "to", "subject", "date", "message-id", "reply-to", "mime-version", "content-type",
        "list-unsubscribe", "list-unsubscribe-post",
    ]
    static let oversigned: Set<String> = [
        "from", "to", "subject", "date", "message-id", "reply-to", "list-unsubscribe", "list-unsubscribe-post",
    ]

    public init(keys: [DKIMKey], extraHeaders: [String] = []) {
        self.keys = keys
        self.extraHeaders = extraHeaders.map { $0.lowercased() }
    }

    /// `message` with a `DKIM-Signature` for each key in front of its header; `time` is the
    /// signature's `t=` (seconds since 1970).
    /// - Parameter alsoSigning: more field names (lower-case) to sign when present, such as the
    ///   message's custom fields.
    public func sign(_ message: OutgoingMessage, time: Int64, alsoSigning: [String] = []) throws(DKIMKeyError) -> OutgoingMessage {
        guard !keys.isEmpty else { return message }
        let bytes = message.rfc5322
        let (fields, bodyStart) = DKIMCanonicalization.split(bytes)
        let bodyHash = Data(SHA256.hash(data: DKIMCanonicalization.body(bytes[bodyStart...]))).base64EncodedString()

        // The fields to sign, in the order h= lists them: each present one as many times as
        // it occurs, and the oversigned ones once more.
        var counts: [String: Int] = [:]
        for field in fields { counts[field.name.lowercased(), default: 0] += 1 }
        var names: [String] = []
        var extra: [String] = []
        for name in extraHeaders + alsoSigning where !Self.signedHeaders.contains(name) && !extra.contains(name) { extra.append(name) }
        for name in Self.signedHeaders + extra {
            let present = counts[name] ?? 0
            let times = present + (Self.oversigned.contains(name) ? 1 : 0)
            names += Array(repeating: name, count: times)
        }
        // Their canonical forms, each instance taken from the bottom up (RFC 6376 §5.4.2).
        var used: [String: Int] = [:]
        var signedData: [UInt8] = []
        for name in names {
            let instances = fields.filter { $0.name.lowercased() == name }
            let taken = used[name, default: 0]
            used[name] = taken + 1
            guard taken < instances.count else { continue }  // oversigned: a null string
            signedData += DKIMCanonicalization.header(instances[instances.count - 1 - taken].raw)
            signedData += [0x0D, 0x0A]
        }

        var signatures: [UInt8] = []
        for key in keys {
            // Folded between tags (and inside h= and b=), lines under 78 characters.
            var field = "DKIM-Signature: v=1; a=\(key.algorithm.rawValue); c=relaxed/relaxed;\r\n"
            field += "\td=\(key.domain); s=\(key.selector); t=\(time);\r\n"
            field += "\th=" + Self.fold(names, separator: ":", width: 70) + ";\r\n"
            field += "\tbh=\(bodyHash);\r\n"
            field += "\tb="
            let fieldBytes = Array(field.utf8)
            let signature = try key.sign(signedData + DKIMCanonicalization.header(fieldBytes[...]))
            let value = signature.base64EncodedString()
            var folded = ""
            var index = value.startIndex
            while index < value.endIndex {
                let end = value.index(index, offsetBy: 72, limitedBy: value.endIndex) ?? value.endIndex
                if index != value.startIndex { folded += "\r\n\t " }
                folded += value[index..<end]
                index = end
            }
            signatures += fieldBytes + Array(folded.utf8) + [0x0D, 0x0A]
        }
        var signed = message
        signed.rfc5322 = signatures + bytes
        return signed
    }

    /// `items` joined by `separator`, with a fold (CRLF, tab, space) before an item that would
    /// pass `width` characters on its line.
    private static func fold(_ items: [String], separator: String, width: Int) -> String {
        var out = ""
        var line = 0
        for (i, item) in items.enumerated() {
            let piece = (i == 0 ? "" : separator) + item
            if line + piece.count > width, i > 0 {
                out += separator + "\r\n\t " + item
                line = item.count + 2
            } else {
                out += piece
                line += piece.count
            }
        }
        return out
    }
}
