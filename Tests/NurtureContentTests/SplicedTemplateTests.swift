import Foundation
import Mustache
@testable import NurtureContent
import NurtureCore
import Testing

@Suite("Spliced templates: rendered once, the lead's values spliced in, the same bytes as swift-mustache")
struct SplicedTemplateTests {
    /// Values that have broken renderers: escaping, combining marks after `<`, whitespace,
    /// line ends, entities, numbers as text, long and empty ones.
    static let tricky = [
        "Ada", "", " ", "Zoë", "O'Brien & \"Sons\" <ltd>", "<\u{338}", "&amp;", "&lt", "e\u{301}", "\r\n", "line\n", "\nline",
        "tab\there", "  two  spaces  ", "Ada  Lovelace", "a\u{A0}b", "p;", "x &am", "日本語", "👩‍💻", "\u{A0}nbsp", String(repeating: "long ", count: 40), "{{first_name}}", "42",
    ]

    func library() throws -> TemplateLibrary { try TemplateLibrary(directory: EmailLayoutRepository.templates) }

    @Test("every shipped part without sections is spliced, and gives swift-mustache's bytes for any value")
    func shippedParts() throws {
        let library = try library()
        // The shipped bodies have no sections: each is spliced (a subject with one is not).
        for name in library.names {
            #expect(library.spliced["\(name)/html"] != nil, "\(name)/html")
        }
        #expect(library.spliced["getting-started/subject"] == nil, "a section tests a value: rendered by swift-mustache")
        var generator = SystemRandomNumberGenerator()
        for part in library.spliced.keys.sorted() {
            for round in 0..<60 {
                var fields: [String: String] = [:]
                for field in ["first_name", "last_name", "company", "job_title", "postal_address"] where Bool.random(using: &generator) {
                    fields[field] = round < Self.tricky.count ? Self.tricky[round] : Self.tricky.randomElement(using: &generator)!
                }
                let lead = Lead(id: "\(round)", email: "lead\(round)@example.com", fields: fields, fitScore: Int.random(in: 0...100, using: &generator))
                var context = EmailRenderer.context(for: lead, defaults: library.defaults, unsubscribeURL: "https://t.example/u/x?a=1&b=2")
                context["view_url"] = "https://t.example/v/tok'en"
                let spliced = try #require(library.spliced[part]?.render(context))
                let rendered = try #require(library.library.render(context, withTemplate: part))
                #expect(Array(spliced.utf8) == Array(rendered.utf8), "\(part) with \(fields)")
            }
        }
    }

    @Test("what could depend on a value is left to swift-mustache: sections, dotted names, transforms, delimiters, indented partials")
    func notSpliced() throws {
        let cases: [(String, String)] = [
            ("{{#first_name}}Hi {{first_name}}{{/first_name}}", "a section"),
            ("{{^first_name}}Hi there{{/first_name}}", "an inverted section"),
            ("{{lead.name}}", "a dotted name"),
            ("{{uppercased(first_name)}}", "a transform"),
            ("{{=<% %>=}}<%first_name%>", "new delimiters"),
            ("<p>\n  {{> footer.html}}\n</p>", "an indented partial"),
        ]
        for (text, what) in cases {
            let folder = try Self.templates(html: text)
            defer { try? FileManager.default.removeItem(at: folder) }
            let library = try TemplateLibrary(directory: folder)
            #expect(library.spliced["t/html"] == nil, "\(what)")
            #expect(library.spliced["t/subject"] != nil)
        }
    }

    @Test("a block or partial indented by swift-mustache (after a comment, a pragma, a lone CR) is not spliced, or splices the same bytes")
    func indentation() throws {
        let layouts = [
            "<td>\n  {{! content }}{{$body}}{{/body}}\n</td>\n",
            "<td>\n  {{% CONTENT_TYPE: HTML}}{{$body}}{{/body}}\n</td>\n",
            "<td>{{! x }}\r  {{> footer.html}}\n{{$body}}{{/body}}</td>\n",
        ]
        for layout in layouts {
            let folder = try Self.templates(html: "{{<page.html}}{{$body}}<p>Hi {{first_name}}</p>\n<p>Thanks</p>{{/body}}{{/page.html}}")
            defer { try? FileManager.default.removeItem(at: folder) }
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("layouts"), withIntermediateDirectories: true)
            try layout.write(to: folder.appendingPathComponent("layouts/page.html.mustache"), atomically: true, encoding: .utf8)
            let library = try TemplateLibrary(directory: folder)
            for value in ["Ann\n", "Ann\r", "\nAnn", "", "Ann"] {
                let context: [String: Any] = ["first_name": value]
                #expect(library.render("t", part: "html", context: context) == library.library.render(context, withTemplate: "t/html"), "\(layout.debugDescription) with \(value.debugDescription)")
            }
        }
    }

    @Test("{{name}} is escaped in HTML, {{{name}}} and text parts are not; a list value falls back; a missing one is empty")
    func slots() throws {
        let folder = try Self.templates(html: "<p>{{first_name}} {{{first_name}}} {{&first_name}}{{missing}}|{{score}}|</p>")
        defer { try? FileManager.default.removeItem(at: folder) }
        let library = try TemplateLibrary(directory: folder)
        let html = try #require(library.spliced["t/html"])
        #expect(html.pieces == [.text("<p>"), .value("first_name", escaped: true), .text(" "), .value("first_name", escaped: false), .text(" "),
                                .value("first_name", escaped: false), .value("missing", escaped: true), .text("|"), .value("score", escaped: true), .text("|</p>")])
        #expect(html.render(["first_name": "<b>", "score": 7]) == "<p>&lt;b&gt; <b> <b>|7|</p>")
        #expect(html.render(["first_name": ["a"]]) == nil, "not text: swift-mustache renders it")
        #expect(library.spliced["t/subject"]?.render(["first_name": "<b>"]) == "Hi <b>")
        #expect(library.render("t", part: "html", context: ["first_name": ["a"]]) == library.library.render(["first_name": ["a"]], withTemplate: "t/html"))
    }

    @Test("the text part made once from the spliced HTML of every shipped template without one: HTMLPlainText's text, to the byte, for any value")
    func shippedText() throws {
        let library = try library()
        var generator = SystemRandomNumberGenerator()
        var splicedCount = 0
        for name in library.names where !library.hasText(name) {
            let text = try #require(library.splicedText[name], "\(name)")
            for round in 0..<80 {
                var fields: [String: String] = ["first_name": "Ada", "company": "Analytical Engines"]
                for field in ["first_name", "last_name", "company", "job_title"] where round >= 2 && Bool.random(using: &generator) {
                    fields[field] = Self.tricky.randomElement(using: &generator)!
                }
                let lead = Lead(id: "\(round)", email: "lead\(round)@example.com", fields: fields)
                var context = EmailRenderer.context(for: lead, defaults: library.defaults, unsubscribeURL: "https://t.example/u/abc_DEF-123")
                context["view_url"] = round % 3 == 0 ? "https://t.example/v/a&b" : "https://t.example/v/tok_en-9"
                let html = try #require(library.render(name, part: "html", context: context))
                let expected = HTMLPlainText.render(html)
                #expect(library.plainText(name, html: html, context: context) == expected, "\(name) with \(fields)")
                if let spliced = text.render(context) {
                    splicedCount += 1
                    #expect(spliced == expected, "\(name) with \(fields)")
                } else {
                    #expect(round % 3 == 0 || round >= 2, "plain values are spliced: \(name) with \(fields)")
                }
            }
        }
        #expect(splicedCount > 100)
    }

    @Test("a value that could change the text around it keeps the text made from each email's HTML")
    func textNotSpliced() throws {
        let cases: [(String, String)] = [
            (#"<p><img src="x.png" alt="{{first_name}}"></p>"#, "in an attribute other than a link's href"),
            (#"<p><a href="https://x.example/">Hi {{first_name}}</a></p>"#, "in a link's label"),
            (#"<p><a href="{{first_name}}/path">Go</a></p>"#, "part of an href"),
            (#"<p><a href="{{first_name}}">https://x.example/</a></p>"#, "a link whose label is a URL"),
            ("<p>&am{{first_name}}</p>", "after an `&` it could end as an entity"),
            ("<p>x &#000000038{{first_name}} y</p>", "after an `&` 11 bytes before it"),
            ("<p>Hello</p>\n<!-- for {{first_name}}> internal -->", "in a comment it could end"),
            (#"<a-x href="https://acme.example">{{first_name}}</a-x>"#, "in the label of a tag HTMLPlainText reads as a link"),
            (#"<a href="https://acme.example"><span style="display:none"></a></span>{{first_name}}</a>"#, "after a hidden `</a>`"),
            (#"<p><a href="{{first_name}}">https&#58;//acme.example</a></p>"#, "a link whose label decodes to a URL"),
            (#"<div style="display:none">{{first_name}}</div><p>&#xE000;0&#xE001;</p>"#, "fixed text that reads as a marker"),
        ]
        for (text, what) in cases {
            let folder = try Self.templates(html: text)
            defer { try? FileManager.default.removeItem(at: folder) }
            let library = try TemplateLibrary(directory: folder)
            #expect(library.spliced["t/html"] != nil)
            #expect(library.splicedText["t"] == nil, "\(what)")
        }
        let folder = try Self.templates(html: #"<p>Hi {{first_name}}, <a href="{{view_url}}">see it online</a>.</p>"#)
        defer { try? FileManager.default.removeItem(at: folder) }
        let library = try TemplateLibrary(directory: folder)
        let text = try #require(library.splicedText["t"])
        #expect(text.render(["first_name": "Ada", "view_url": "https://t.example/v/1"]) == "Hi Ada, see it online (https://t.example/v/1).\n")
        #expect(text.render(["first_name": "Ada  Lovelace", "view_url": "https://t.example/v/1"]) == nil, "two spaces collapse in HTML")
        #expect(text.render(["first_name": "Ada", "view_url": "mailto:ada@example.com"]) == nil, "not an http(s) link")
        #expect(text.render(["first_name": "", "view_url": "https://t.example/v/1"]) == nil)

        // Unescaped in the HTML: an `&` would start an entity there, so such a value is not spliced.
        let raw = try Self.templates(html: "<p>Hi {{{first_name}}}</p>")
        defer { try? FileManager.default.removeItem(at: raw) }
        let rawText = try #require(try TemplateLibrary(directory: raw).splicedText["t"])
        #expect(rawText.render(["first_name": "Ada"]) == "Hi Ada\n")
        #expect(rawText.render(["first_name": "A&amp;B"]) == nil)
    }

    /// A templates folder with one template `t`: its subject `Hi {{first_name}}`, `html`, and the
    /// `footer.html` partial.
    static func templates(html: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-spliced-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("t"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("partials"), withIntermediateDirectories: true)
        try "Hi {{first_name}}".write(to: folder.appendingPathComponent("t/subject.mustache"), atomically: true, encoding: .utf8)
        try html.write(to: folder.appendingPathComponent("t/html.mustache"), atomically: true, encoding: .utf8)
        try "<p>footer {{first_name}}</p>\n".write(to: folder.appendingPathComponent("partials/footer.html.mustache"), atomically: true, encoding: .utf8)
        return folder
    }
}
