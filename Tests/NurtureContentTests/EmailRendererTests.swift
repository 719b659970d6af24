import Foundation
@testable import NurtureContent
import NurtureCore
import Testing
import TestSupport

@Suite("Rendering emails from templates and leads")
struct EmailRendererTests {
    static let settings = EmailRenderer.Settings(
        from: try! EmailAddress("hello@acme.example", displayName: "Acme"),
        trackingBaseURL: "https://t.acme.example", secret: Secret("renderer-test-secret-0123456789"),
        unsubscribeMailto: "unsubscribe@acme.example")
    static let shippedTemplates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Templates").standardizedFileURL
    let key = SendKey(leadID: "7", sequence: "welcome-series", step: "welcome", enrollment: 1)

    func renderer(_ files: [String: String]? = nil) throws -> EmailRenderer {
        let directory = try files.map(templatesFolder) ?? Self.shippedTemplates
        return EmailRenderer(library: try TemplateLibrary(directory: directory), settings: Self.settings)
    }

    @Test("the shipped welcome email reads back exactly through Python's email parser")
    func welcome() throws {
        let lead = Lead(id: "7", email: "ada@example.com", fields: ["first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines"])
        let rendered = try renderer().render(template: "welcome", lead: lead, key: key, date: 1_795_000_000)
        let parsed = try ParsedMessage.parse(rendered.message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.subject == "Welcome to Acme Analytics, Ada")
        #expect(parsed.to == [["Ada Lovelace", "ada@example.com"]])
        #expect(parsed.parts.map(\.content_type) == ["text/plain", "text/html"])
        #expect(parsed.parts[0].content == rendered.message.text)
        #expect(parsed.parts[1].content == rendered.message.html)
        #expect(parsed.parts[0].content.contains("we want that for Analytical Engines too."))
        #expect(parsed.parts[1].content.contains("<img src=\"https://t.acme.example/o/"))
        #expect(!parsed.parts[1].content.contains("https://acme-analytics.example/start"))
        let unsubscribe = try #require(parsed.header("List-Unsubscribe").first)
        #expect(unsubscribe.hasPrefix("<https://t.acme.example/u/"))
        #expect(unsubscribe.contains(">, <mailto:unsubscribe@acme.example?subject=unsubscribe-"))
        #expect(parsed.header("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"])
        #expect(parsed.header("Message-ID") == ["<\(rendered.sendID)@acme.example>"])
        #expect(parsed.max_line <= 998)
        // The unsubscribe link in the body is the same URL as in the header, untouched by click tracking.
        let url = String(unsubscribe.dropFirst().prefix(while: { $0 != ">" }))
        #expect(parsed.parts[0].content.contains("Unsubscribe: \(url)"))
        #expect(parsed.parts[1].content.contains("href=\"\(url)\""))
    }

    @Test("a retry renders the same Message-ID and tokens; another enrollment does not")
    func stableIdentity() throws {
        let lead = Lead(id: "7", email: "ada@example.com")
        let r = try renderer()
        let first = try r.render(template: "welcome", lead: lead, key: key, date: 1_795_000_000)
        let retry = try r.render(template: "welcome", lead: lead, key: key, date: 1_795_000_600)
        #expect(first.message.messageID == retry.message.messageID)
        #expect(first.message.html == retry.message.html)
        var again = key
        again.enrollment = 2
        #expect(try r.render(template: "welcome", lead: lead, key: again, date: 1_795_000_000).message.messageID != first.message.messageID)
        #expect(!first.message.messageID.contains("7/"))
    }

    @Test("defaults fill missing or empty fields")
    func defaults() throws {
        let rendered = try renderer().render(template: "welcome", lead: Lead(id: "1", email: "x@example.com", fields: ["first_name": " "]), key: key, date: 0)
        #expect(rendered.message.subject == "Welcome to Acme Analytics, there")
        #expect(rendered.message.text?.hasPrefix("Hi there,") == true)
    }

    @Test("HTML bodies escape lead data; subjects and text parts do not")
    func escaping() throws {
        let r = try renderer([
            "t/subject.mustache": "For {{company}}", "t/html.mustache": "<p>{{company}}</p>", "t/text.mustache": "{{company}}",
        ])
        let lead = Lead(id: "1", email: "x@example.com", fields: ["company": "Fish & <Chips>"])
        let message = try r.render(template: "t", lead: lead, key: key, date: 0, tracking: false).message
        #expect(message.html == "<p>Fish &amp; &lt;Chips&gt;</p>")
        #expect(message.text == "Fish & <Chips>")
        #expect(message.subject == "For Fish & <Chips>")
    }

    @Test("a template without a text part gets one made from its HTML")
    func generatedText() throws {
        let message = try renderer().render(
            template: "getting-started", lead: Lead(id: "1", email: "x@example.com", fields: ["first_name": "Bo", "job_title": "CFO"]),
            key: key, date: 0, tracking: false).message
        #expect(message.subject == "3 metrics every CFO should watch")
        #expect(message.text?.contains("- Activation rate: the share of sign-ups that reach their first success.") == true)
        #expect(message.text?.contains("The short list") == false)
    }

    @Test("tracking off leaves links and adds no pixel")
    func trackingOff() throws {
        let message = try renderer().render(template: "welcome", lead: Lead(id: "1", email: "x@example.com"), key: key, date: 0, tracking: false).message
        #expect(message.html?.contains("https://acme-analytics.example/start?utm_source=nurture&amp;utm_campaign=welcome") == true)
        #expect(message.html?.contains("/o/") == false)
        #expect(message.html?.contains("/c/") == false)
        #expect(message.headers.contains { $0.name == "List-Unsubscribe" })
    }

    @Test("a subject override is rendered with the lead's data")
    func subjectOverride() throws {
        let message = try renderer().render(
            template: "welcome", lead: Lead(id: "1", email: "x@example.com", fields: ["first_name": "Zoë"]), key: key, date: 0,
            subject: "Last chance, {{first_name}}: 20% off").message
        #expect(message.subject == "Last chance, Zoë: 20% off")
    }

    @Test("unknown templates and unusable leads are refused with a reason")
    func errors() throws {
        let r = try renderer()
        #expect(throws: RenderError.self) { try r.render(template: "nope", lead: Lead(id: "1", email: "x@example.com"), key: key, date: 0) }
        do {
            _ = try r.render(template: "welcome", lead: Lead(id: "1", email: "not an address"), key: key, date: 0)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("cannot send to the lead"))
        }
    }

    @Test("the sender's postal_address (defaults.yaml) is not replaced by a lead field of that name")
    func postalAddressIsTheSenders() throws {
        let library = try TemplateLibrary(directory: EmailLayoutRepository.templates)
        let renderer = EmailRenderer(library: library, settings: EmailRenderer.Settings(
            from: try EmailAddress.parse("Acme <hello@acme.example>"), trackingBaseURL: "https://t.acme.example", secret: Secret("postal-test-secret-0123456789")))
        let lead = Lead(id: "7", email: "ada@example.com", fields: ["first_name": "Ada", "postal_address": "Click http://evil.example now"])
        let message = try renderer.render(template: "welcome", lead: lead, key: key, date: 1_795_000_000).message
        #expect(message.html?.contains("1 Example Street") == true && message.html?.contains("evil") == false)
        #expect(message.text?.contains("1 Example Street") == true && message.text?.contains("evil") == false)
    }

    @Test("images without alt are found at their line and column, with CRLF line ends and <img at a line's end")
    func imagesWithoutAlt() {
        let text = "<p>x</p>\r\n<img src=a.png>\r\n<IMG\r\n src=b.png alt=\"\">\r\n  <img\r\nsrc=c.png>"
        #expect(TemplateLint.imagesWithoutAlt(text).map { "\($0.line):\($0.column)" } == ["2:1", "5:3"])
    }

    @Test("open_tracking off: no open pixel, links still tracked")
    func noOpenPixel() throws {
        let lead = Lead(id: "7", email: "ada@example.com", fields: ["first_name": "Ada"])
        let with = try renderer().render(template: "welcome", lead: lead, key: key, date: 1_795_000_000).message.html ?? ""
        let without = try renderer().render(template: "welcome", lead: lead, key: key, date: 1_795_000_000, openPixel: false).message.html ?? ""
        #expect(with.contains("/o/") && !without.contains("/o/") && !without.contains("width=\"1\" height=\"1\""))
        #expect(without.contains("/c/") && without.components(separatedBy: "/c/").count == with.components(separatedBy: "/c/").count)
    }

    @Test("golden message: the exact bytes of the shipped welcome email")
    func golden() throws {
        let lead = Lead(id: "7", email: "ada@example.com", fields: ["first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines"])
        let bytes = try renderer().render(template: "welcome", lead: lead, key: key, date: 1_795_000_000).message.rfc5322
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/welcome.eml")
        if ProcessInfo.processInfo.environment["NURTURE_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: golden)
        }
        let expected = try Data(contentsOf: golden)
        #expect(Array(expected) == bytes, "regenerate with NURTURE_UPDATE_GOLDEN=1 after an intended change")
    }
    @Test("golden messages: the exact bytes of every shipped template, for an ASCII and a non-ASCII lead")
    func goldenShipped() throws {
        let renderer = try renderer()
        let leads = [
            Lead(id: "7", email: "ada@example.com", fields: ["first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "job_title": "CTO"]),
            Lead(id: "8", email: "zoe@example.com", fields: [
                "first_name": "Zoë", "last_name": "Ångström-Łukasiewicz", "company": "Société Générale des Très Longs Noms & Fils, Ltd. — Département R&D",
                "job_title": "Directrice générale déléguée",
            ]),
        ]
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/shipped")
        let update = ProcessInfo.processInfo.environment["NURTURE_UPDATE_GOLDEN"] == "1"
        if update { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        #expect(renderer.library.names.count >= 16)
        for name in renderer.library.names {
            for lead in leads {
                let bytes = try renderer.render(template: name, lead: lead, key: key, date: 1_795_000_000).message.rfc5322
                let file = folder.appendingPathComponent("\(name)-\(lead.id).eml")
                if update { try Data(bytes).write(to: file) }
                let expected = try Data(contentsOf: file)
                #expect(Array(expected) == bytes, "\(name) for lead \(lead.id): regenerate with NURTURE_UPDATE_GOLDEN=1 after an intended change")
            }
        }
    }
}

/// Where the shipped templates are.
enum EmailLayoutRepository {
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Templates").standardizedFileURL
}
