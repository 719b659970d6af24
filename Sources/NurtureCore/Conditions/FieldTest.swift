import Foundation
/// A test on one value (a lead field, or an event property).
public enum FieldTest: Hashable, Sendable, CustomStringConvertible {
    /// Equal, ignoring case.
    case equals(String)
    /// Equal to one of these, ignoring case.
    case oneOf([String])
    /// The pattern matches somewhere in the value.
    case matches(Pattern)
    /// Starts with this text (`/pricing` matches `/pricing/teams`).
    case prefix(String)
    /// A number within `lower...upper`.
    case between(Double, Double)
    case atLeast(Double)
    case atMost(Double)
    /// The value is present and not empty (`true`), or absent or empty (`false`).
    case exists(Bool)

    /// Whether `value` (nil when absent) passes.
    public func test(_ value: String?) -> Bool {
        let present = value.map { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? false
        if case .exists(let expected) = self { return present == expected }
        guard let value, present else { return false }
        switch self {
        case .equals(let expected): return value.compare(expected, options: .caseInsensitive) == .orderedSame
        case .oneOf(let options): return options.contains { value.compare($0, options: .caseInsensitive) == .orderedSame }
        case .matches(let pattern): return pattern.matches(value)
        case .prefix(let prefix): return value.lowercased().hasPrefix(prefix.lowercased())
        case .between(let low, let high): return Self.number(value).map { $0 >= low && $0 <= high } ?? false
        case .atLeast(let low): return Self.number(value).map { $0 >= low } ?? false
        case .atMost(let high): return Self.number(value).map { $0 <= high } ?? false
        case .exists: return true
        }
    }

    /// Numbers as people type them: `1,200`, ` 50 `, `12.5`.
    static func number(_ text: String) -> Double? {
        Double(text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "_", with: "").trimmingCharacters(in: .whitespaces))
    }

    public var description: String {
        switch self {
        case .equals(let v): "is '\(v)'"
        case .oneOf(let v): "in [\(v.joined(separator: ", "))]"
        case .matches(let p): "matches /\(p.source)/"
        case .prefix(let p): "starts with '\(p)'"
        case .between(let a, let b): "between \(Self.format(a)) and \(Self.format(b))"
        case .atLeast(let a): "at least \(Self.format(a))"
        case .atMost(let b): "at most \(Self.format(b))"
        case .exists(let e): e ? "is set" : "is not set"
        }
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
