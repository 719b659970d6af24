/// Which events a rule applies to: a type, and tests on the event's properties
/// (`event: page_visited` `where: {path: /pricing}`).
public struct EventFilter: Hashable, Sendable, CustomStringConvertible {
    public var type: String
    public var properties: [String: FieldTest]
    public var location: SourceLocation

    public init(type: String, properties: [String: FieldTest] = [:], location: SourceLocation = .none) {
        self.type = type
        self.properties = properties
        self.location = location
    }

    /// Whether `event` is of this type and passes every property test.
    public func matches(_ event: Event) -> Bool {
        event.type == type && properties.allSatisfy { $0.value.test(event.properties[$0.key]) }
    }

    /// `form_submitted where form is 'quote'`: readable, and stable (used as a key).
    public var description: String {
        guard !properties.isEmpty else { return type }
        let tests = properties.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " and ")
        return "\(type) where \(tests)"
    }

    public static func == (a: EventFilter, b: EventFilter) -> Bool { a.type == b.type && a.properties == b.properties }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(properties)
    }
}
