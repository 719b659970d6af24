import CCurl
import NurtureCore

/// Sends messages to an SMTP relay through libcurl, over a pool of reused connections.
///
/// Each of the ``SMTPConfiguration/connections`` connections carries one message at a
/// time and stays open for the next, so a batch costs one TCP (and TLS, and AUTH)
/// handshake per connection, not per message.
public final class SMTPTransport: MailTransport {
    public let configuration: SMTPConfiguration
    private let pool: CurlTransferPool

    public init(configuration: SMTPConfiguration) {
        self.configuration = configuration
        // A thread per connection: libcurl (7.88 as 8.x) waits for the reply to a message's
        // end with a blocking read inside the multi handle, so a thread driving two SMTP
        // connections would stall the second while the relay accepts the first.
        self.pool = CurlTransferPool(size: configuration.connections, label: "nurture.smtp", threads: configuration.connections) { easy in
            SMTPTransport.configure(easy, with: configuration)
        }
    }

    public func deliver(_ message: OutgoingMessage) async -> DeliveryOutcome {
        let sender = message.envelopeSender
        let recipients = message.recipients
        let bytes = message.rfc5322
        let response = await pool.transfer { easy in
            easy.set(CURLOPT_MAIL_FROM, "<\(sender)>")
            easy.set(CURLOPT_MAIL_RCPT, list: recipients.map { "<\($0)>" })
            easy.set(CURLOPT_INFILESIZE_LARGE, size: Int64(bytes.count))
            easy.setRequestBody(bytes)
        }
        return Self.classify(response)
    }

    private static func configure(_ easy: CurlEasy, with configuration: SMTPConfiguration) {
        easy.set(CURLOPT_URL, configuration.url)
        easy.set(CURLOPT_UPLOAD, 1)
        let useSSL: curl_usessl = switch configuration.starttls {
        case .required: CURLUSESSL_ALL
        case .opportunistic: CURLUSESSL_TRY
        case .off: CURLUSESSL_NONE
        }
        easy.set(CURLOPT_USE_SSL, Int(useSSL.rawValue))
        if let username = configuration.username { easy.set(CURLOPT_USERNAME, username) }
        if let password = configuration.password { easy.set(CURLOPT_PASSWORD, password.value) }
        easy.set(CURLOPT_SSL_VERIFYPEER, configuration.verifyPeer ? 1 : 0)
        easy.set(CURLOPT_SSL_VERIFYHOST, configuration.verifyPeer ? 2 : 0)
        if let caFile = configuration.caFile { easy.set(CURLOPT_CAINFO, caFile) }
        easy.set(CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.milliseconds)
        easy.set(CURLOPT_TIMEOUT_MS, configuration.timeout.milliseconds)
    }

    /// Maps libcurl's result and the server's last reply to an outcome.
    ///
    /// libcurl reports refusals in several ways (`CURLE_SEND_ERROR` for a refused MAIL or
    /// RCPT, `CURLE_WEIRD_SERVER_REPLY` for a refusal after DATA, `CURLE_LOGIN_DENIED`
    /// for AUTH), so the SMTP reply code decides when there is one: 4xx is transient,
    /// 5xx permanent. Without a reply the failure is the connection's, and transient,
    /// except for configuration and TLS-trust errors that no retry can fix.
    static func classify(_ response: CurlResponse) -> DeliveryOutcome {
        let replies = SMTPReply.all(in: response.headerLines)
        if response.code == .ok {
            return .accepted(reply: replies.last?.text ?? "accepted")
        }
        // After a refusal libcurl closes the connection, so the dialog ends with QUIT's
        // 221: the refusal is the last reply with the code libcurl reports.
        let code = response.responseCode > 0 ? response.responseCode : replies.last(where: { $0.code >= 400 })?.code
        if let code, (400..<600).contains(code) {
            let phase = phase(of: response)
            let text = replies.last(where: { $0.code == code })?.text ?? "\(code) \(response.errorText)"
            let failure = DeliveryFailure(phase: phase, code: code, reply: text)
            return code < 500 ? .transientFailure(failure) : .permanentFailure(failure)
        }
        let failure = DeliveryFailure(phase: .connection, reply: response.errorText)
        switch response.code {
        case .unsupportedProtocol, .malformedURL, .useSSLFailed, .peerFailedVerification, .sslCACert, .loginDenied:
            return .permanentFailure(DeliveryFailure(
                phase: response.code == .loginDenied ? .authentication : .connection, reply: response.errorText))
        default:
            return .transientFailure(failure)
        }
    }

    /// Which command the server refused, from libcurl's error message.
    private static func phase(of response: CurlResponse) -> DeliveryFailure.Phase {
        let text = response.errorText
        if response.code == .loginDenied || text.hasPrefix("AUTH") || text.contains("login denied") { return .authentication }
        if text.hasPrefix("MAIL failed") { return .sender }
        if text.hasPrefix("RCPT failed") { return .recipient }
        if text.hasPrefix("Got unexpected") || text.hasPrefix("EHLO") || text.hasPrefix("HELO")
            || text.hasPrefix("STARTTLS") || text.contains("initial response") { return .connection }
        return .content
    }
}

extension Duration {
    /// Whole milliseconds, for libcurl's `_MS` options.
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
