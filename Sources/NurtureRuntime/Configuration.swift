import NurtureApp
import Foundation
import NurtureContent
import NurtureCore
import NurtureDelivery
import NurturePostgres
import NurtureServer
import Yams

/// Everything `nurture serve` needs, from one YAML file (`nurture.yaml`) with environment
/// overrides (`NURTURE_…`). Secrets are `Secret`s: never logged or printed.
public struct Configuration: Sendable {
    /// Where the data lives: a SQLite file path (or `sqlite:PATH`), or a PostgreSQL URL
    /// (`postgres://user:password@host:5432/db?sslmode=disable|prefer|require`).
    public var database = "nurture.sqlite"
    /// ``database`` parsed.
    public var storeLocation: StoreLocation { (try? StoreLocation(parsing: database)) ?? .sqlite(path: database) }
    public var workflows = "Workflows"
    public var templates = "Templates"
    public var from: EmailAddress
    public var replyTo: EmailAddress?
    /// `MAIL FROM` for bounces; defaults to the From address.
    public var bounceAddress: String?
    public var unsubscribeMailto: String?
    public var trackingBaseURL = "http://localhost:8080"
    public var secret: Secret
    public var listenHost = "127.0.0.1"
    public var listenPort = 8080
    /// Bearer key for the event and lead API (and `/metrics` unless ``publicMetrics``).
    public var apiKey: Secret?
    /// `http.metrics: public` serves `/metrics` without the key (default: behind it).
    public var publicMetrics = false
    /// Connections without a complete request for this long are closed.
    public var idleTimeout = TimeSpan(seconds: 30)
    /// Connections served at once; `nil`: the open-file limit less a reserve (see ``OpenFileLimit``).
    public var maxConnections: Int?
    public var relay: RelayURL
    /// Messages per second handed to the relay, at most (`nil`: as fast as it takes them).
    public var rateLimit: Double?
    /// Delivery attempts before a transient failure becomes final.
    public var maxAttempts = 8
    /// First retry delay; doubles each attempt (with jitter) up to `retryMax`.
    public var retryBase = TimeSpan.minutes(1)
    public var retryMax = TimeSpan.hours(6)
    /// How often the scheduler looks for due work when idle.
    public var pollInterval = TimeSpan(seconds: 1)
    /// Leads decided per database transaction.
    public var batchSize = 500
    /// Where `serve` writes its process id, for `nurture reload`.
    public var pidFile: String?
    /// How machine opens and clicks are recognised.
    public var machineRules = MachineRules()
    /// How replies and form posts that come through the API are credited to an email.
    public var attribution = AttributionRule()
    /// DKIM keys: each message gets one signature per key (`dkim:` in nurture.yaml).
    public var dkim: [DKIMKey] = []
    /// Header fields added to every email (`headers:`: Feedback-ID, List-Id, …).
    public var headers: [MessageHeader] = []
    /// Outbound webhook endpoints (`webhooks:`), told of funnel events.
    public var webhooks: [WebhookSettings] = []
    /// How the email providers' webhooks authenticate (`providers:`): Postmark's Basic
    /// credentials, SendGrid's verification key. A provider not set has its route closed.
    public var providers = ProviderWebhookAuth()
    /// The mailbox where bounces, complaint reports and `mailto:` unsubscribes arrive
    /// (`bounce_mailbox:`); none: not read.
    public var bounceMailbox: BounceMailboxSettings?
    /// Whether `sender.from` (or `NURTURE_FROM`) is set: without it emails would come from
    /// nurture@localhost, so the commands that send refuse to (``sendingCheck(fromGiven:trackingURL:)``).
    public var senderIsSet = false
    /// `tracking.allow_http: true`: an http tracking URL on a host other than this machine.
    public var allowHTTPTracking = false
    /// What cannot be read of the DKIM keys, each with its place: only the commands that send
    /// need the keys, so only they refuse to start (the others work without them).
    public var dkimProblems: [String] = []
    /// The configuration file's name, and where `tracking.base_url` was set (for messages).
    var sourceName = "configuration"
    var trackingURLPlace: String?

    /// The campaign files and how their emails are addressed and tracked.
    public var campaign: WorkflowSet.Source {
        WorkflowSet.Source(workflows: workflows, templates: templates, rendering: EmailRenderer.Settings(
            from: from, replyTo: replyTo, envelopeSender: bounceAddress,
            trackingBaseURL: trackingBaseURL, secret: secret, unsubscribeMailto: unsubscribeMailto,
            dkim: dkim.isEmpty ? nil : DKIMSigner(keys: dkim), headers: headers))
    }

    public init(from: EmailAddress, secret: Secret, relay: RelayURL) {
        self.from = from
        self.secret = secret
        self.relay = relay
    }

    /// Reads `path` (when it exists; every setting has a default or an environment variable)
    /// and applies `environment` overrides.
    /// - Throws: ``ConfigurationError`` listing every problem, each with its file:line:column.
    public static func load(path: String?, environment: [String: String]) throws(ConfigurationError) -> Configuration {
        var problems: [String] = []
        var values: [String: (value: String, location: String)] = [:]
        var headers: [(String, Secret)] = []
        var dkim: [DKIMKey] = []
        var dkimProblems: [String] = []
        var customHeaders: [MessageHeader] = []
        var webhooks: [WebhookSettings] = []

        if let path {
            // The size first: a huge file is refused by name, before any of it is read.
            let text: String
            switch LimitedFile.readText(path, limit: YAMLLimits.maxFileBytes) {
            case .success(let read):
                text = read
            case .failure(let failure):
                if case .cannotRead = failure {
                    throw ConfigurationError(problems: ["\(path): cannot read the configuration file (\(failure.description.dropFirst("cannot read: ".count)))"])
                }
                throw ConfigurationError(problems: ["\(path): \(failure)"])
            }
            let document = YAMLDocument(path: path)
            let root = document.compose(text)
            // A file that does not parse (syntax, duplicate keys) is all there is to say:
            // the settings it holds are unknown, so nothing is "missing".
            if root == nil, !document.issues.isEmpty { throw ConfigurationError(problems: document.issues.map(\.description)) }
            if let root, let map = document.mapping(root, "configuration") {
                read(map, prefix: "", into: &values, headers: &headers, document: document)
                if let node = map.value("dkim") { (dkim, dkimProblems) = readDKIM(node, document: document) }
                if let headers = map.mapping("headers") { customHeaders = document.customHeaders(headers, what: "headers") }
                if let node = map.value("webhooks") { webhooks = WebhookSettings.read(node, document: document, environment: environment) }
            }
            problems += document.issues.map(\.description)
        }
        // Environment variables win over the file.
        let overrides = [
            "NURTURE_DATABASE": "database", "NURTURE_WORKFLOWS": "workflows", "NURTURE_TEMPLATES": "templates",
            "NURTURE_FROM": "sender.from", "NURTURE_TRACKING_URL": "tracking.base_url", "NURTURE_SECRET": "tracking.secret",
            "NURTURE_HTTP_LISTEN": "http.listen", "NURTURE_API_KEY": "http.api_key", "NURTURE_RELAY_URL": "relay.url",
            "NURTURE_SMTP_USER": "relay.username", "NURTURE_SMTP_PASSWORD": "relay.password",
        ]
        for (variable, key) in overrides {
            if let value = environment[variable], !value.isEmpty { values[key] = (value, "$\(variable)") }
        }
        if let token = environment["NURTURE_RELAY_TOKEN"], !token.isEmpty { headers.append(("Authorization", Secret("Bearer \(token)"))) }

        func value(_ key: String) -> String? { values[key]?.value }
        func place(_ key: String) -> String { values[key]?.location ?? "configuration" }

        let fromText = value("sender.from") ?? "Nurture <nurture@localhost>"
        let from = try? EmailAddress.parse(fromText)
        if from == nil { problems.append("\(place("sender.from")): sender.from '\(fromText)' is not an email address") }
        guard let secret = value("tracking.secret") else {
            problems.append("\(path ?? "configuration"): tracking.secret is missing: set it (or NURTURE_SECRET) to a long random string, e.g. `openssl rand -hex 32`")
            throw ConfigurationError(problems: problems)
        }
        if secret.count < 16 { problems.append("\(place("tracking.secret")): tracking.secret is too short: use at least 16 characters (32 random bytes is best)") }

        var options = RelayOptions(
            username: value("relay.username"), password: value("relay.password").map(Secret.init),
            headers: headers.map { (name: $0.0, value: $0.1) })
        if let s = value("relay.starttls") {
            if let mode = SMTPConfiguration.STARTTLS(rawValue: s) { options.starttls = mode } else { problems.append("\(place("relay.starttls")): relay.starttls must be required, opportunistic or off") }
        }
        if let f = value("relay.format") {
            if let format = HTTPRelayFormat(rawValue: f) { options.format = format } else { problems.append("\(place("relay.format")): relay.format must be nurture, postmark, sendgrid or rfc822") }
        }
        if let c = value("relay.connections") {
            if let n = Int(c), n > 0, n <= 256 { options.connections = n } else { problems.append("\(place("relay.connections")): relay.connections must be a number from 1 to 256") }
        }
        if let v = value("relay.verify_tls") { options.verifyPeer = v != "false" }
        options.caFile = value("relay.ca_file")
        let relayURL = value("relay.url") ?? "file://outbox"
        var relay: RelayURL?
        do {
            relay = try RelayURL.parse(relayURL, options: options)
        } catch {
            problems.append("\(place("relay.url")): \(error)")
        }

        var configuration = Configuration(from: from ?? (try! EmailAddress("nurture@localhost")), secret: Secret(secret), relay: relay ?? .file(URL(fileURLWithPath: "outbox")))
        configuration.database = value("database") ?? configuration.database
        do {
            if case .postgres(let url) = try StoreLocation(parsing: configuration.database) { _ = try PostgresURL(url) }
        } catch {
            problems.append("\(place("database")): \(error)")
        }
        configuration.workflows = value("workflows") ?? configuration.workflows
        configuration.templates = value("templates") ?? configuration.templates
        configuration.pidFile = value("pid_file")
        if let r = value("sender.reply_to") {
            configuration.replyTo = try? EmailAddress.parse(r)
            if configuration.replyTo == nil { problems.append("\(place("sender.reply_to")): sender.reply_to '\(r)' is not an email address") }
        }
        configuration.bounceAddress = value("sender.bounce_address")
        configuration.unsubscribeMailto = value("sender.unsubscribe_mailto")
        configuration.trackingBaseURL = value("tracking.base_url") ?? configuration.trackingBaseURL
        if !(configuration.trackingBaseURL.hasPrefix("http://") || configuration.trackingBaseURL.hasPrefix("https://")) {
            problems.append("\(place("tracking.base_url")): tracking.base_url must be an http(s) URL")
        }
        configuration.senderIsSet = value("sender.from") != nil
        configuration.sourceName = path ?? "configuration"
        configuration.trackingURLPlace = values["tracking.base_url"].map { _ in place("tracking.base_url") }
        if let text = value("tracking.allow_http") {
            if text == "true" || text == "false" { configuration.allowHTTPTracking = text == "true" } else { problems.append("\(place("tracking.allow_http")): tracking.allow_http must be true or false") }
        }
        if let listen = value("http.listen") {
            let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) {
                configuration.listenHost = parts[0].isEmpty ? "0.0.0.0" : String(parts[0])
                configuration.listenPort = port
            } else {
                problems.append("\(place("http.listen")): http.listen must be HOST:PORT, e.g. 127.0.0.1:8080")
            }
        }
        configuration.apiKey = value("http.api_key").map(Secret.init)
        switch value("http.metrics") {
        case nil, "key": break
        case "public": configuration.publicMetrics = true
        default: problems.append("\(place("http.metrics")): http.metrics must be key (behind http.api_key) or public")
        }
        func number<T: LosslessStringConvertible>(_ key: String, _ what: String, _ check: (T) -> Bool) -> T? {
            guard let text = value(key) else { return nil }
            guard let n = T(text), check(n) else { problems.append("\(place(key)): \(key) must be \(what)"); return nil }
            return n
        }
        func span(_ key: String) -> TimeSpan? {
            guard let text = value(key) else { return nil }
            guard let s = TimeSpan(parsing: text) else { problems.append("\(place(key)): \(key) must be a duration like 30s, 5m or 6h"); return nil }
            return s
        }
        configuration.rateLimit = number("relay.rate_limit", "a positive number of messages per second") { (n: Double) in n > 0 }
        configuration.maxAttempts = number("relay.max_attempts", "a number from 1 to 100") { (n: Int) in (1...100).contains(n) } ?? configuration.maxAttempts
        configuration.retryBase = span("relay.retry_after") ?? configuration.retryBase
        configuration.retryMax = span("relay.retry_max") ?? configuration.retryMax
        configuration.pollInterval = span("scheduler.poll_interval") ?? configuration.pollInterval
        configuration.idleTimeout = span("http.idle_timeout") ?? configuration.idleTimeout
        configuration.maxConnections = number("http.max_connections", "a number from 16 to 1000000") { (n: Int) in (16...1_000_000).contains(n) }
        configuration.batchSize = number("scheduler.batch_size", "a number from 1 to 10000") { (n: Int) in (1...10_000).contains(n) } ?? configuration.batchSize
        if let n = number("tracking.machine_open_seconds", "a number of seconds from 0 to 3600", { (n: Int) in (0...3600).contains(n) }) { configuration.machineRules.openWithin = TimeSpan(seconds: n) }
        if let n = number("tracking.scanner_click_seconds", "a number of seconds from 0 to 3600", { (n: Int) in (0...3600).contains(n) }) { configuration.machineRules.clickWithin = TimeSpan(seconds: n) }
        if let n = number("tracking.scanner_links", "a number of links from 0 (off) to 100", { (n: Int) in (0...100).contains(n) }) { configuration.machineRules.burstLinks = n }
        if let n = number("tracking.scanner_window_seconds", "a number of seconds from 1 to 3600", { (n: Int) in (1...3600).contains(n) }) { configuration.machineRules.burstWindow = TimeSpan(seconds: n) }
        if let agents = value("tracking.scanner_user_agents") {
            configuration.machineRules.userAgents = agents.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        }
        if let text = value("reports.attribution_window") {
            if text == "off" || text == "0" {
                configuration.attribution.window = TimeSpan(seconds: 0)
            } else if let window = TimeSpan(parsing: text), window.seconds > 0 {
                configuration.attribution.window = window
            } else {
                problems.append("\(place("reports.attribution_window")): reports.attribution_window must be a duration like 3d or 12h, or off")
            }
        }
        if let events = value("reports.attribution_events") {
            configuration.attribution.events = Set(events.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        configuration.dkim = dkim
        configuration.dkimProblems = dkimProblems
        configuration.headers = customHeaders
        configuration.webhooks = webhooks
        /// `${NAME}` reads the environment (a secret kept out of the file).
        func secretValue(_ key: String) -> String? {
            guard let text = value(key) else { return nil }
            switch Self.expand(text, environment: environment) {
            case .success(let found): return found
            case .failure(let missing):
                problems.append("\(place(key)): \(key): \(missing)")
                return nil
            }
        }
        switch (value("providers.postmark.username"), secretValue("providers.postmark.password")) {
        case (let user?, let password?): configuration.providers.postmark = .init(username: user, password: Secret(password))
        case (nil, nil): break
        case (nil, _): problems.append("\(place("providers.postmark.password")): providers.postmark needs a username as well as a password")
        case (_, nil): if values["providers.postmark.password"] == nil { problems.append("\(place("providers.postmark.username")): providers.postmark needs a password as well as a username") }
        }
        if let url = value("bounce_mailbox.url") {
            let scheme = url.split(separator: ":").first?.lowercased()
            if scheme != "imaps" && scheme != "imap" {
                problems.append("\(place("bounce_mailbox.url")): bounce_mailbox.url must be imaps://host/MAILBOX (or imap:// with STARTTLS)")
            }
            let user = value("bounce_mailbox.username")
            if user == nil { problems.append("\(place("bounce_mailbox.url")): bounce_mailbox needs a username and a password") }
            if let user, let password = secretValue("bounce_mailbox.password") {
                var settings = BounceMailboxSettings(imap: IMAPMailbox.Settings(
                    url: url, username: user, password: Secret(password), caFile: value("bounce_mailbox.ca_file"),
                    verifyPeer: value("bounce_mailbox.verify_tls") != "false"))
                settings.pollInterval = span("bounce_mailbox.poll_interval") ?? settings.pollInterval
                switch value("bounce_mailbox.processed") {
                case nil, "delete": break
                case "keep": settings.remove = false
                default: problems.append("\(place("bounce_mailbox.processed")): bounce_mailbox.processed must be delete or keep")
                }
                configuration.bounceMailbox = settings
            } else if user != nil, values["bounce_mailbox.password"] == nil {
                problems.append("\(place("bounce_mailbox.url")): bounce_mailbox needs a password")
            }
        } else if values.keys.contains(where: { $0.hasPrefix("bounce_mailbox.") }) {
            problems.append("\(place(values.keys.first { $0.hasPrefix("bounce_mailbox.") }!)): bounce_mailbox needs a url, e.g. imaps://imap.acme.example/INBOX")
        }
        if let key = secretValue("providers.sendgrid.verification_key") {
            do {
                configuration.providers.sendgrid = try SendGridSignature(publicKey: key)
            } catch {
                problems.append("\(place("providers.sendgrid.verification_key")): providers.sendgrid.verification_key: \(error)")
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return configuration
    }

    /// Why a `${NAME}` setting has no value.
    struct UnsetVariable: Error, CustomStringConvertible {
        var name: String
        var description: String { "the environment variable \(name) is not set" }
    }

    /// A setting's value, `${NAME}` read from `environment` (a secret kept out of the file);
    /// any other text as it is.
    static func expand(_ text: String, environment: [String: String]) -> Result<String, UnsetVariable> {
        guard text.hasPrefix("${"), text.hasSuffix("}") else { return .success(text) }
        let name = String(text.dropFirst(2).dropLast())
        guard let found = environment[name], !found.isEmpty else { return .failure(UnsetVariable(name: name)) }
        return .success(found)
    }

    /// Whether `url`'s host is this machine: `localhost`, `127.x.x.x` or `[::1]`.
    static func isLoopback(url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        let ipv4Loopback = octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        return host == "localhost" || host.hasSuffix(".localhost") || ipv4Loopback || host == "::1" || host == "[::1]"
    }

    /// Why this configuration must not send email, and what is only fit for development, each
    /// with its place: no sender address; a tracking URL that is http on a host other than this
    /// machine (on a loopback host: a warning); DKIM keys that cannot be used. `fromGiven` and
    /// `trackingURL` are a command's own values, which replace the configuration's.
    public func sendingCheck(fromGiven: Bool = false, trackingURL: String? = nil) -> (problems: [String], warnings: [String]) {
        var problems: [String] = [], warnings: [String] = []
        if !senderIsSet, !fromGiven {
            problems.append("\(sourceName): sender.from is missing: set it (or NURTURE_FROM) to the address your emails come from, e.g. \"Acme <hello@acme.example>\"; without it they would come from nurture@localhost")
        }
        let url = trackingURL ?? trackingBaseURL
        if url.hasPrefix("http://"), !allowHTTPTracking {
            let place = trackingURL != nil ? "--tracking-url '\(url)' is http"
                : trackingURLPlace.map { "\($0): tracking.base_url '\(url)' is http" } ?? "\(sourceName): tracking.base_url is not set, so it is \(url)"
            if Self.isLoopback(url: url) {
                warnings.append("\(place): links in emails reach this machine only (fine for development; use https://your-tracking-host for real email)")
            } else {
                problems.append("\(place): use https: mail clients and one-click unsubscribe (RFC 8058) need it (tracking.allow_http: true permits http, for a test network)")
            }
        }
        return (problems + dkimProblems, warnings)
    }

    /// `dkim:` one key `{ domain, selector, private_key_file }`, or a list of them. The file's
    /// form is checked like any setting; what is wrong with a key (its file unreadable, not a
    /// key, a bad domain or selector) is returned apart, with its place: only the commands
    /// that send need the keys (a `nurture report` by another user need not read them).
    private static func readDKIM(_ node: Node, document: YAMLDocument) -> (keys: [DKIMKey], problems: [String]) {
        let entries: [Node]
        if case .sequence = node {
            entries = document.list(node, "dkim") ?? []
        } else {
            entries = [node]
        }
        var keys: [DKIMKey] = []
        var problems: [String] = []
        func problem(_ at: Node, _ message: String) { problems.append("\(document.location(at)): error: \(message)") }
        for entry in entries {
            guard let map = document.mapping(entry, "dkim") else { continue }
            map.rejectUnknownKeys(["domain", "selector", "private_key_file"])
            guard let domain = map.string("domain", required: true), let selector = map.string("selector", required: true),
                  let file = map.string("private_key_file", required: true), let fileNode = map.value("private_key_file") else { continue }
            let pem: String
            switch LimitedFile.readText(file, limit: 64 << 10) {
            case .success(let text): pem = text
            case .failure(let failure):
                problem(fileNode, "dkim.private_key_file '\(file)': \(failure)")
                continue
            }
            do {
                let key = try DKIMKey(domain: domain, selector: selector, pem: pem)
                if keys.contains(where: { $0.domain == key.domain && $0.selector == key.selector }) {
                    document.error(entry, "dkim: \(key.dnsName) is listed twice")
                    continue
                }
                keys.append(key)
            } catch {
                switch error {
                case .badDomain: problem(map.value("domain") ?? entry, "dkim.domain: \(error)")
                case .badSelector: problem(map.value("selector") ?? entry, "dkim.selector: \(error)")
                default: problem(fileNode, "dkim.private_key_file '\(file)': \(error)")
                }
            }
        }
        return (keys, problems)
    }

    static let known: [String: [String]] = [
        "": ["database", "workflows", "templates", "pid_file", "sender", "tracking", "http", "relay", "scheduler", "reports", "dkim", "headers", "webhooks", "providers", "bounce_mailbox"],
        "sender.": ["from", "reply_to", "bounce_address", "unsubscribe_mailto"],
        "tracking.": ["base_url", "allow_http", "secret", "machine_open_seconds", "scanner_click_seconds", "scanner_links", "scanner_window_seconds", "scanner_user_agents"],
        "http.": ["listen", "api_key", "metrics", "idle_timeout", "max_connections"],
        "relay.": ["url", "username", "password", "starttls", "verify_tls", "ca_file", "connections", "rate_limit", "max_attempts", "retry_after", "retry_max", "format", "headers"],
        "scheduler.": ["poll_interval", "batch_size"],
        "reports.": ["attribution_window", "attribution_events"],
        "providers.": ["postmark", "sendgrid"],
        "providers.postmark.": ["username", "password"],
        "providers.sendgrid.": ["verification_key"],
        "bounce_mailbox.": ["url", "username", "password", "poll_interval", "processed", "ca_file", "verify_tls"],
    ]

    /// Flattens the YAML into `section.key` values, reporting unknown keys.
    private static func read(_ map: MappingReader, prefix: String, into values: inout [String: (value: String, location: String)], headers: inout [(String, Secret)], document: YAMLDocument) {
        map.rejectUnknownKeys(known[prefix] ?? [])
        for key in map.keys where (known[prefix] ?? []).contains(key) {
            guard let node = map.value(key) else { continue }
            if prefix == "", key == "dkim" || key == "headers" || key == "webhooks" { continue }  // readDKIM, customHeaders, WebhookSettings
            if prefix == "relay.", key == "headers" {
                guard let h = document.mapping(node, "relay.headers") else { continue }
                for name in h.keys { if let v = h.string(name) { headers.append((name, Secret(v))) } }
                continue
            }
            if known[prefix + key + "."] != nil {
                if let inner = document.mapping(node, prefix + key) { read(inner, prefix: prefix + key + ".", into: &values, headers: &headers, document: document) }
                continue
            }
            if let text = document.string(node, prefix + key) {
                values[prefix + key] = (text, document.location(node).description)
            }
        }
    }
}

/// Why the configuration cannot be used: every problem, one per line.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}
