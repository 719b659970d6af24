import Foundation
import Mustache
import Yams

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
    private let textTemplates: Set<String>

    /// Loads and checks every template under `directory`.
    /// - Throws: ``TemplateErrors`` listing every problem found, each with file and line.
    public init(directory: URL) throws(TemplateErrors) {
        var problems: [TemplateError] = []
        let root = directory.standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TemplateErrors([TemplateError(file: root.path, message: "templates folder not found")])
        }

        var library = MustacheLibrary()
        var sources: [String: (file: String, text: String)] = [:]
        var present: Set<String> = [] // every template file, parsed or not
        let files = (FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? [])
            .filter { $0.pathExtension == "mustache" }
            .sorted { $0.path < $1.path }
        for file in files {
            let relative = String(file.standardizedFileURL.path.dropFirst(root.path.count + 1))
            let parts = relative.split(separator: "/")
            let shared = parts.count == 2 && (parts[0] == "layouts" || parts[0] == "partials")
            // Layouts and partials go by their file name (Mustache closing tags cannot contain '/').
            let name = String((shared ? String(parts[1]) : relative).dropLast(".mustache".count))
            if shared, let existing = sources[name] {
                problems.append(TemplateError(file: relative, message: "'\(name)' is also defined by \(existing.file): layout and partial names must be unique"))
                continue
            }
            let text: String
            do {
                text = try String(contentsOf: file, encoding: .utf8)
            } catch {
                problems.append(TemplateError(file: relative, message: "cannot read: \(error.localizedDescription)"))
                continue
            }
            present.insert(name)
            let isHTML = name.hasSuffix("/html") || name.hasSuffix(".html") || name == "html"
            // A leading pragma makes non-HTML templates plain text (no escaping).
            let prefix = isHTML ? "" : "{{% CONTENT_TYPE: TEXT}}"
            do {
                library.register(try MustacheTemplate(string: prefix + text), named: name)
                sources[name] = (relative, text)
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
        for source in sources.values.sorted(by: { $0.file < $1.file }) {
            for reference in Self.references(in: source.text) where sources[reference.name] == nil {
                problems.append(TemplateError(
                    file: source.file, line: reference.line, column: reference.column,
                    message: "unknown partial or layout '\(reference.name)' (known: \(sources.keys.filter { !$0.contains("/") }.sorted().joined(separator: ", ")))"))
            }
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
        let defaultsFile = root.appendingPathComponent("defaults.yaml")
        if FileManager.default.fileExists(atPath: defaultsFile.path) {
            do {
                let text = try String(contentsOf: defaultsFile, encoding: .utf8)
                let node = try Yams.compose(yaml: text)
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
            } catch let error as YamlError {
                problems.append(TemplateError(file: "defaults.yaml", message: "YAML: \(error)"))
            } catch {
                problems.append(TemplateError(file: "defaults.yaml", message: "cannot read: \(error.localizedDescription)"))
            }
        }

        guard problems.isEmpty else { throw TemplateErrors(problems) }
        self.library = library
        self.names = names
        self.defaults = defaults
        self.textTemplates = Set(names.filter { sources["\($0)/text"] != nil })
    }

    /// Whether a template with this name exists.
    public func contains(_ name: String) -> Bool { names.contains(name) }

    /// Whether the template has its own text body.
    public func hasText(_ name: String) -> Bool { textTemplates.contains(name) }

    /// Renders one part (`subject`, `html` or `text`) of a template.
    func render(_ name: String, part: String, context: [String: Any]) -> String? {
        library.render(context, withTemplate: "\(name)/\(part)")
    }

    private struct Reference {
        var name: String
        var line: Int
        var column: Int
    }

    /// `{{> name}}` and `{{< name}}` tags in a template's source, with their positions.
    private static func references(in text: String) -> [Reference] {
        var found: [Reference] = []
        for (lineIndex, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var rest = line[...]
            while let open = rest.range(of: "{{") {
                let after = rest[open.upperBound...].drop(while: { $0 == " " })
                guard let sigil = after.first, sigil == ">" || sigil == "<",
                      let close = after.range(of: "}}")
                else {
                    rest = rest[open.upperBound...]
                    continue
                }
                let name = after[after.index(after: after.startIndex)..<close.lowerBound].trimmingCharacters(in: .whitespaces)
                if !name.isEmpty && !name.hasPrefix("*") {
                    found.append(Reference(name: name, line: lineIndex + 1, column: line.distance(from: line.startIndex, to: open.lowerBound) + 1))
                }
                rest = after[close.upperBound...]
            }
        }
        return found
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
