/// A person Nurture nurtures: an address, what we know of them, and where they stand.
public struct Lead: Sendable, Equatable, Codable {
    /// Stable identifier (the store's key); never shown in URLs or headers.
    public var id: String
    /// The address mail goes to.
    public var email: String
    /// Profile fields by name (`first_name`, `company`, `job_title`, any custom field).
    public var fields: [String: String]
    /// IANA time zone (`Europe/Paris`) for send windows; `nil` uses the default.
    public var timeZone: String?
    /// The lifecycle stage's name (`lead`, `mql`, …).
    public var stage: String
    /// Explicit points: how well the profile fits.
    public var fitScore: Int
    /// Implicit points: what the lead did (after decay).
    public var engagementScore: Int
    public var tags: Set<String>

    public init(
        id: String, email: String, fields: [String: String] = [:], timeZone: String? = nil, stage: String = "lead",
        fitScore: Int = 0, engagementScore: Int = 0, tags: Set<String> = []
    ) {
        self.id = id
        self.email = email
        self.fields = fields
        self.timeZone = timeZone
        self.stage = stage
        self.fitScore = fitScore
        self.engagementScore = engagementScore
        self.tags = tags
    }

    /// Fit plus engagement, clamped to 0…100.
    public var score: Int { min(100, max(0, fitScore + engagementScore)) }

    /// The lead's name for a `To:` header: `first_name last_name`, or `name`, if known.
    public var displayName: String? {
        let parts = [fields["first_name"], fields["last_name"]].compactMap { $0?.isEmpty == false ? $0 : nil }
        if !parts.isEmpty { return parts.joined(separator: " ") }
        return fields["name"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
