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
         ["hello/html.mustache:2:3: {{#premium}} is never closed: add {{/premium}} where it ends"]),
        (["hello/subject.mustache": "Hi {{first_name", "hello/html.mustache": "<p>x</p>"],
         ["hello/subject.mustache:1:16: Mustache syntax: the template ends inside a tag: a {{ is not closed with }}"]),
        (["hello/subject.mustache": "Hi", "hello/html.mustache": "<p>{{#a}}x{{/b}}</p>"],
         ["hello/html.mustache:1:11: {{/b}} closes {{#a}}, opened at line 1 column 4 and not closed: add {{/a}} before it"]),
        // An unclosed section inside a layout block: named, with where it was opened.
        (["layouts/base.html.mustache": "<html>{{$body}}{{/body}}</html>", "hello/subject.mustache": "Hi",
          "hello/html.mustache": "{{<base.html}}{{$body}}\n<p>{{#job_title}}As a {{job_title}}</p>\n{{/body}}{{/base.html}}"],
         ["hello/html.mustache:3:1: {{/body}} closes {{#job_title}}, opened at line 2 column 4 and not closed: add {{/job_title}} before it"]),
        // In a one-line subject: at the tag, not a line past the end.
        (["hello/subject.mustache": "Pricing {{#company}}for {{company}}\n", "hello/html.mustache": "<p>x</p>"],
         ["hello/subject.mustache:1:9: {{#company}} is never closed: add {{/company}} where it ends"]),
        (["hello/subject.mustache": "Hi", "hello/html.mustache": "<p>x{{/a}}</p>"],
         ["hello/html.mustache:1:5: {{/a}} closes a section that was never opened"]),
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

/// Hardening: what would crash or hang rendering is refused when the folder is loaded.
@Suite("Template folders: adversarial input is refused in bounded work")
struct TemplateLibraryAdversarialTests {
    static let base = [
        "layouts/base.html.mustache": "<html><body>{{$body}}{{/body}}{{> footer.html}}</body></html>",
        "partials/footer.html.mustache": "<p>\n<a href=\"{{unsubscribe_url}}\">Unsubscribe</a>\n</p>",
        "hello/subject.mustache": "Hi {{first_name}}",
        "hello/html.mustache": "{{<base.html}}{{$body}}<p>Hi {{first_name}}</p>{{/body}}{{/base.html}}",
    ]

    /// The errors loading `files` over the base set gives, checking it took well under 5 s.
    func errors(_ files: [String: String], links: [String: String] = [:]) throws -> [String] {
        let folder = try templatesFolder(Self.base.merging(files) { _, new in new })
        defer { try? FileManager.default.removeItem(at: folder) }
        for (path, target) in links {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: url)
            try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
        }
        let clock = ContinuousClock()
        var found: [String] = []
        let elapsed = clock.measure {
            do throws(TemplateErrors) { _ = try TemplateLibrary(directory: folder) } catch { found = error.errors.map(\.description) }
        }
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        return found
    }

    @Test("a partial that includes itself is refused, with the chain")
    func selfPartial() throws {
        #expect(try errors(["partials/footer.html.mustache": "<p>\nbye\n{{> footer.html}}</p>"]) == [
            "partials/footer.html.mustache:3:1: partial cycle: footer.html → footer.html (it would never finish rendering)",
        ])
    }

    @Test("partials including each other are refused once, from the first file")
    func partialCycle() throws {
        #expect(try errors(["partials/a.html.mustache": "a {{> b.html}}", "partials/b.html.mustache": "b\n  {{> a.html}}"]) == [
            "partials/a.html.mustache:1:3: partial cycle: a.html → b.html → a.html (it would never finish rendering)",
        ])
    }

    @Test("a layout that inherits from itself is refused, and a cycle through a layout and a partial")
    func layoutCycles() throws {
        #expect(try errors(["layouts/base.html.mustache": "{{<base.html}}{{$body}}x{{/body}}{{/base.html}}"]) == [
            "layouts/base.html.mustache:1:1: layout cycle: base.html → base.html (it would never finish rendering)",
        ])
        #expect(try errors(["partials/footer.html.mustache": "{{<base.html}}{{/base.html}}"]) == [
            "layouts/base.html.mustache:1:31: partial and layout cycle: base.html → footer.html → base.html (it would never finish rendering)",
        ])
    }

    @Test("a cycle hidden behind set-delimiter tags is found")
    func cycleBehindDelimiters() throws {
        #expect(try errors(["partials/footer.html.mustache": "{{=<% %>=}}\n<%! {{> nothing}} %>\n<%> footer.html%>"]) == [
            "partials/footer.html.mustache:3:1: partial cycle: footer.html → footer.html (it would never finish rendering)",
        ])
    }

    @Test("a partial named by the lead's data is refused")
    func dynamicPartial() throws {
        #expect(try errors(["partials/footer.html.mustache": "{{>*which}}"]) == [
            "partials/footer.html.mustache:1:1: dynamic partial '{{>*which}}' is not supported: the lead's data would choose the template; name it",
        ])
    }

    static let deep = String(repeating: "{{#a}}", count: 10_000) + String(repeating: "{{/a}}", count: 10_000)

    @Test("10,000 nested sections are refused before swift-mustache parses them, at the tag that goes too deep")
    func deepSections() throws {
        #expect(try errors(["hello/html.mustache": "<p>\n" + Self.deep]) == [
            "hello/html.mustache:2:601: sections, blocks and layouts nest more than 100 levels deep here: refused",
        ])
        // With other delimiters, inverted sections and blocks too.
        let other = "{{=<% %>=}}" + String(repeating: "<%^a%><%$b%>", count: 5_000)
        let found = try errors(["hello/text.mustache": other])
        #expect(found == [
            "hello/text.mustache:1:612: sections, blocks and layouts nest more than 100 levels deep here: refused",
        ])
    }

    @Test("100 levels are fine; set delimiters end with their section, as in swift-mustache")
    func nestingLimit() throws {
        let hundred = String(repeating: "{{#a}}", count: 100) + "x" + String(repeating: "{{/a}}", count: 100)
        #expect(try errors(["hello/text.mustache": hundred]) == [])
        // Inside the section `<% %>` applies; after it, `{{ }}` again: those 101 count.
        let scoped = "{{#s}}{{=<% %>=}}<%/s%>" + String(repeating: "{{#a}}", count: 101) + String(repeating: "{{/a}}", count: 101)
        #expect(try errors(["hello/text.mustache": scoped]) == [
            "hello/text.mustache:1:624: sections, blocks and layouts nest more than 100 levels deep here: refused",
        ])
    }

    @Test("partials and layouts nesting too deep together are refused, with the chain")
    func deepChain() throws {
        var files: [String: String] = [:]
        for i in 0..<60 { files["partials/p\(i).html.mustache"] = "{{#x}}" + (i < 59 ? "{{> p\(i + 1).html}}" : "end") + "{{/x}}" }
        files["hello/text.mustache"] = "{{> p0.html}}"
        let found = try errors(files)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("partials/p9.html.mustache:1:7: partials and layouts nest more than 100 levels deep (sections included): p9.html → p10.html → ") == true, "\(found)")
    }

    @Test("partials that multiply (each included 10 times, 9 levels) are refused")
    func partialBomb() throws {
        var files: [String: String] = [:]
        for i in 0..<9 { files["partials/p\(i).html.mustache"] = String(repeating: "{{> p\(i + 1).html}}", count: 10) }
        files["partials/p9.html.mustache"] = "lol"
        files["hello/text.mustache"] = "{{> p0.html}}"
        let found = try errors(files)
        #expect(found == ["partials/p3.html.mustache:1:1: partials and layouts expand to more than 8 MiB of text (each inclusion repeats what it includes)"])
    }

    @Test("transforms nested in one tag and very long delimiters are refused")
    func parserRecursion() throws {
        #expect(try errors(["hello/text.mustache": "{{" + String(repeating: "f(", count: 10_000) + "x" + String(repeating: ")", count: 10_000) + "}}"]) == [
            "hello/text.mustache:1:1: more than 16 transforms in one tag: refused",
        ])
        #expect(try errors(["hello/text.mustache": "a\n {{=" + String(repeating: "<", count: 1000) + " >=}}"]) == [
            "hello/text.mustache:2:2: set-delimiter tag: delimiters longer than 10 characters are not supported",
        ])
    }

    @Test("a file over 1 MiB is refused")
    func tooBig() throws {
        #expect(try errors(["hello/text.mustache": String(repeating: "x", count: (1 << 20) + 1)]) == [
            "hello/text.mustache: the file is 1048577 bytes, over the limit of 1 MiB (1048576 bytes): refused",
        ])
    }

    @Test("templates, folders and defaults.yaml linking out of the folder are refused; links inside are fine")
    func symbolicLinks() throws {
        #expect(try errors([:], links: ["hello/text.mustache": "/etc/passwd"]) == [
            "hello/text.mustache: is a symbolic link to /etc/passwd, outside the templates folder: refused",
        ])
        #expect(try errors([:], links: ["defaults.yaml": "/etc/passwd"]) == [
            "defaults.yaml: is a symbolic link to /etc/passwd, outside the templates folder: refused",
        ])
        #expect(try errors([:], links: ["evil": "/etc"]) == ["evil/: is a symbolic link to /etc, outside the templates folder: refused"])
        #expect(try errors([:], links: ["hello/loop": ".."]) == ["hello/loop/: is a symbolic link to a folder it is in (a loop): refused"])
        #expect(try errors([:], links: ["hello/text.mustache": "../partials/footer.html.mustache", "again": "hello"]) == [])
    }

    @Test("a billion-laughs defaults.yaml is refused, with its line")
    func defaultsAliases() throws {
        var yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for (i, name) in "bcdefghij".enumerated() {
            let previous = Array("abcdefghij")[i]
            yaml += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
        }
        yaml += "? *j\n: x\n"
        let found = try errors(["defaults.yaml": yaml])
        #expect(found == [
            "defaults.yaml:5:44: YAML anchors and aliases expand to more than 100000 values here: refused (aliases inside anchors multiply)",
        ])
    }
}

@Suite("Templates: a list repeated inside itself is refused")
struct ListSectionTests {
    func library(_ files: [String: String]) throws -> TemplateLibrary {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-lists-\(UUID())")
        for (path, text) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return try TemplateLibrary(directory: root)
    }

    @Test("{{#tags}} nested in {{#tags}}, directly, through a partial, or a block in a list, is refused at its tag")
    func nestedLists() throws {
        let base = ["t/subject.mustache": "Hi"]
        #expect(throws: TemplateErrors.self) {
            _ = try library(base.merging(["t/html.mustache": "<p>{{#tags}}\n{{#tags}}{{.}}{{/tags}}{{/tags}}</p>"]) { $1 })
        }
        do {
            _ = try library(base.merging(["t/html.mustache": "<p>{{#tags}}{{> each.html}}{{/tags}}</p>", "partials/each.html.mustache": "{{#tags}}x{{/tags}}"]) { $1 })
            Issue.record("a partial repeating the list inside the list was accepted")
        } catch {
            #expect("\(error)".contains("t/html.mustache:1:13: {{>each.html}} inside a list section includes a list section"), "\(error)")
        }
        do {
            _ = try library(base.merging(["t/html.mustache": "{{#tags}}\n  {{#tags}}{{.}}{{/tags}}{{/tags}}"]) { $1 })
        } catch {
            #expect("\(error)".contains("t/html.mustache:2:3: {{#tags}} inside {{#tags}}: a list repeated inside itself"), "\(error)")
        }
        #expect(throws: TemplateErrors.self) {
            _ = try library(base.merging(["t/html.mustache": "{{<l.html}}{{$b}}{{#tags}}x{{/tags}}{{/b}}{{/l.html}}", "layouts/l.html.mustache": "{{#tags}}{{$b}}{{/b}}{{/tags}}"]) { $1 })
        }
        // One list section, or a list beside another, or an inverted one inside, is fine.
        _ = try library(base.merging(["t/html.mustache": "{{#tags}}{{.}}{{/tags}} {{#tags}}{{.}}{{/tags}} {{#tags}}{{^tags}}none{{/tags}}{{/tags}}"]) { $1 })
    }
}
