import Foundation
import Hummingbird
import HummingbirdCore
import HTTPTypes
import Logging
import NurtureApp
import NurtureContent
import NurtureCore

/// Nurture's HTTP routes: tracking (`/o`, `/c`, `/v`, `/u`), the event and lead API (`/v1`,
/// bearer key), relay webhooks, health and metrics, over the application's ``NurtureAPI``.
public enum NurtureRoutes {
    /// Bodies larger than this are refused with 413 before they are read.
    public static let maxBody = 1 << 20

    /// The 43-byte transparent 1×1 GIF.
    static let pixel: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    /// How the server treats its clients.
    public struct Options: Sendable {
        /// Bearer key for `/v1` (and `/metrics` unless public); without one the API is closed.
        public var apiKey: Secret?
        /// Whether `GET /metrics` answers without the key (lead and queue counts are business data).
        public var publicMetrics = false
        /// A connection that sends no complete request for this long is closed (slow or
        /// half-open clients, idle keep-alives).
        public var idleTimeout: Duration = .seconds(30)
        /// Connections served at once; past it, new ones wait in the listen backlog.
        public var maxConnections = 4096
        /// The time each request is handled at.
        public var clock: any WallClock
        /// The metrics text for `GET /metrics` (Prometheus exposition); none: 404.
        public var exposition: (@Sendable () async throws -> String)?
        /// How the email providers' webhooks authenticate (`/v1/webhooks/postmark`, `/sendgrid`).
        public var providers = ProviderWebhookAuth()

        public init(apiKey: Secret?, publicMetrics: Bool = false, idleTimeout: Duration = .seconds(30), maxConnections: Int = 4096, clock: any WallClock = SystemClock(),
                    exposition: (@Sendable () async throws -> String)? = nil, providers: ProviderWebhookAuth = ProviderWebhookAuth()) {
            self.providers = providers
            self.apiKey = apiKey
            self.publicMetrics = publicMetrics
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
            self.clock = clock
            self.exposition = exposition
        }
    }

    /// The pixel's answer, made once (every open gets the same bytes and fields).
    static let pixelBuffer = ByteBuffer(bytes: pixel)
    static let pixelHeaders: HTTPFields = [.contentType: "image/gif", .cacheControl: "no-store, no-cache, must-revalidate, max-age=0"]

    public static func router(api backend: any NurtureAPI, options: Options, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router()
        let clock = options.clock
        router.get("/healthz") { _, _ -> String in "ok\n" }
        let metrics: @Sendable (Request, BasicRequestContext) async throws -> Response = { [exposition = options.exposition] _, _ in
            guard let exposition else { throw HTTPError(.notFound, message: "metrics are not served here") }
            let text = try await exposition()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        if options.publicMetrics {
            router.get("/metrics", use: metrics)
        } else {
            router.group("/metrics").add(middleware: BearerKeyMiddleware(key: options.apiKey)).get(use: metrics)
        }

        // Tracking: public, token-signed.
        router.get("/o/:token") { request, context -> Response in
            let token = try context.parameters.require("token")
            guard try await backend.open(token: token, userAgent: request.headers[.userAgent], now: clock.now()) else {
                throw HTTPError(.notFound, message: "unknown tracking link")
            }
            return Response(status: .ok, headers: pixelHeaders, body: .init(byteBuffer: pixelBuffer))
        }
        router.get("/c/:token") { request, context -> Response in
            let token = try context.parameters.require("token")
            guard let target = try await backend.click(token: token, userAgent: request.headers[.userAgent], now: clock.now()) else {
                throw HTTPError(.notFound, message: "unknown tracking link")
            }
            return Response(status: .found, headers: [.location: target, .cacheControl: "no-store"])
        }
        router.get("/v/:token") { _, context -> Response in
            let token = try context.parameters.require("token")
            guard let page = try await backend.webView(token: token, now: clock.now()) else { throw HTTPError(.notFound, message: "unknown link") }
            return html(page)
        }
        router.get("/u/:token") { _, context -> Response in
            let token = try context.parameters.require("token")
            guard try await backend.canUnsubscribe(token: token) else { throw HTTPError(.notFound, message: "unknown unsubscribe link") }
            return html(UnsubscribePage.confirm(action: "/u/\(token)"))
        }
        // RFC 8058 one-click (List-Unsubscribe-Post) and the confirmation page's button: POST only,
        // so link scanners that follow every GET never unsubscribe anyone.
        router.post("/u/:token") { _, context -> Response in
            let token = try context.parameters.require("token")
            guard try await backend.unsubscribe(token: token, now: clock.now()) else { throw HTTPError(.notFound, message: "unknown unsubscribe link") }
            return html(UnsubscribePage.done)
        }

        // The dashboard: the API key as a Basic password (or the bearer key).
        router.group("/dashboard").add(middleware: DashboardAuthMiddleware(key: options.apiKey)).get { request, _ -> Response in
            let period = try reportPeriod(request, now: clock.now())
            let sequence = request.uri.queryParameters["sequence"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            let page = DashboardPage.html(
                funnel: try await backend.funnelReport(period: period),
                steps: try await backend.stepsReport(period: period, sequence: sequence),
                suppressions: try await backend.suppressionReport(period: period),
                sequence: sequence, generatedAt: clock.now())
            return Response(status: .ok, headers: dashboardHeaders, body: .init(byteBuffer: ByteBuffer(string: page)))
        }

        // The description of all this (public: it holds no data).
        router.get("/v1/openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }

        // The API: bearer key.
        let api = router.group("/v1").add(middleware: BearerKeyMiddleware(key: options.apiKey))
        api.post("/events") { request, context -> Response in
            let json = try await APIInput.json(request, context: context, timeout: options.idleTimeout)
            let now = clock.now()
            let events = try APIInput.events(json, now: now)
            let result = try await backend.ingest(events, now: now)
            return try jsonResponse(.accepted, ["recorded": result.recorded, "duplicates": result.duplicates, "unknown_leads": result.unknownLeads])
        }
        api.post("/leads") { request, context -> Response in
            let body = try await APIInput.body(request, timeout: options.idleTimeout)
            let lead: Lead
            do {
                lead = try LeadJSON.decodeForAPI(body)
            } catch {
                throw HTTPError(.badRequest, message: "\(error)")
            }
            let created = try await backend.upsert(lead, now: clock.now())
            return try jsonResponse(created ? .created : .ok, ["email": lead.email, "created": created])
        }
        api.get("/leads/:email") { _, context -> Response in
            let raw = try context.parameters.require("email")
            let email = EmailAddress.canonicalIfValid(raw.removingPercentEncoding ?? raw)
            let found: [String: any Sendable]?
            do {
                found = try await backend.leadReport(email: email, now: clock.now())
            } catch let error as StoreError {
                throw HTTPError(.conflict, message: "\(error)")
            }
            guard let report = found else { throw HTTPError(.notFound, message: "no lead \(email)") }
            return try jsonResponse(.ok, report)
        }
        api.get("/reports/funnel") { request, _ -> Response in
            try reportResponse(try await backend.funnelReport(period: try reportPeriod(request, now: clock.now())))
        }
        api.get("/reports/steps") { request, _ -> Response in
            let sequence = request.uri.queryParameters["sequence"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            return try reportResponse(try await backend.stepsReport(period: try reportPeriod(request, now: clock.now()), sequence: sequence))
        }
        api.post("/webhooks/relay") { request, context -> Response in
            let json = try await APIInput.json(request, context: context, timeout: options.idleTimeout)
            let reports = try APIInput.relayReports(json)
            var unknown = 0
            for report in reports where try await !backend.relayReport(report, now: clock.now()) { unknown += 1 }
            return try jsonResponse(.accepted, ["applied": reports.count - unknown, "unknown": unknown])
        }
        // The providers' own webhooks: outside the bearer key (a provider cannot send it), each
        // with the provider's authentication.
        router.post("/v1/webhooks/postmark") { [auth = options.providers.postmark] request, context -> Response in
            guard let auth else {
                throw HTTPError(.unauthorized, message: "the Postmark webhook is disabled: set providers.postmark.username and password")
            }
            guard auth.accepts(request.headers[.authorization]) else {
                throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: #"Basic realm="Nurture webhooks""#], message: "wrong or missing credentials: put providers.postmark's user and password in the webhook URL")
            }
            let json = try await APIInput.json(request, context: context, timeout: options.idleTimeout)
            let reports = try PostmarkWebhook.reports(json)
            return try await applyProviderReports(reports, ignored: reports.isEmpty ? 1 : 0)
        }
        router.post("/v1/webhooks/sendgrid") { [verifier = options.providers.sendgrid] request, context -> Response in
            guard let verifier else {
                throw HTTPError(.unauthorized, message: "the SendGrid webhook is disabled: set providers.sendgrid.verification_key")
            }
            let body = try await APIInput.body(request, timeout: options.idleTimeout)
            guard let signature = request.headers[HTTPField.Name(SendGridSignature.signatureHeader)!],
                  let timestamp = request.headers[HTTPField.Name(SendGridSignature.timestampHeader)!],
                  verifier.verify(signature: signature, timestamp: timestamp, body: body) else {
                throw HTTPError(.unauthorized, message: "the SendGrid signature is missing or does not verify with providers.sendgrid.verification_key")
            }
            let (reports, ignored) = try SendGridWebhook.reports(try APIInput.json(body))
            return try await applyProviderReports(reports, ignored: ignored)
        }
        @Sendable func applyProviderReports(_ reports: [RelayReport], ignored: Int) async throws -> Response {
            var unknown = 0
            for report in reports where try await !backend.relayReport(report, now: clock.now()) { unknown += 1 }
            return try jsonResponse(.ok, ["applied": reports.count - unknown, "ignored": ignored, "unknown": unknown])
        }
        return router
    }

    /// The Hummingbird application, a `Service` for the service group.
    public static func application(host: String, port: Int, api: any NurtureAPI, options: Options, logger: Logger) -> some ApplicationProtocol {
        Application(
            router: router(api: api, options: options, logger: logger),
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(options.idleTimeout / .nanoseconds(1))))),
            configuration: .init(
                address: .hostname(host, port: port), serverName: "nurture",
                availableConnectionsDelegate: MaximumAvailableConnections(options.maxConnections)),
            logger: logger)
    }

    /// The dashboard's headers: never cached or framed, no script, nothing loaded from elsewhere.
    static let dashboardHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
        .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff", HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    static func html(_ page: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// The period a report request names (`since`, `until`); 400 with the reason when unreadable.
    static func reportPeriod(_ request: Request, now: Date) throws -> ReportPeriod {
        do {
            return try ReportPeriod(since: request.uri.queryParameters["since"].map(String.init),
                                    until: request.uri.queryParameters["until"].map(String.init), now: now)
        } catch {
            throw HTTPError(.badRequest, message: "\(error)")
        }
    }

    static func reportResponse(_ report: some Encodable) throws -> Response {
        let data = try ReportJSON.encoder().encode(report)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func jsonResponse(_ status: HTTPResponse.Status, _ value: [String: any Sendable]) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
