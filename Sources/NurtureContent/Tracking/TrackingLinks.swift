import NurtureCore

/// Builds the public tracking URLs of a send under the tracking server's base URL:
/// `/o/{token}` (open pixel), `/c/{token}` (click), `/u/{token}` (unsubscribe).
public struct TrackingLinks: Sendable {
    /// e.g. `https://t.acme.example` (no trailing slash needed).
    public let baseURL: String
    public let signer: TrackingSigner

    public init(baseURL: String, signer: TrackingSigner) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.signer = signer
    }

    public func openURL(_ id: SendID) -> String { "\(baseURL)/o/\(signer.sign(.open(id)))" }
    public func clickURL(_ id: SendID, target: String) -> String { "\(baseURL)/c/\(signer.sign(.click(id, url: target)))" }
    public func unsubscribeURL(_ id: SendID) -> String { "\(baseURL)/u/\(signer.sign(.unsubscribe(id)))" }
    public func viewURL(_ id: SendID) -> String { "\(baseURL)/v/\(signer.sign(.view(id)))" }

    /// True for URLs that already point at the tracking server (never wrapped twice).
    func isOwn(_ url: String) -> Bool { url.hasPrefix(baseURL + "/") }
}
