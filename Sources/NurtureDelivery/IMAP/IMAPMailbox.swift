import CCurl
import Foundation
import NurtureCore

/// A bounce mailbox on an IMAP server, read with libcurl: `UID SEARCH` for the messages not yet
/// marked, a fetch of each by UID, then `UID STORE` of the keyword `NurtureProcessed` (and
/// `\Deleted` with `UID EXPUNGE` when processed mail is removed). One connection, kept open.
public final class IMAPMailbox: BounceMailbox {
    public struct Settings: Sendable {
        /// `imaps://host[:port]/MAILBOX` (TLS from the start), or `imap://…` with STARTTLS
        /// required (plain IMAP only to this machine).
        public var url: String
        public var username: String
        public var password: Secret
        public var caFile: String?
        public var verifyPeer: Bool
        public var timeout: Duration

        public init(url: String, username: String, password: Secret, caFile: String? = nil, verifyPeer: Bool = true, timeout: Duration = .seconds(30)) {
            self.url = url
            self.username = username
            self.password = password
            self.caFile = caFile
            self.verifyPeer = verifyPeer
            self.timeout = timeout
        }
    }

    /// The keyword a processed message carries.
    public static let keyword = "NurtureProcessed"

    public struct IMAPError: Error, CustomStringConvertible {
        public var description: String
    }

    public let settings: Settings
    private let pool: CurlTransferPool
    private let mailboxURL: String

    public init(settings: Settings) {
        self.settings = settings
        mailboxURL = settings.url.hasSuffix("/") ? String(settings.url.dropLast()) : settings.url
        let plainLoopback = settings.url.lowercased().hasPrefix("imap://") && Self.isLoopback(settings.url)
        let timeoutMS = Int(settings.timeout.components.seconds * 1000)
        pool = CurlTransferPool(size: 1, label: "nurture.imap") { easy in
            easy.set(CURLOPT_PROTOCOLS_STR, "imap,imaps")
            easy.set(CURLOPT_USERNAME, settings.username)
            easy.set(CURLOPT_PASSWORD, settings.password.value)
            easy.set(CURLOPT_USE_SSL, Int((plainLoopback ? CURLUSESSL_TRY : CURLUSESSL_ALL).rawValue))
            easy.set(CURLOPT_SSL_VERIFYPEER, settings.verifyPeer ? 1 : 0)
            easy.set(CURLOPT_SSL_VERIFYHOST, settings.verifyPeer ? 2 : 0)
            if let caFile = settings.caFile { easy.set(CURLOPT_CAINFO, caFile) }
            easy.set(CURLOPT_CONNECTTIMEOUT_MS, min(timeoutMS, 10_000))
            easy.set(CURLOPT_TIMEOUT_MS, timeoutMS)
        }
    }

    static func isLoopback(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    public func unprocessed(limit: Int) async throws -> [MailboxMessage] {
        let search = try await command("UID SEARCH UNKEYWORD \(Self.keyword)")
        let uids = Self.searchResults(search).sorted().prefix(limit)
        var messages: [MailboxMessage] = []
        for uid in uids {
            let raw = try await request(url: "\(mailboxURL)/;UID=\(uid)", command: nil)
            messages.append(MailboxMessage(uid: uid, raw: raw))
        }
        return messages
    }

    public func markProcessed(_ uid: UInt64, remove: Bool) async throws {
        _ = try await command("UID STORE \(uid) +FLAGS (\(remove ? "\\Deleted " : "")\(Self.keyword))")
        if remove { _ = try await command("UID EXPUNGE \(uid)") }
    }

    /// The UIDs in `* SEARCH …` lines.
    static func searchResults(_ response: [UInt8]) -> [UInt64] {
        String(decoding: response, as: UTF8.self).split(whereSeparator: \.isNewline)
            .filter { $0.uppercased().hasPrefix("* SEARCH") }
            .flatMap { $0.split(separator: " ").dropFirst(2).compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) } }
    }

    private func command(_ text: String) async throws -> [UInt8] {
        try await request(url: mailboxURL, command: text)
    }

    private func request(url: String, command: String?) async throws -> [UInt8] {
        let response = await pool.transfer { easy in
            easy.set(CURLOPT_URL, url)
            easy.set(CURLOPT_CUSTOMREQUEST, command)
        }
        guard response.code == .ok else {
            throw IMAPError(description: "\(command ?? "fetch") on \(Self.redacted(url)): \(response.errorText)")
        }
        return response.body
    }

    /// The URL without any user or password in it.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.user = nil
        components.password = nil
        return components.string ?? url
    }
}
