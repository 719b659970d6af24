import Foundation
import NurtureContent
import Testing

/// Writes `files` (relative path → content) into a new temporary folder.
func templatesFolder(_ files: [String: String]) throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-templates-\(UUID())")
    for (path, content) in files {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try content.write(to: url, atomically: true, encoding: .utf8)
    }
    return root
}

@Suite("Template folders: loading and precise errors")
struct TemplateLibraryTests {
    let valid = [
        "layouts/base.html.mustache": "<html><body>{{$body}}{{/body}}{{> footer.html}}</body></html>",
        "partials/footer.html.mustache": "<p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>",
        "hello/subject.mustache": "Hi {{first_name}}",
        "hello/html.mustache": "{{<base.html}}{{$body}}<p>Hi {{first_name}}</p>{{/body}}{{/base.html}}",
    ]

    @Test("the shipped Templates/ folder loads")
    func shipped() throws {
        let library = try TemplateLibrary(directory: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Templates").standardizedFileURL)
        #expect(library.names.contains("welcome"))
        #expect(library.defaults["first_name"] == "there")
    }

    @Test("a valid folder loads; templates are the folders with a subject and html")
    func loads() throws {
        let library = try TemplateLibrary(directory: templatesFolder(valid))
        #expect(library.names == ["hello"])
        #expect(!library.hasText("hello"))
    }

    func errors(_ files: [String: String]) -> [String] {
        let folder = try! templatesFolder(files)
        do {
            _ = try TemplateLibrary(directory: folder)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test("every problem is reported, each with file, line and column", arguments: [
        (["hello/subject.mustache": "Hi", "hello/html.mustache": "<p>\n  {{#premium}}Gold\n</p>"],
         ["hello/html.mustache:3:5: Mustache syntax: a section {{#…}} or {{^…}} is never closed"]),
        (["hello/subject.mustache": "Hi {{first_name", "hello/html.mustache": "<p>x</p>"],
         ["hello/subject.mustache:1:16: Mustache syntax: the template ends inside a tag: a {{ is not closed with }}"]),
        (["hello/subject.mustache": "Hi", "hello/html.mustache": "<p>{{#a}}x{{/b}}</p>"],
         ["hello/html.mustache:1:14: Mustache syntax: a closing tag {{/…}} does not match the section it closes"]),
        (["hello/subject.mustache": "Hi", "hello/html.mustache": "<p>x</p>\n{{> missing.html}}"],
         ["hello/html.mustache:2:1: unknown partial or layout 'missing.html' (known: )"]),
        (["hello/html.mustache": "<p>x</p>"], ["hello/: template 'hello' has no subject.mustache"]),
        (["hello/subject.mustache": "Hi", "hello/text.mustache": "x"], ["hello/: template 'hello' has no html.mustache"]),
        (["layouts/a.html.mustache": "x", "partials/a.html.mustache": "y"],
         ["partials/a.html.mustache: 'a.html' is also defined by layouts/a.html.mustache: layout and partial names must be unique"]),
        (["defaults.yaml": "first_name: there\ncompany:\n  - a\n  - b\n"],
         ["defaults.yaml:3:3: expected 'field: text', found a list for 'company'"]),
    ])
    func corpus(files: [String: String], expected: [String]) {
        #expect(errors(files) == expected)
    }

    @Test("all errors at once, not only the first")
    func allErrors() {
        let found = errors([
            "a/subject.mustache": "{{#x}}", "a/html.mustache": "{{> nope}}",
            "b/html.mustache": "ok",
        ])
        #expect(found.count == 3)
    }

    @Test("a missing folder is an error")
    func missingFolder() {
        #expect(throws: TemplateErrors.self) { try TemplateLibrary(directory: URL(fileURLWithPath: "/nonexistent/Templates")) }
    }
}
