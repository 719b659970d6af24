import Foundation
import NurtureCore
import Yams
// libyaml itself (Yams's C module), for the event-level duplicate-key scan: Yams stops at the
// first mapping with duplicates and names no duplicate's own position.
import CYaml
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One YAML workflow file being read: positions for every node, and the problems found.
package final class YAMLDocument {
    /// The path shown in messages (relative to the workflows folder).
    package let path: String
    package private(set) var issues: [WorkflowIssue] = []

    package init(path: String) {
        self.path = path
    }

    /// Parses `text`; a syntax error is recorded (with its position) and gives `nil`; so is
    /// each duplicated key, at its own position.
    ///
    /// The text is checked against ``YAMLLimits`` first (size, nesting, alias expansion), in
    /// bounded work, so what the readers walk afterwards is bounded too.
    package func compose(_ text: String) -> Node? {
        switch YAMLLimits.composeReportingAll(text) {
        case .success(let node):
            return node
        case .failure(let problems):
            for problem in problems.all {
                issues.append(.error(SourceLocation(file: path, line: problem.line, column: problem.column), problem.message))
            }
            return nil
        }
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
        case .scalar(let scalar): scalar.string.isEmpty ? "nothing" : "'\(excerpt(scalar.string))'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// A value as quoted in a message: whole when short, else its start (a message should
    /// not repeat a megabyte of YAML).
    package static func excerpt(_ text: String) -> String {
        text.count <= 80 ? text : "\(text.prefix(60))… (\(text.count) characters)"
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

/// What a YAML file may ask of the reader: bounded size, nesting and alias expansion.
///
/// Yams resolves an alias to the anchored node itself, so `b: &b [*a, *a, *a]` nested a few
/// times ("billion laughs") makes a tiny file whose tree has billions of nodes: the readers
/// walk that tree, and Yams hashes mapping keys while composing (an alias used as a key is
/// hashed in full). So the text is first composed with every `*` made harmless (no aliases:
/// a tree no bigger than the text), and that tree is measured, in linear work, as it would
/// be expanded. Only a file within the limits is composed for real.
package enum YAMLLimits {
    /// Largest workflow (or `defaults.yaml`) file.
    package static let maxFileBytes = 1 << 20
    /// Most values (scalars, lists and mappings, keys included) in a file once aliases are expanded.
    package static let maxNodes = 100_000
    /// Deepest nesting of lists and mappings, aliases included. (Conditions nest inside it.)
    package static let maxDepth = 64

    /// A problem found before or while composing: a position (1-based) and a message.
    package struct Problem: Error, Equatable {
        package var line: Int
        package var column: Int
        package var message: String

        package init(line: Int, column: Int, message: String) {
            self.line = line
            self.column = column
            self.message = message
        }
    }

    /// Every problem that stopped a file from composing, in file order (never empty): one,
    /// except for duplicate keys, which are each reported (up to ``maxReportedDuplicates``).
    package struct Problems: Error, Equatable {
        package var all: [Problem]

        package init(_ all: [Problem]) {
            precondition(!all.isEmpty)
            self.all = all
        }

        package var first: Problem { all[0] }
    }

    /// Checks `text` and composes it: `nil` for an empty document. The first problem only
    /// (see ``composeReportingAll(_:)`` for every duplicate key).
    package static func compose(_ text: String) -> Result<Node?, Problem> {
        composeReportingAll(text).mapError(\.first)
    }

    /// Checks `text` and composes it: `nil` for an empty document.
    package static func composeReportingAll(_ text: String) -> Result<Node?, Problems> {
        let bytes = text.utf8.count
        guard bytes <= maxFileBytes else {
            return .failure(Problems([Problem(line: 1, column: 1, message: tooBig(bytes))]))
        }
        if let problem = flowNesting(text) { return .failure(Problems([problem])) }
        return onLargeStack { composeMeasured(text) }
    }

    /// Stack for composing: libyaml lets block nesting (`- - - - x`) reach 1000 levels, Yams
    /// recurses once per level (and so does freeing the tree), which overflows a small thread
    /// stack (512 KiB) long before; the measure then refuses anything over ``maxDepth``.
    static let composeStack = 64 << 20

    /// Runs `body` on a thread of its own with a ``composeStack`` stack, and waits for it.
    private static func onLargeStack<T>(_ body: @escaping () -> T) -> T {
        let box = LargeStackBox(body)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.value = box.body!()
            box.body = nil
            done.signal()
        }
        thread.stackSize = composeStack
        thread.start()
        done.wait()
        return box.value!
    }

    /// Hands the work to the thread and the result back; the semaphore orders the accesses.
    private final class LargeStackBox<T>: @unchecked Sendable {
        var body: (() -> T)?
        var value: T?
        init(_ body: @escaping () -> T) { self.body = body }
    }

    private static func composeMeasured(_ text: String) -> Result<Node?, Problems> {
        // Aliases made harmless: `*name` becomes the plain text `\u{E000}name` (same line
        // and column for everything), so this tree has no shared parts.
        let hasAliases = text.utf8.contains(UInt8(ascii: "*"))
        let defused = hasAliases ? String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "*" ? aliasMark : $0 })) : text
        // Yams keeps anchors on nodes by weak reference: the parser must outlive the measure.
        let parser: Parser
        let tree: Node?
        do {
            parser = try Parser(yaml: defused)
            tree = try parser.singleRoot()
        } catch {
            return .failure(problems(error, text: defused))
        }
        guard let tree else { return .success(nil) }
        if let problem = withExtendedLifetime(parser, { measure(tree, aliases: hasAliases) }) { return .failure(Problems([problem])) }
        guard hasAliases else { return .success(tree) }
        do {
            return .success(try Yams.compose(yaml: text))
        } catch {
            return .failure(problems(error, text: text))
        }
    }

    /// `the file is N bytes, over the limit of 1 MiB (1048576 bytes): refused`.
    package static func tooBig(_ bytes: Int) -> String {
        LimitedFile.tooBig(bytes, limit: maxFileBytes)
    }

    private static let aliasMark: Unicode.Scalar = "\u{E000}"
    /// What libyaml allows in an anchor or alias name.
    private static let anchorCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".unicodeScalars)

    /// What stopped Yams, as problems at their positions. A message from Yams or libyaml is
    /// one line of at most ``maxLibraryMessage`` characters: Yams's own descriptions quote
    /// the text (for a duplicate key, the whole file).
    private static func problems(_ error: any Error, text: String) -> Problems {
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            let hint = indentationHint(oneLine(problem), line: mark.line, column: mark.column, text: text)
            return Problems([Problem(line: hint?.line ?? mark.line, column: hint?.column ?? mark.column, message: "YAML syntax: \(hint?.text ?? oneLine(problem))")])
        case .reader(let problem, let offset, _, _):
            let (line, column) = offset.map { position(ofCharacter: $0, in: text) } ?? (1, 1)
            return Problems([Problem(line: line, column: column, message: "YAML: \(oneLine(problem))")])
        case .duplicatedKeysInMapping(let keys, let context):
            let found = duplicateKeys(text)
            if !found.isEmpty { return Problems(found) }
            // The scan and Yams disagree (keys that are lists, mappings or aliases): what Yams says.
            let names = oneLine(keys.map { "'\(YAMLDocument.excerpt($0))'" }.joined(separator: ", "))
            return Problems([Problem(line: context.mark.line, column: context.mark.column, message: "duplicate key \(names) in this mapping")])
        default:
            return Problems([Problem(line: 1, column: 1, message: "YAML: \(oneLine(String(describing: error)))")])
        }
    }

    /// The errors a misindented line gives ("mapping values are not allowed in this context",
    /// "did not find expected key") in plain words. A line out of step with the line before is
    /// where the mistake usually is, and the parser may only notice a line later: when the
    /// line before the one it names starts left of the line before it, that line is named.
    static func indentationHint(_ problem: String, line: Int, column: Int, text: String) -> (line: Int, column: Int?, text: String)? {
        guard problem.contains("mapping values are not allowed") || problem.contains("did not find expected key") else { return nil }
        // "\r\n" is one Character: split at any line break.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        /// Where the line's content starts (list markers `- ` count as indentation), or `nil`
        /// for a blank or comment line.
        func indent(_ n: Int) -> Int? {
            guard n >= 1, n <= lines.count else { return nil }
            let text = lines[n - 1]
            let content = text.drop { $0 == " " || $0 == "-" }
            guard !content.trimmingCharacters(in: .whitespaces).isEmpty, !content.hasPrefix("#") else { return nil }
            return text.count - content.count
        }
        // "mapping values" at a `: ` that is not the line's first is a colon in a plain value
        // (`subject: Webinar: your recording`): a quoting problem, not an indentation one.
        if problem.contains("mapping values are not allowed"), line >= 1, line <= lines.count,
           let first = lines[line - 1].firstRange(of: ": ").map({ lines[line - 1].distance(from: lines[line - 1].startIndex, to: $0.lowerBound) + 1 }),
           first != column {
            let text = lines[line - 1].trimmingCharacters(in: .whitespaces).drop { $0 == "-" || $0 == " " }
            let parts = text.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let example = parts.count == 2 ? ", e.g. \(parts[0]): \"\(YAMLDocument.excerpt(parts[1]))\"" : ""
            return (line, nil, "\(problem) (a ': ' inside a value: put the value in quotes\(example))")
        }
        /// The nearest line before `n` with content.
        func previous(_ n: Int) -> Int? {
            var k = n - 1
            while k >= 1, indent(k) == nil { k -= 1 }
            return k >= 1 ? k : nil
        }
        let general = "\(problem) (check the indentation: the keys of one mapping start in the same column, and only a key ending in ':' has lines indented under it)"
        guard let here = indent(line), let before = previous(line), let beforeIndent = indent(before) else { return (line, nil, general) }
        // The line before starts left of its own predecessor and this one goes back right:
        // the line before is the one out of step.
        if here > beforeIndent, let earlier = previous(before), let earlierIndent = indent(earlier), earlierIndent > beforeIndent, earlierIndent == here {
            return (before, beforeIndent + 1, "this line starts at column \(beforeIndent + 1), left of the lines around it (column \(here + 1)): indent it like them (the parser noticed a line later: \(problem))")
        }
        if here > beforeIndent {
            return (line, here + 1, "this line starts at column \(here + 1), right of line \(before) (column \(beforeIndent + 1)), whose value is not a mapping: indent it like line \(before), or end line \(before)'s key with ':' (\(problem))")
        }
        return (line, nil, general)
    }

    /// The longest message passed on from the YAML library.
    package static let maxLibraryMessage = 200

    /// `text` on one line (control characters as spaces, runs of spaces as one), cut to
    /// ``maxLibraryMessage`` characters.
    package static func oneLine(_ text: String) -> String {
        var result = ""
        var space = false
        for scalar in text.prefix(maxLibraryMessage * 4).unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar == " " || scalar == "\u{2028}" || scalar == "\u{2029}" {
                space = !result.isEmpty
                continue
            }
            if space { result.unicodeScalars.append(" "); space = false }
            result.unicodeScalars.append(scalar)
        }
        return result.count <= maxLibraryMessage ? result : "\(result.prefix(maxLibraryMessage - 1))…"
    }

    /// The line and column (1-based, counted in Unicode scalars) of the `offset`th character.
    private static func position(ofCharacter offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for character in text.prefix(max(0, offset)) {
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return (line, column)
    }

    /// Duplicate keys listed one per problem at most; then one problem says how many more.
    package static let maxReportedDuplicates = 100

    /// Every key that repeats an earlier key of its mapping, at its own position, in file
    /// order: `duplicate key 'steps' (first at line 2)`. Keys compare as Yams compares them
    /// (text and resolved tag); keys that are lists or mappings are not compared. One pass
    /// over libyaml's events, without recursion; empty when the text does not parse.
    package static func duplicateKeys(_ text: String) -> [Problem] {
        struct Collection {
            var isMapping: Bool
            var nextIsKey = true
            var keys: [Node: Int] = [:] // key to the line it is first at
        }
        var found: [Problem] = []
        var more = 0
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return [] }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var stack: [Collection] = []
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                let type = event.type
                if type == YAML_STREAM_END_EVENT { return }
                var isKey = false
                if type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT || type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT,
                   let last = stack.indices.last, stack[last].isMapping {
                    isKey = stack[last].nextIsKey
                    stack[last].nextIsKey.toggle()
                }
                switch type {
                case YAML_SCALAR_EVENT where isKey:
                    let scalar = event.data.scalar
                    let value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                    let tag: Tag.Name = scalar.quoted_implicit == 1 ? .str
                        : scalar.tag.map { Tag.Name(rawValue: String(cString: $0)) } ?? .implicit
                    let key = Node.scalar(Node.Scalar(value, Tag(tag)))
                    let line = event.start_mark.line + 1
                    if let first = stack[stack.count - 1].keys[key] {
                        if found.count < maxReportedDuplicates {
                            found.append(Problem(
                                line: line, column: event.start_mark.column + 1,
                                message: "duplicate key '\(YAMLDocument.excerpt(value))' (first at line \(first))"))
                        } else {
                            more += 1
                        }
                    } else {
                        stack[stack.count - 1].keys[key] = line
                    }
                case YAML_SEQUENCE_START_EVENT:
                    stack.append(Collection(isMapping: false))
                case YAML_MAPPING_START_EVENT:
                    stack.append(Collection(isMapping: true))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    stack.removeLast()
                default:
                    break
                }
            }
        }
        if more > 0, let last = found.last {
            found.append(Problem(line: last.line, column: last.column, message: "… and \(more) more duplicate keys after this one"))
        }
        return found
    }

    /// The depth of `[ ]` and `{ }` outside quotes and comments, by a byte scan: deep flow
    /// nesting is refused before libyaml and Yams (which recurses once per level) see it.
    package static func flowNesting(_ text: String) -> Problem? {
        enum State { case plain, single, double, comment }
        var state = State.plain
        var depth = 0
        var line = 1, column = 0 // column counts Unicode scalars, as libyaml does
        var previous: UInt8 = UInt8(ascii: "\n")
        var escaped = false
        var utf8 = text.utf8.makeIterator()
        var pending = utf8.next()
        while let byte = pending {
            pending = utf8.next()
            if byte & 0xC0 != 0x80 { column += 1 }
            defer {
                if byte == UInt8(ascii: "\n") { line += 1; column = 0 }
                previous = byte
            }
            switch state {
            case .comment:
                if byte == UInt8(ascii: "\n") { state = .plain }
            case .double:
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { state = .plain }
            case .single:
                if byte == UInt8(ascii: "'") {
                    if pending == UInt8(ascii: "'") { pending = utf8.next(); column += 1 } else { state = .plain }
                }
            case .plain:
                let atTokenStart = switch previous {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","): true
                default: false
                }
                switch byte {
                case UInt8(ascii: "#") where atTokenStart: state = .comment
                case UInt8(ascii: "'") where atTokenStart: state = .single
                case UInt8(ascii: "\"") where atTokenStart: state = .double
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1
                    if depth > maxDepth {
                        return Problem(line: line, column: column, message: "YAML nests more than \(maxDepth) levels of [ ] and { } here: refused")
                    }
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    depth = max(0, depth - 1)
                default:
                    break
                }
            }
        }
        return nil
    }

    /// Counts the values of `tree` as they would be with every alias expanded, and its
    /// depth, in one pass over the (alias-free) tree: each anchor's expanded size and height
    /// are remembered when its node ends (as Yams registers them), so an alias costs one
    /// lookup, never a walk. Stops at the first value over a limit.
    package static func measure(_ tree: Node, aliases: Bool = true) -> Problem? {
        let tooMany = aliases
            ? "YAML anchors and aliases expand to more than \(maxNodes) values here: refused (aliases inside anchors multiply)"
            : "the file holds more than \(maxNodes) values here: refused"
        struct Frame {
            var node: Node
            var children: [Node]
            var next = 0
            var count = 1
            var height = 1
        }
        var anchors: [String: (count: Int, height: Int)] = [:]
        let cap = maxNodes + 1
        func place(_ node: Node) -> (line: Int, column: Int) { (node.mark?.line ?? 1, node.mark?.column ?? 1) }
        func children(_ node: Node) -> [Node] {
            switch node {
            case .mapping(let mapping): mapping.flatMap { [$0.key, $0.value] }
            case .sequence(let sequence): Array(sequence)
            case .scalar, .alias: []
            }
        }
        /// The expanded size and height of a scalar: the aliases written in it (after the
        /// alias mark) stand for their anchors' nodes.
        func scalarSize(_ text: String) -> (count: Int, height: Int) {
            let scalars = text.unicodeScalars
            guard scalars.contains(aliasMark) else { return (1, 1) }
            var count = 0, height = 1
            var index = scalars.startIndex
            while let mark = scalars[index...].firstIndex(of: aliasMark) {
                let start = scalars.index(after: mark)
                let end = scalars[start...].firstIndex { !(Self.anchorCharacters.contains($0)) } ?? scalars.endIndex
                if let anchored = anchors[String(scalars[start..<end])] {
                    count = min(cap, count + anchored.count)
                    height = max(height, anchored.height)
                } else {
                    count = min(cap, count + 1)
                }
                index = end
            }
            return (max(1, count), height)
        }

        var stack = [Frame(node: tree, children: children(tree))]
        if case .scalar(let scalar) = tree {
            let size = scalarSize(scalar.string)
            stack[0].count = size.count
            stack[0].height = size.height
        }
        while let top = stack.last {
            if top.next < top.children.count {
                let child = top.children[top.next]
                stack[stack.count - 1].next += 1
                let depth = stack.count + 1
                let (line, column) = place(child)
                if depth > maxDepth {
                    return Problem(line: line, column: column, message: "YAML nests more than \(maxDepth) levels deep here: refused")
                }
                if case .scalar(let scalar) = child {
                    let size = scalarSize(scalar.string)
                    if depth - 1 + size.height > maxDepth {
                        return Problem(line: line, column: column, message: "YAML aliases nest the file more than \(maxDepth) levels deep here: refused")
                    }
                    if let anchor = child.anchor { anchors[anchor.rawValue] = size }
                    stack[stack.count - 1].count = min(cap, stack[stack.count - 1].count + size.count)
                    stack[stack.count - 1].height = max(stack[stack.count - 1].height, size.height + 1)
                    if stack[stack.count - 1].count > maxNodes {
                        return Problem(line: line, column: column, message: tooMany)
                    }
                } else {
                    stack.append(Frame(node: child, children: children(child)))
                }
                continue
            }
            // The node ends: its anchor is known from here on; its parent grows.
            stack.removeLast()
            if let anchor = top.node.anchor { anchors[anchor.rawValue] = (top.count, top.height) }
            guard !stack.isEmpty else { break }
            stack[stack.count - 1].count = min(cap, stack[stack.count - 1].count + top.count)
            stack[stack.count - 1].height = max(stack[stack.count - 1].height, top.height + 1)
            if stack[stack.count - 1].count > maxNodes {
                let (line, column) = place(top.node)
                return Problem(line: line, column: column, message: tooMany)
            }
        }
        return nil
    }
}

/// Input files given on the command line or in the configuration (`nurture.yaml`, a lead
/// as JSON, a what-if scenario), read within a size limit: the size is looked at before
/// anything is read (a 5 GB sparse file is refused at once, not read into memory), and
/// whatever the size said, no more than the limit and one byte are ever read.
package enum LimitedFile {
    package enum Failure: Error, Equatable, CustomStringConvertible {
        /// Cannot be opened or read: why.
        case cannotRead(String)
        /// Over the limit: the size found.
        case tooBig(bytes: Int, limit: Int)
        /// A stream (a pipe, standard input) that went on past the limit.
        case tooLong(limit: Int)

        /// What is wrong, without the file's name: `the file is N bytes, over the limit of 1 MiB (1048576 bytes): refused`.
        package var description: String {
            switch self {
            case .cannotRead(let reason): "cannot read: \(reason)"
            case .tooBig(let bytes, let limit): LimitedFile.tooBig(bytes, limit: limit)
            case .tooLong(let limit): "the input is longer than the limit of \(LimitedFile.describe(limit)) (\(limit) bytes): refused"
            }
        }
    }

    /// `the file is N bytes, over the limit of 1 MiB (1048576 bytes): refused`.
    package static func tooBig(_ bytes: Int, limit: Int) -> String {
        "the file is \(bytes) bytes, over the limit of \(describe(limit)) (\(limit) bytes): refused"
    }

    /// `1 MiB`, `256 MiB`, or a number of bytes.
    package static func describe(_ limit: Int) -> String {
        if limit >= 1 << 20, limit % (1 << 20) == 0 { return "\(limit >> 20) MiB" }
        if limit >= 1 << 10, limit % (1 << 10) == 0 { return "\(limit >> 10) KiB" }
        return "\(limit) bytes"
    }

    /// The size of the file at `path` (symbolic links followed), refused when over `limit`:
    /// for a file another reader reads afterwards.
    package static func check(_ path: String, limit: Int) -> Result<Int, Failure> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(.cannotRead(String(cString: strerror(errno)))) }
        if info.st_mode & S_IFMT == S_IFDIR { return .failure(.cannotRead("it is a folder")) }
        let size = Int(info.st_size)
        guard info.st_mode & S_IFMT != S_IFREG || size <= limit else { return .failure(.tooBig(bytes: size, limit: limit)) }
        return .success(size)
    }

    /// The bytes of the file at `path`, at most `limit`. A regular file's size is checked
    /// first; anything else (a pipe, `/dev/stdin`) is read up to the limit and refused past it.
    package static func read(_ path: String, limit: Int) -> Result<Data, Failure> {
        // Non-blocking to open, so that a FIFO without a writer cannot hang the open.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.cannotRead(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.cannotRead(String(cString: strerror(errno)))) }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            return .failure(.cannotRead("it is a folder"))
        case S_IFREG:
            guard Int(info.st_size) <= limit else { return .failure(.tooBig(bytes: Int(info.st_size), limit: limit)) }
        default:
            break
        }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return read(descriptor: fd, limit: limit)
    }

    /// At most `limit` bytes from an open descriptor (standard input: `FileHandle.standardInput.fileDescriptor`).
    package static func read(descriptor fd: Int32, limit: Int) -> Result<Data, Failure> {
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var total = 0
        while total < bytes.count {
            let n = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { return .failure(.cannotRead(String(cString: strerror(errno)))) }
            if n == 0 { break }
            total += n
        }
        guard total <= limit else { return .failure(.tooLong(limit: limit)) }
        return .success(Data(bytes[..<total]))
    }

    private static func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(fd, buffer, count)
        #else
        Darwin.read(fd, buffer, count)
        #endif
    }

    /// The UTF-8 text of the file at `path`, at most `limit` bytes.
    package static func readText(_ path: String, limit: Int) -> Result<String, Failure> {
        read(path, limit: limit).flatMap { data in
            guard let text = String(data: data, encoding: .utf8) else { return .failure(.cannotRead("the file is not UTF-8 text")) }
            return .success(text)
        }
    }
}

/// Reads one mapping's keys, remembering which were used, so unknown keys can be reported
/// (with a suggestion when one is close to a known key).
package final class MappingReader {
    package let node: Node
    package let document: YAMLDocument
    package let context: String
    private var entries: [(key: String, keyNode: Node, value: Node)] = []
    private var positions: [String: Int] = [:]

    package init(_ mapping: Node.Mapping, node: Node, document: YAMLDocument, context: String) {
        self.node = node
        self.document = document
        self.context = context
        for (key, value) in mapping {
            let name = key.scalar?.string ?? ""
            if positions[name] != nil {
                document.error(key, "'\(name)' appears twice in \(context)")
                continue
            }
            positions[name] = entries.count
            entries.append((name, key, value))
        }
    }

    package var keys: [String] { entries.map(\.key) }

    package func has(_ key: String) -> Bool { positions[key] != nil }

    /// The value of `key`; records an error when it is required and missing.
    package func value(_ key: String, required: Bool = false) -> Node? {
        if let position = positions[key] { return entries[position].value }
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
        let known = Set(allowed)
        var suggested = 0
        for entry in entries where !known.contains(entry.key) {
            var message = "unknown key '\(entry.key)' in \(context)"
            // Suggestions for key-sized keys, and for the first unknown keys of a mapping only:
            // each costs a distance to every allowed key (the product of their lengths).
            var suggestion: String?
            if entry.key.count <= 64, suggested < 100 {
                suggested += 1
                let distances = allowed.map { ($0, editDistance($0, entry.key)) }
                if let best = distances.min(by: { $0.1 < $1.1 }), best.1 <= max(2, entry.key.count / 3) { suggestion = best.0 }
            }
            if let suggestion {
                message += "; did you mean '\(suggestion)'?"
            } else {
                message += " (expected: \(allowed.joined(separator: ", ")))"
            }
            document.error(entry.keyNode, message)
        }
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int { Spelling.editDistance(a, b) }
