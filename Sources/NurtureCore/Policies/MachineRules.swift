import Foundation
import NurtureCore

/// How opens and clicks by machines (image proxies, link scanners) are told from people's.
/// Machine events are recorded, flagged, and neither scored nor counted by branches.
public struct MachineRules: Sendable, Equatable {
    /// An open this soon after delivery is a proxy fetching images as the mail arrives.
    public var openWithin: TimeSpan = TimeSpan(seconds: 2)
    /// A click this soon after delivery is a security scanner following links.
    public var clickWithin: TimeSpan = TimeSpan(seconds: 10)
    /// Clicks on this many different links of one email within `burstWindow` are a scanner.
    public var burstLinks = 3
    public var burstWindow = TimeSpan(seconds: 10)
    /// User agents of known scanners and proxies (case-insensitive substrings).
    public var userAgents = ["bot", "crawler", "spider", "scanner", "proofpoint", "mimecast", "barracuda", "safelinks", "urldefense", "preview"]

    public init() {}

    public func isMachineUserAgent(_ agent: String?) -> Bool {
        guard let agent = agent?.lowercased(), !agent.isEmpty else { return false }
        return userAgents.contains { agent.contains($0) }
    }
}
