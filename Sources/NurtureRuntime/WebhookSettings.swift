import Foundation
import NurtureApp
import NurtureContent
import NurtureCore
import Yams

/// One outbound webhook endpoint as nurture.yaml declares it (`webhooks:`), with its secret.
///
/// ```yaml
/// webhooks:
///   - url: https://crm.example.com/hooks/nurture
///     secret: ${CRM_WEBHOOK_SECRET}          # whsec_…, from the environment
///     events: [stage_changed, goal_reached, unsubscribed, bounced, complained, score_crossed]
///     stages: [mql, sql]                      # stage_changed: only moves into these
///     score_thresholds: [50, 80]              # score_crossed: these scores, up or down
///     max_attempts: 30                        # then dead (default 30: 10 to 20 hours)
///     retry_after: 5s                         # first retry; doubles up to retry_max (1h)
/// ```
public struct WebhookSettings: Sendable {
    public var endpoint: WebhookEndpoint
    public var secret: Secret

    /// The dispatcher's target: the endpoint and its signing key.
    public func target() throws -> WebhookDispatcher.Target {
        WebhookDispatcher.Target(endpoint: endpoint, signature: try WebhookSignature(secret: secret.value))
    }

    /// Reads `webhooks:` (a list of endpoints), reporting each problem at its place.
    /// `${NAME}` in a secret is read from `environment`.
    static func read(_ node: Node, document: YAMLDocument, environment: [String: String]) -> [WebhookSettings] {
        var settings: [WebhookSettings] = []
        let known = WebhookEventType.allCases.map(\.rawValue)
        for entry in document.list(node, "webhooks") ?? [] {
            guard let map = document.mapping(entry, "webhooks entry") else { continue }
            map.rejectUnknownKeys(["url", "secret", "events", "stages", "score_thresholds", "max_attempts", "retry_after", "retry_max"])
            guard let url = map.string("url", required: true), let urlNode = map.value("url") else { continue }
            let parsed = URLComponents(string: url)
            guard let scheme = parsed?.scheme?.lowercased(), scheme == "https" || scheme == "http", parsed?.host?.isEmpty == false else {
                document.error(urlNode, "webhooks url '\(url)' must be an http(s) URL")
                continue
            }
            if scheme == "http", !Configuration.isLoopback(url: url) {
                document.error(urlNode, "webhooks url '\(url)' is http: lead data would cross the network in clear; use https (http is allowed on this machine only)")
            }
            if settings.contains(where: { $0.endpoint.url == url }) {
                document.error(urlNode, "webhooks: '\(url)' is listed twice; give one entry all its events")
                continue
            }
            var secretText = map.string("secret", required: true)
            if let text = secretText {
                switch Configuration.expand(text, environment: environment) {
                case .success(let found): secretText = found
                case .failure(let missing):
                    document.error(map.value("secret") ?? entry, "webhooks secret: \(missing)")
                    continue
                }
            }
            if let text = secretText {
                do {
                    _ = try WebhookSignature(secret: text)
                } catch {
                    document.error(map.value("secret") ?? entry, "webhooks secret: \(error)")
                    continue
                }
            }
            var events: Set<WebhookEventType> = []
            let eventNodes = map.list("events", required: true)
            for item in eventNodes ?? [] {
                guard let name = document.string(item, "webhooks event") else { continue }
                guard let type = WebhookEventType(rawValue: name) else {
                    document.error(item, "webhooks events: '\(name)' is not an event\(Spelling.hint(for: name, among: known)) (expected: \(known.joined(separator: ", ")))")
                    continue
                }
                events.insert(type)
            }
            if eventNodes?.isEmpty == true {
                document.error(map.value("events") ?? entry, "webhooks events: list at least one of \(known.joined(separator: ", "))")
            }
            let stages = map.list("stages").map { Set($0.compactMap { document.string($0, "webhooks stage") }) }
            var thresholds: [Int] = []
            for item in map.list("score_thresholds") ?? [] {
                guard let n = document.int(item, "webhooks score threshold") else { continue }
                if (1...100).contains(n) { thresholds.append(n) } else { document.error(item, "webhooks score_thresholds: \(n) is not a score from 1 to 100") }
            }
            if events.contains(.scoreCrossed), thresholds.isEmpty, map.value("score_thresholds") == nil {
                document.error(map.value("events") ?? entry, "webhooks: score_crossed needs score_thresholds, e.g. [50, 80]")
            }
            var retry = WebhookRetry()
            if let n = map.int("max_attempts") {
                if (1...100).contains(n) { retry.maxAttempts = n } else { document.error(map.value("max_attempts") ?? entry, "webhooks max_attempts must be a number from 1 to 100") }
            }
            if let span = map.span("retry_after") { retry.firstDelay = span }
            if let span = map.span("retry_max") { retry.maxDelay = span }
            retry = WebhookRetry(maxAttempts: retry.maxAttempts, firstDelay: retry.firstDelay, maxDelay: retry.maxDelay)
            guard let secret = secretText else { continue }
            settings.append(WebhookSettings(
                endpoint: WebhookEndpoint(url: url, events: events, stages: stages, scoreThresholds: thresholds, retry: retry),
                secret: Secret(secret)))
        }
        return settings
    }
}

extension Array where Element == WebhookSettings {
    /// The endpoints, for the stores and the dry-run.
    public var routes: WebhookRoutes { WebhookRoutes(map(\.endpoint)) }
}
