import Foundation
import Mustache
import Yams
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a templates folder may ask of the loader and the renderer.
public enum TemplateLimits {
    /// Largest template file.
    public static let maxFileBytes = 1 << 20
    /// Deepest nesting of sections, inverted sections, blocks and layouts, partials included
    /// (swift-mustache's parser and renderer recurse once per level).
    public static let maxNesting = 100
    /// Most transforms in one tag, `{{a(b(c))}}` (the parser recurses once per transform).
    public static let maxTransforms = 16
    /// Longest delimiter of a set-delimiter tag `{{=<% %>=}}` (the parser compares it at
    /// every character).
    public static let maxDelimiter = 10
    /// Most files and folders in a templates folder.
    public static let maxEntries = 10_000
    /// Most text one template may expand to through its partials and layouts.
    public static let maxRenderedBytes = 8 << 20
}

/// The email templates of a `Templates/` folder, parsed and checked.
///
/// Layout of the folder:
/// ```
/// Templates/
///   defaults.yaml                 optional: values for missing or empty lead fields
///   layouts/default.html.mustache shared layouts (Mustache parents with {{$blocks}})
///   partials/footer.html.mustache shared partials ({{> partials/footer.html}})
///   welcome/subject.mustache      one folder per template: the subject line,
///   welcome/html.mustache         the HTML body,
///   welcome/text.mustache         and optionally the text body (else made from the HTML)
/// ```
/// Layouts and partials are named by their file name without `.mustache`
/// (`{{<default.html}}…{{/default.html}}`, `{{> footer.html}}`), so names must be unique
/// across both folders.
/// Files named `html.mustache` or `*.html.mustache` are HTML: `{{value}}` is
/// HTML-escaped. All others (subjects, text bodies) are plain text: nothing is escaped.
public struct TemplateLibrary: Sendable {
    /// A template's parts.
    public struct Template: Sendable {
        public let name: String
        public let hasText: Bool
    }

    /// Template names, sorted.
    public let names: [String]
    /// Values used when a lead field is missing or empty (`first_name: there`).
    public let defaults: [String: String]
    let library: MustacheLibrary
    /// The parts that render by splicing the lead's values into text rendered once (by name,
    /// `welcome/html`); the others are rendered by swift-mustache each time.
    private(set) var spliced: [String: SplicedTemplate]
    /// The text parts made once from the spliced HTML of templates without their own (by
    /// template name).
    private(set) var splicedText: [String: SplicedText]
    private let textTemplates: Set<String>
    /// What the templates should have and lack (an unsubscribe link, the postal address, alt
    /// text): warnings, each with its file. `nurture validate` prints them; `serve` logs them.
    public private(set) var warnings: [TemplateError] = []

    /// Loads and checks every template under `directory`.
    ///
    /// Besides Mustache syntax and references, the checks keep rendering bounded on any
    /// input (see ``TemplateLimits``): files at most 1 MiB, inside the folder (symbolic links
    /// resolving elsewhere are refused), sections nested at most 100 deep (checked before
    /// swift-mustache's parser, which recurses once per level, sees the text), and partials
    /// and layouts without cycles, not nested or multiplied beyond the limits, so that
    /// `validate`, `preview`, `serve` and a reload all refuse what would crash or hang later.
    /// - Throws: ``TemplateErrors`` listing every problem found, each with file and line.
    public init(directory: URL) throws(TemplateErrors) {
        var problems: [TemplateError] = []
        let root = directory.standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue,
              let resolvedRoot = ContentFiles.realPath(root.path)
        else {
            throw TemplateErrors([TemplateError(file: root.path, message: "templates folder not found")])
        }

        var library = MustacheLibrary()
        var sources: [String: (file: String, text: String, scan: MustacheScan)] = [:]
        var present: Set<String> = [] // every template file, parsed or not
        for file in Self.templateFiles(in: root.path, resolvedRoot: resolvedRoot, problems: &problems) {
            let relative = file.relative
            let parts = relative.split(separator: "/")
            let shared = parts.count == 2 && (parts[0] == "layouts" || parts[0] == "partials")
            // Layouts and partials go by their file name (Mustache closing tags cannot contain '/').
            let name = String((shared ? String(parts[1]) : relative).dropLast(".mustache".count))
            if shared, let existing = sources[name] {
                problems.append(TemplateError(file: relative, message: "'\(name)' is also defined by \(existing.file): layout and partial names must be unique"))
                continue
            }
            let text: String
            switch ContentFiles.readText(file.path, root: resolvedRoot, folder: "templates", limit: TemplateLimits.maxFileBytes) {
            case .success(let read):
                text = read
            case .failure(.missing):
                continue
            case .failure(.refused(let message)):
                present.insert(name)
                problems.append(TemplateError(file: relative, message: message))
                continue
            }
            present.insert(name)
            // Before swift-mustache's parser: nesting, transforms and delimiters within bounds.
            let scan = MustacheScan(text)
            if let problem = scan.problem {
                problems.append(TemplateError(file: relative, line: problem.line, column: problem.column, message: problem.message))
                continue
            }
            let isHTML = name.hasSuffix("/html") || name.hasSuffix(".html") || name == "html"
            // A leading pragma makes non-HTML templates plain text (no escaping).
            let prefix = isHTML ? "" : "{{% CONTENT_TYPE: TEXT}}"
            do {
                library.register(try MustacheTemplate(string: prefix + text), named: name)
                sources[name] = (relative, text, scan)
            } catch let error as MustacheTemplate.ParserError {
                let column = error.context.lineNumber == 1 ? error.context.columnNumber - prefix.count : error.context.columnNumber
                problems.append(TemplateError(
                    file: relative, line: error.context.lineNumber, column: max(1, column),
                    message: "Mustache syntax: \(Self.explain(error.error))"))
            } catch {
                problems.append(TemplateError(file: relative, message: "Mustache syntax: \(error)"))
            }
        }

        // Every partial and parent a template names must exist: Mustache would render nothing.
        // Names chosen by lead data ({{>*name}}) cannot be checked, so they are refused.
        var referencesOK = true
        for source in sources.values.sorted(by: { $0.file < $1.file }) {
            for reference in source.scan.references {
                if reference.dynamic {
                    referencesOK = false
                    problems.append(TemplateError(
                        file: source.file, line: reference.line, column: reference.column,
                        message: "dynamic \(reference.layout ? "layout" : "partial") '\(reference.tag)' is not supported: the lead's data would choose the template; name it"))
                } else if sources[reference.name] == nil {
                    referencesOK = false
                    problems.append(TemplateError(
                        file: source.file, line: reference.line, column: reference.column,
                        message: "unknown partial or layout '\(reference.name)' (known: \(sources.keys.filter { !$0.contains("/") }.sorted().joined(separator: ", ")))"))
                }
            }
        }
        // Partials and layouts must not include themselves, directly or not (rendering would
        // recurse forever), nor nest or multiply beyond the limits.
        if referencesOK {
            problems += Self.checkInclusions(sources.mapValues { ($0.file, $0.text.count, $0.scan) })
        }

        // Template folders: subject and html required, text optional.
        var names: [String] = []
        let folders = Set(present.compactMap { key -> String? in
            let parts = key.split(separator: "/")
            guard parts.count == 2, ["subject", "html", "text"].contains(parts[1]) else { return nil }
            return String(parts[0])
        })
        for folder in folders.sorted() where !["layouts", "partials"].contains(folder) {
            if !present.contains("\(folder)/subject") {
                problems.append(TemplateError(file: "\(folder)/", message: "template '\(folder)' has no subject.mustache"))
            }
            if !present.contains("\(folder)/html") {
                problems.append(TemplateError(file: "\(folder)/", message: "template '\(folder)' has no html.mustache"))
            }
            names.append(folder)
        }

        var defaults: [String: String] = [:]
        switch ContentFiles.readText(root.appendingPathComponent("defaults.yaml").path, root: resolvedRoot, folder: "templates") {
        case .failure(.missing):
            break
        case .failure(.refused(let message)):
            problems.append(TemplateError(file: "defaults.yaml", message: message))
        case .success(let text):
            switch YAMLLimits.compose(text) {
            case .failure(let problem):
                problems.append(TemplateError(file: "defaults.yaml", line: problem.line, column: problem.column, message: problem.message))
            case .success(let node):
                if let mapping = node?.mapping {
                    for (key, value) in mapping {
                        guard let k = key.string, let v = value.scalar?.string else {
                            problems.append(TemplateError(
                                file: "defaults.yaml", line: value.mark.map { $0.line } ?? 0, column: value.mark.map { $0.column } ?? 0,
                                message: "expected 'field: text', found a \(value.mapping != nil ? "mapping" : "list") for '\(key.string ?? "?")'"))
                            continue
                        }
                        defaults[k] = v
                    }
                } else if node != nil {
                    problems.append(TemplateError(file: "defaults.yaml", line: 1, column: 1, message: "expected a mapping of field names to default values"))
                }
            }
        }

        guard problems.isEmpty else { throw TemplateErrors(problems) }
        self.library = library
        let parts = names.flatMap { ["\($0)/subject", "\($0)/html", "\($0)/text"] }.filter { sources[$0] != nil }
        let scanned = sources.mapValues { (text: $0.text, scan: $0.scan) }
        let spliced = parts.reduce(into: [String: SplicedTemplate]()) { spliced, part in
            spliced[part] = SplicedTemplate.compile(part, sources: scanned, library: library)
        }
        self.spliced = spliced
        self.splicedText = names.filter { sources["\($0)/text"] == nil }.reduce(into: [:]) { texts, name in
            texts[name] = spliced["\(name)/html"].flatMap(SplicedText.compile)
        }
        self.names = names
        self.defaults = defaults
        self.textTemplates = Set(names.filter { sources["\($0)/text"] != nil })
        self.warnings = TemplateLint.warnings(self, sources: sources.mapValues { ($0.file, $0.text) })
    }

    /// The `.mustache` files under the folder, by path relative to it, sorted; walked without
    /// recursion. Symbolic links to folders are followed when they resolve inside the folder
    /// (not back into a folder they are in); at most ``TemplateLimits/maxEntries`` entries.
    private static func templateFiles(in root: String, resolvedRoot: String, problems: inout [TemplateError]) -> [(relative: String, path: String)] {
        var files: [(relative: String, path: String)] = []
        var folders: [(relative: String, path: String, resolved: String, parent: Int)] = [("", root, resolvedRoot, -1)]
        var entries = 0
        var next = 0
        walk: while next < folders.count {
            let folder = folders[next]
            let current = next
            next += 1
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
            for name in names {
                entries += 1
                guard entries <= TemplateLimits.maxEntries else {
                    problems.append(TemplateError(file: "", message: "more than \(TemplateLimits.maxEntries) files and folders (folders reached through symbolic links count each time): refused"))
                    break walk
                }
                let relative = folder.relative.isEmpty ? name : "\(folder.relative)/\(name)"
                let path = "\(folder.path)/\(name)"
                var info = stat()
                let isFolder = stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
                if isFolder {
                    guard ContentFiles.isSymbolicLink(path) else {
                        folders.append((relative, path, "\(folder.resolved)/\(name)", current))
                        continue
                    }
                    switch ContentFiles.resolve(path, root: resolvedRoot, folder: "templates") {
                    case .failure(.missing):
                        continue
                    case .failure(.refused(let message)):
                        problems.append(TemplateError(file: "\(relative)/", message: message))
                    case .success(let resolved):
                        var ancestor = current
                        while ancestor >= 0, folders[ancestor].resolved != resolved { ancestor = folders[ancestor].parent }
                        if ancestor >= 0 {
                            problems.append(TemplateError(file: "\(relative)/", message: "is a symbolic link to a folder it is in (a loop): refused"))
                        } else {
                            folders.append((relative, path, resolved, current))
                        }
                    }
                } else if name.hasSuffix(".mustache"), name != ".mustache" {
                    files.append((relative, path))
                }
            }
        }
        return files.sorted { $0.relative < $1.relative }
    }

    /// Cycles among partials and layouts (`{{> x}}` and `{{< x}}` edges), then how deep and
    /// how big what each file includes gets. Iterative: no recursion the files can drive.
    private static func checkInclusions(_ files: [String: (file: String, length: Int, scan: MustacheScan)]) -> [TemplateError] {
        var problems: [TemplateError] = []
        let names = files.keys.sorted()
        let number = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        // Edges in text order, one per tag (a file included twice renders twice).
        let edges: [[(target: Int, reference: MustacheScan.Reference)]] = names.map { name in
            files[name]!.scan.references.compactMap { reference in number[reference.name].map { ($0, reference) } }
        }
        var reported = Set<[Int]>() // cycles told, by the edge that closes them
        var state = [UInt8](repeating: 0, count: names.count) // 0 new, 1 on the path, 2 done
        var position = [Int](repeating: -1, count: names.count)
        var order: [Int] = [] // postorder: every file after what it includes
        var path: [(node: Int, next: Int)] = []
        for root in names.indices where state[root] == 0 {
            state[root] = 1
            position[root] = 0
            path.append((root, 0))
            while let top = path.last {
                guard top.next < edges[top.node].count else {
                    path.removeLast()
                    state[top.node] = 2
                    position[top.node] = -1
                    order.append(top.node)
                    continue
                }
                path[path.count - 1].next += 1
                let target = edges[top.node][top.next].target
                if state[target] == 1, reported.insert([top.node, target]).inserted {
                    // The cycle, told from the file where it starts, at its tag naming the next.
                    let start = position[target]
                    let steps = path[start...].map { edges[$0.node][$0.next - 1] }
                    let kinds = Set(steps.map(\.reference.layout))
                    let kind = kinds == [false] ? "partial" : kinds == [true] ? "layout" : "partial and layout"
                    let chain = path[start...].map { names[$0.node] } + [names[target]]
                    let first = steps[0].reference
                    problems.append(TemplateError(
                        file: files[names[target]]!.file, line: first.line, column: first.column,
                        message: "\(kind) cycle: \(chain.joined(separator: " → ")) (it would never finish rendering)"))
                } else if state[target] == 0 {
                    state[target] = 1
                    position[target] = path.count
                    path.append((target, 0))
                }
            }
        }
        guard problems.isEmpty else { return problems }

        // Depth and size as rendered, included files first. A layout renders the including
        // file's blocks inside its own, and each of its {{$block}} slots may repeat them.
        let cap = TemplateLimits.maxRenderedBytes + 1
        func add(_ a: Int, _ b: Int) -> Int { min(cap, a + b) }
        func times(_ a: Int, _ b: Int) -> Int { a == 0 || b == 0 ? 0 : (a > cap / b ? cap : min(cap, a * b)) }
        var depth = [Int](repeating: 0, count: names.count)
        var size = [Int](repeating: 0, count: names.count)
        var slots = [Int](repeating: 0, count: names.count)
        var deepest = [Int?](repeating: nil, count: names.count) // the edge that makes the depth
        var hasList = [Bool](repeating: false, count: names.count) // repeats for a list, itself or through what it includes
        for node in order {
            let file = files[names[node]]!
            hasList[node] = file.scan.lists > 0 || edges[node].contains { hasList[$0.target] }
            // A file that repeats for a list, included inside a list section: a list inside itself.
            for edge in edges[node] where edge.reference.inList && hasList[edge.target] {
                problems.append(TemplateError(
                    file: file.file, line: edge.reference.line, column: edge.reference.column,
                    message: "\(edge.reference.tag) inside a list section includes a list section ({{#tags}}): a list repeated inside itself multiplies with every item: refused"))
            }
            var d = file.scan.depth, n = file.length, s = file.scan.blocks, repeats = 1
            for (index, edge) in edges[node].enumerated() {
                let through = edge.reference.depth + 1 + depth[edge.target] + (edge.reference.layout ? file.scan.depth : 0)
                if through > d { (d, deepest[node]) = (through, index) }
                n = add(n, size[edge.target])
                s = add(s, slots[edge.target])
                if edge.reference.layout { repeats = add(repeats, slots[edge.target]) }
            }
            depth[node] = min(d, TemplateLimits.maxNesting + 1)
            size[node] = times(n, repeats)
            slots[node] = times(s, repeats)
            let reference = edges[node].first?.reference
            if depth[node] > TemplateLimits.maxNesting, let index = deepest[node], depth[edges[node][index].target] <= TemplateLimits.maxNesting {
                var chain = [names[node]]
                var at = node
                while let index = deepest[at] { at = edges[at][index].target; chain.append(names[at]) }
                let tag = edges[node][index].reference
                problems.append(TemplateError(
                    file: file.file, line: tag.line, column: tag.column,
                    message: "partials and layouts nest more than \(TemplateLimits.maxNesting) levels deep (sections included): \(chain.joined(separator: " → "))"))
            }
            if size[node] > TemplateLimits.maxRenderedBytes, let reference, !edges[node].contains(where: { size[$0.target] > TemplateLimits.maxRenderedBytes }) {
                problems.append(TemplateError(
                    file: file.file, line: reference.line, column: reference.column,
                    message: "partials and layouts expand to more than \(TemplateLimits.maxRenderedBytes / (1 << 20)) MiB of text (each inclusion repeats what it includes)"))
            }
        }
        return problems
    }

    /// Checks a Mustache text given elsewhere, such as a sequence step's `subject`, as a
    /// template file is checked (nesting first, then syntax); `nil` when it is fine.
    static func check(source text: String) -> String? {
        guard text.utf8.count <= TemplateLimits.maxFileBytes else { return YAMLLimits.tooBig(text.utf8.count) }
        let scan = MustacheScan(text)
        if let problem = scan.problem { return "\(problem.line):\(problem.column): \(problem.message)" }
        if let reference = scan.references.first(where: \.dynamic) {
            return "dynamic partial '\(reference.tag)' is not supported: the lead's data would choose the template; name it"
        }
        do {
            _ = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text)
            return nil
        } catch let error as MustacheTemplate.ParserError {
            return "Mustache syntax: \(explain(error.error))"
        } catch {
            return "Mustache syntax: \(error)"
        }
    }

    /// Whether a template with this name exists.
    public func contains(_ name: String) -> Bool { names.contains(name) }

    /// Whether the template has its own text body.
    public func hasText(_ name: String) -> Bool { textTemplates.contains(name) }

    /// Renders one part (`subject`, `html` or `text`) of a template.
    func render(_ name: String, part: String, context: [String: Any]) -> String? {
        let key = "\(name)/\(part)"
        if let text = spliced[key]?.render(context) { return text }
        return library.render(context, withTemplate: key)
    }

    /// The same templates with every part rendered by swift-mustache and every text part read
    /// from the email's HTML: what splicing saves (`nurture-bench render --splice off`).
    package func withoutSplicing() -> TemplateLibrary {
        var library = self
        library.spliced = [:]
        library.splicedText = [:]
        return library
    }

    /// The text part of a template without one, from its rendered `html`: spliced when it can
    /// be (``SplicedText``), else read from the HTML (the same text either way).
    func plainText(_ name: String, html: String, context: [String: Any]) -> String {
        if let text = splicedText[name]?.render(context) { return text }
        return HTMLText.plainText(fromHTML: html)
    }

    private static func explain(_ error: any Error) -> String {
        guard let error = error as? MustacheTemplate.Error else {
            // The parser's own end-of-input error.
            return "\(error)" == "overflow" ? "the template ends inside a tag: a {{ is not closed with }}" : "\(error)"
        }
        return switch error {
        case .sectionCloseNameIncorrect: "a closing tag {{/…}} does not match the section it closes"
        case .unfinishedName: "a tag is not closed with }}"
        case .expectedSectionEnd: "a section {{#…}} or {{^…}} is never closed"
        case .invalidSetDelimiter: "invalid set-delimiter tag"
        case .transformAppliedToInheritanceSection: "a transform cannot apply to a layout block"
        case .illegalTokenInsideInheritSection: "only {{$block}} definitions may appear inside {{<layout}}"
        case .textInsideInheritSection: "only {{$block}} definitions may appear inside {{<layout}}"
        case .invalidConfigVariableSyntax: "invalid pragma {{% … }}"
        case .unrecognisedConfigVariable: "unknown pragma {{% … }}"
        @unknown default: "\(error)"
        }
    }
}

/// One problem in a templates folder.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Path relative to the templates folder.
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, the form editors and CI logs link to.
    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return "\(location): \(message)"
    }
}

/// Every problem found in a templates folder.
public struct TemplateErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [TemplateError]
    public init(_ errors: [TemplateError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// A template's text read the way swift-mustache's parser reads it, before that parser sees
/// it: the tags, with set-delimiter tags (which that parser scopes to their section)
/// honoured, to bound what makes the parser and renderer recurse (sections, blocks, layouts
/// and transforms) and to find the partials and layouts it names. Linear in the text.
struct MustacheScan: Sendable {
    /// A `{{> name}}` or `{{< name}}` tag.
    struct Reference: Sendable {
        var name: String
        /// `{{< name}}`, not `{{> name}}`.
        var layout: Bool
        /// `{{>*name}}`: a name taken from the data.
        var dynamic: Bool
        var line: Int
        var column: Int
        /// Sections, blocks and layouts around the tag.
        var depth: Int
        /// Inside a section that repeats for each item of a list (`{{#tags}}`).
        var inList = false

        /// The tag as written with the default delimiters.
        var tag: String { "{{\(layout ? "<" : ">")\(dynamic && !layout ? "*" : "")\(name)}}" }
    }

    var references: [Reference] = []
    /// Every `{{#name}}` and `{{^name}}` section, where it opens.
    var sections: [(name: String, inverted: Bool, line: Int, column: Int)] = []
    /// The deepest nesting of sections, blocks and layouts.
    var depth = 0
    /// `{{$block}}` tags, each a place where a layout's user may put content.
    var blocks = 0
    /// Sections that repeat for each item of a list (`{{#tags}}`).
    var lists = 0
    /// The names of the values the text shows (`{{name}}`, `{{{name}}}`, `{{&name}}`), as written.
    var variables: [String] = []
    /// Whether a set-delimiter tag (`{{=<% %>=}}`) changes the tags' delimiters.
    var setsDelimiters = false

    /// The data that are lists: a section on one of them repeats its content for each item.
    static let listKeys: Set<String> = ["tags"]
    /// The first problem, where the scan stops.
    var problem: (line: Int, column: Int, message: String)?

    private static let nameCharacters = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?()*")
    private static let nameCharactersWithoutBrackets = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?*")
    private static let partialNameCharacters = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?()*/")

    init(_ text: String) {
        var reader = Reader(Array(text))
        self.scan(&reader)
    }

    /// Characters, a position, and line and column (1-based, in characters) of positions.
    private struct Reader {
        let characters: [Character]
        var index = 0
        private var counted = 0
        private var line = 1
        private var lineStart = 0

        init(_ characters: [Character]) { self.characters = characters }

        var atEnd: Bool { index >= characters.count }

        func matches(_ string: [Character], at position: Int) -> Bool {
            guard position + string.count <= characters.count else { return false }
            for (offset, character) in string.enumerated() where characters[position + offset] != character { return false }
            return true
        }

        /// Reads `string` if it comes next.
        mutating func read(_ string: [Character]) -> Bool {
            guard matches(string, at: index) else { return false }
            index += string.count
            return true
        }

        @discardableResult
        mutating func read(while test: (Character) -> Bool) -> [Character] {
            let start = index
            while index < characters.count, test(characters[index]) { index += 1 }
            return Array(characters[start..<index])
        }

        /// Reads up to (not including) a character that passes `test`; `nil` if none does.
        mutating func read(until test: (Character) -> Bool) -> [Character]? {
            let start = index
            while index < characters.count, !test(characters[index]) { index += 1 }
            return atEnd ? nil : Array(characters[start..<index])
        }

        /// Skips past `close` as swift-mustache's `read(untilString:skipToEnd:)` does: after a
        /// partial match it starts again at the next character (so `%%>` does not end a
        /// comment closed by `%>`); `false` at the end of the text.
        mutating func skipComment(_ close: [Character]) -> Bool {
            var matched = 0
            while index < characters.count {
                if characters[index] == close[matched] {
                    matched += 1
                    if matched == close.count {
                        index += 1
                        return true
                    }
                } else {
                    matched = 0
                }
                index += 1
            }
            return false
        }

        /// Line and column of `position`, which must not be before the last one asked.
        mutating func location(of position: Int) -> (line: Int, column: Int) {
            while counted < position {
                if characters[counted].isNewline {
                    line += 1
                    lineStart = counted + 1
                }
                counted += 1
            }
            return (line, position - lineStart + 1)
        }
    }

    /// A tag's name: whitespace, name characters, whitespace, then the closing delimiter.
    private static func name(_ reader: inout Reader, close: [Character], characters: Set<Character> = nameCharacters) -> String? {
        reader.read(while: \.isWhitespace)
        let name = reader.read(while: characters.contains)
        reader.read(while: \.isWhitespace)
        return reader.read(close) ? String(name) : nil
    }

    /// Follows swift-mustache's `parse`; where that parser would throw a syntax error, the
    /// scan stops (the parser reports it, and goes no deeper).
    private mutating func scan(_ reader: inout Reader) {
        var open: [Character] = ["{", "{"]
        var close: [Character] = ["}", "}"]
        // Open sections: the name their closing tag must repeat, and the delimiters around them.
        var sections: [(name: String, open: [Character], close: [Character], repeats: Bool, tag: String, line: Int, column: Int)] = []
        var inList: Bool { sections.contains { $0.repeats } }
        func fail(_ position: Int, _ message: String, into scan: inout MustacheScan, _ reader: inout Reader) {
            let (line, column) = reader.location(of: position)
            scan.problem = (line, column, message)
        }
        while !reader.atEnd {
            guard reader.matches(open, at: reader.index) else {
                reader.index += 1
                continue
            }
            let tag = reader.index
            reader.index += open.count
            guard !reader.atEnd else { return }
            let sigil = reader.characters[reader.index]
            switch sigil {
            case "#", "^", "$", "<":
                reader.index += 1
                let name: String
                if sigil == "<" {
                    reader.read(while: \.isWhitespace)
                    guard let partial = Self.name(&reader, close: close, characters: Self.partialNameCharacters) else { return }
                    name = partial
                    let (line, column) = reader.location(of: tag)
                    let dynamic = name.hasPrefix("*")
                    references.append(Reference(name: dynamic ? String(name.dropFirst()) : name, layout: true, dynamic: dynamic, line: line, column: column, depth: sections.count, inList: inList))
                } else {
                    guard let section = Self.name(&reader, close: close) else { return }
                    name = section
                    if sigil == "$" { blocks += 1 }
                    guard checkTransforms(name, tag, &reader) else { return }
                }
                // A list repeated inside itself multiplies: 100 tags nested five deep is 10^10
                // renderings of one email. Each list section renders its content once per item.
                let repeats = sigil == "#" && Self.listKeys.contains(name)
                if repeats || sigil == "$", inList {
                    fail(tag, sigil == "$"
                        ? "a layout block inside {{#\(sections.last { $0.repeats }!.name)}} would repeat what fills it for each item: refused"
                        : "{{#\(name)}} inside {{#\(sections.last { $0.repeats }!.name)}}: a list repeated inside itself multiplies with every item: refused",
                         into: &self, &reader)
                    return
                }
                if repeats { lists += 1 }
                let (line, column) = reader.location(of: tag)
                sections.append((name, open, close, repeats, "\(String(open))\(sigil)\(name)\(String(close))", line, column))
                if sigil == "#" || sigil == "^" { self.sections.append((name, sigil == "^", line, column)) }
                depth = max(depth, sections.count)
                if sections.count > TemplateLimits.maxNesting {
                    fail(tag, "sections, blocks and layouts nest more than \(TemplateLimits.maxNesting) levels deep here: refused", into: &self, &reader)
                    return
                }
            case "/":
                reader.index += 1
                guard let name = Self.name(&reader, close: close) else { return }
                guard let section = sections.last else {
                    fail(tag, "\(String(open))/\(name)\(String(close)) closes a section that was never opened", into: &self, &reader)
                    return
                }
                guard section.name == name else {
                    // Name both tags, and where the open one is: that is what needs closing.
                    fail(tag, "\(String(open))/\(name)\(String(close)) closes \(section.tag), opened at line \(section.line) column \(section.column) and not closed: add \(String(section.open))/\(section.name)\(String(section.close)) before it", into: &self, &reader)
                    return
                }
                sections.removeLast()
                (open, close) = (section.open, section.close) // the section's own delimiters end with it
            case "!":
                reader.index += 1
                guard reader.skipComment(close) else { return }
            case "{", "&":
                reader.index += 1
                guard let name = Self.name(&reader, close: close) else { return }
                if sigil == "{" { guard reader.read(["}"]) else { return } }
                guard checkTransforms(name, tag, &reader) else { return }
                variables.append(name)
            case ">":
                reader.index += 1
                reader.read(while: \.isWhitespace)
                let dynamic = reader.read(["*"])
                guard let name = Self.name(&reader, close: close, characters: Self.partialNameCharacters) else { return }
                let (line, column) = reader.location(of: tag)
                references.append(Reference(name: name, layout: false, dynamic: dynamic, line: line, column: column, depth: sections.count, inList: inList))
            case "=":
                reader.index += 1
                reader.read(while: \.isWhitespace)
                guard let start = reader.read(until: \.isWhitespace) else { return }
                reader.read(while: \.isWhitespace)
                guard let end = reader.read(until: { $0 == "=" || $0.isWhitespace }) else { return }
                reader.read(while: \.isWhitespace)
                guard reader.read(["="]), reader.read(close), !start.isEmpty, !end.isEmpty else { return }
                guard start.count <= TemplateLimits.maxDelimiter, end.count <= TemplateLimits.maxDelimiter else {
                    fail(tag, "set-delimiter tag: delimiters longer than \(TemplateLimits.maxDelimiter) characters are not supported", into: &self, &reader)
                    return
                }
                (open, close) = (start, end)
                setsDelimiters = true
            case "%":
                reader.index += 1
                reader.read(while: \.isWhitespace)
                reader.read(while: Self.nameCharactersWithoutBrackets.contains)
                reader.read(while: \.isWhitespace)
                guard reader.read([":"]) else { return }
                reader.read(while: \.isWhitespace)
                reader.read(while: Self.nameCharactersWithoutBrackets.contains)
                reader.read(while: \.isWhitespace)
                guard reader.read(close) else { return }
            default:
                guard let name = Self.name(&reader, close: close) else { return }
                guard checkTransforms(name, tag, &reader) else { return }
                variables.append(name)
            }
        }
        // The end of the text with a section still open: reported where it was opened.
        if let section = sections.last {
            problem = (section.line, section.column, "\(section.tag) is never closed: add \(String(section.open))/\(section.name)\(String(section.close)) where it ends")
        }
    }

    /// `{{a(b(c))}}`: the parser recurses once per transform.
    private mutating func checkTransforms(_ name: String, _ tag: Int, _ reader: inout Reader) -> Bool {
        guard name.utf8.count(where: { $0 == UInt8(ascii: "(") }) > TemplateLimits.maxTransforms else { return true }
        let (line, column) = reader.location(of: tag)
        problem = (line, column, "more than \(TemplateLimits.maxTransforms) transforms in one tag: refused")
        return false
    }
}
