import Foundation
import NurtureCore
import Yams

/// One YAML workflow file being read: positions for every node, and the problems found.
package final class YAMLDocument {
    /// The path shown in messages (relative to the workflows folder).
    package let path: String
    package private(set) var issues: [WorkflowIssue] = []

    package init(path: String) {
        self.path = path
    }

    /// Parses `text`; a syntax error is recorded (with its position) and gives `nil`.
    package func compose(_ text: String) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                issues.append(.error(SourceLocation(file: path, line: mark.line, column: mark.column), "YAML syntax: \(problem)"))
            default:
                issues.append(.error(SourceLocation(file: path, line: 1, column: 1), "YAML: \(error)"))
            }
        } catch {
            issues.append(.error(SourceLocation(file: path, line: 1, column: 1), "YAML: \(error)"))
        }
        return nil
    }

    package func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: path, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    package func error(_ node: Node, _ message: String) {
        issues.append(.error(location(node), message))
    }

    package func warning(_ node: Node, _ message: String) {
        issues.append(.warning(location(node), message))
    }

    /// What a node is, for "expected X, found Y" messages.
    package static func kind(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): scalar.string.isEmpty ? "nothing" : "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    // MARK: Typed values

    package func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else {
            error(node, "\(what): expected text, found \(Self.kind(node))")
            return nil
        }
        return scalar.string
    }

    package func int(_ node: Node, _ what: String) -> Int? {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string.replacingOccurrences(of: "+", with: "")) else {
            error(node, "\(what): expected a whole number, found \(Self.kind(node))")
            return nil
        }
        return value
    }

    package func number(_ node: Node, _ what: String) -> Double? {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string) else {
            error(node, "\(what): expected a number, found \(Self.kind(node))")
            return nil
        }
        return value
    }

    package func bool(_ node: Node, _ what: String) -> Bool? {
        guard case .scalar(let scalar) = node else {
            error(node, "\(what): expected true or false, found \(Self.kind(node))")
            return nil
        }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error(node, "\(what): expected true or false, found '\(scalar.string)'")
            return nil
        }
    }

    package func span(_ node: Node, _ what: String) -> TimeSpan? {
        guard case .scalar(let scalar) = node, let span = TimeSpan(parsing: scalar.string) else {
            error(node, "\(what): expected a duration like 30m, 36h, 2d, 1w or 2d3h, found \(Self.kind(node))")
            return nil
        }
        return span
    }

    package func list(_ node: Node, _ what: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            error(node, "\(what): expected a list, found \(Self.kind(node))")
            return nil
        }
        return Array(sequence)
    }

    package func mapping(_ node: Node, _ what: String) -> MappingReader? {
        guard case .mapping(let mapping) = node else {
            error(node, "\(what): expected a mapping (key: value lines), found \(Self.kind(node))")
            return nil
        }
        return MappingReader(mapping, node: node, document: self, context: what)
    }
}

/// Reads one mapping's keys, remembering which were used, so unknown keys can be reported
/// (with a suggestion when one is close to a known key).
package final class MappingReader {
    package let node: Node
    package let document: YAMLDocument
    package let context: String
    private var entries: [(key: String, keyNode: Node, value: Node)] = []

    package init(_ mapping: Node.Mapping, node: Node, document: YAMLDocument, context: String) {
        self.node = node
        self.document = document
        self.context = context
        for (key, value) in mapping {
            let name = key.scalar?.string ?? ""
            if entries.contains(where: { $0.key == name }) {
                document.error(key, "'\(name)' appears twice in \(context)")
                continue
            }
            entries.append((name, key, value))
        }
    }

    package var keys: [String] { entries.map(\.key) }

    package func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    /// The value of `key`; records an error when it is required and missing.
    package func value(_ key: String, required: Bool = false) -> Node? {
        if let entry = entries.first(where: { $0.key == key }) { return entry.value }
        if required { document.error(node, "\(context): missing '\(key)'") }
        return nil
    }

    package func string(_ key: String, required: Bool = false) -> String? {
        value(key, required: required).flatMap { document.string($0, "\(context) '\(key)'") }
    }

    package func int(_ key: String, required: Bool = false) -> Int? {
        value(key, required: required).flatMap { document.int($0, "\(context) '\(key)'") }
    }

    package func bool(_ key: String) -> Bool? {
        value(key).flatMap { document.bool($0, "\(context) '\(key)'") }
    }

    package func span(_ key: String, required: Bool = false) -> TimeSpan? {
        value(key, required: required).flatMap { document.span($0, "\(context) '\(key)'") }
    }

    package func list(_ key: String, required: Bool = false) -> [Node]? {
        value(key, required: required).flatMap { document.list($0, "\(context) '\(key)'") }
    }

    package func mapping(_ key: String, required: Bool = false) -> MappingReader? {
        value(key, required: required).flatMap { document.mapping($0, "\(context) '\(key)'") }
    }

    /// Reports every key not in `allowed`.
    package func rejectUnknownKeys(_ allowed: [String]) {
        for entry in entries where !allowed.contains(entry.key) {
            var message = "unknown key '\(entry.key)' in \(context)"
            if let suggestion = allowed.min(by: { editDistance($0, entry.key) < editDistance($1, entry.key) }),
               editDistance(suggestion, entry.key) <= max(2, entry.key.count / 3) {
                message += "; did you mean '\(suggestion)'?"
            } else {
                message += " (expected: \(allowed.joined(separator: ", ")))"
            }
            document.error(entry.keyNode, message)
        }
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
