/// A compiled regular expression, as written in a workflow file (`matches: "(?i)\\bcto\\b"`).
/// Matching looks for the pattern anywhere in the value; anchor it with `^…$` for a whole match.
public struct Pattern: Hashable, Sendable, CustomStringConvertible {
    public let source: String
    private let regex: Box

    /// - Throws: the regex compiler's error when `source` is not a valid pattern.
    public init(_ source: String) throws {
        self.source = source
        self.regex = Box(try Regex(source))
    }

    public func matches(_ value: String) -> Bool {
        (try? regex.value.firstMatch(in: value)) != nil
    }

    public static func == (a: Pattern, b: Pattern) -> Bool { a.source == b.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
    public var description: String { source }

    /// Regex values are immutable once compiled (their lazy program is initialised atomically),
    /// so matching from several threads is safe; the box only hides `AnyRegexOutput`'s missing
    /// Sendable conformance.
    private final class Box: @unchecked Sendable {
        let value: Regex<AnyRegexOutput>
        init(_ value: Regex<AnyRegexOutput>) { self.value = value }
    }
}
