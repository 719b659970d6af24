import Foundation
import Testing
import TestSupport

/// The shipped emails as receivers see them: laid out on a phone and a desktop (headless
/// Chromium), and scored by SpamAssassin's local tests, with tracking on.
@Suite("the shipped emails on a phone and a desktop, and to SpamAssassin")
struct EmailLayoutTests {
    static let templates = ServeCommandTests.repository.appendingPathComponent("Templates")

    /// The shipped template names.
    static func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: templates.path).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: templates.appendingPathComponent(name).path, isDirectory: &isDirectory)
                && isDirectory.boolValue && !["layouts", "partials"].contains(name)
        }.sorted()
    }

    /// A folder with a lead file: a long name and company, to stress the layout.
    func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-layout-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try #"{"email": "bartholomew.featherstonehaugh@analytical-engines-international.example", "first_name": "Bartholomew", "company": "Analytical Engines International Holdings", "job_title": "CTO"}"#
            .write(to: folder.appendingPathComponent("lead.json"), atomically: true, encoding: .utf8)
        return folder
    }

    /// The template rendered for the lead; `tracking` is the tracking server's URL (for the
    /// browser, one that answers at once: a refused connection, so pages finish loading).
    func preview(_ template: String, format: String, in folder: URL, tracking: String = "https://t.acme-analytics.example") throws -> String {
        let result = try runNurture(["preview", template, "--lead", "lead.json", "--format", format, "--templates", Self.templates.path,
                                     "--tracking-url", tracking], directory: folder)
        try #require(result.status == 0, "\(template): \(result.stderr)")
        return result.stdout
    }

    @Test("every shipped email fits a 390 px phone without a sideways scroll, unsubscribe link in view, and is 600 px wide on a desktop")
    func responsive() throws {
        let browser = try HeadlessBrowser.find()
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var files: [URL] = []
        for name in try Self.names() {
            let file = folder.appendingPathComponent("\(name).html")
            try preview(name, format: "html", in: folder, tracking: "http://127.0.0.1:9").write(to: file, atomically: true, encoding: .utf8)
            files.append(file)
        }
        #expect(files.count == 16)
        let unsubscribe = #"a[href*="/u/"]"#
        for width in [390, 1280] {
            let measures = try PageMeasure.measure(files, width: width, edges: [unsubscribe, ".card"], browser: browser)
            for file in files {
                let m = try #require(measures[file.lastPathComponent], "\(file.lastPathComponent) at \(width)")
                #expect(m.viewport == width && m.scrollWidth <= width && m.overflowing.isEmpty, "\(file.lastPathComponent) at \(width): \(m)")
                let right = try #require(m.rightEdges[unsubscribe] ?? nil, "\(file.lastPathComponent): no unsubscribe link")
                #expect(right <= width, "\(file.lastPathComponent) at \(width): the unsubscribe link ends at \(right)")
                let card = try #require(m.rightEdges[".card"] ?? nil)
                #expect(width == 390 ? card <= 390 : card == (1280 + 600) / 2, "\(file.lastPathComponent) at \(width): the card ends at \(card)")
            }
        }
        // Screenshots of the welcome email for people to look at.
        let shots = ServeCommandTests.repository.appendingPathComponent(".build/screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        for width in [390, 1280] {
            let path = shots.appendingPathComponent("email-welcome-\(width).png").path
            try? FileManager.default.removeItem(atPath: path)
            try browser.screenshot(folder.appendingPathComponent("welcome.html").absoluteString, width: width, height: 1400, to: path)
            #expect(try HeadlessBrowser.pngSize(path).width == width)
        }
    }

    @Test("the dry-run review page fits a 390 px phone, and shows timeline and email side by side on a desktop")
    func reviewPage() throws {
        let browser = try HeadlessBrowser.find()
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try runNurture(["dry-run", "--lead", "lead.json", "--what-if", "clicked welcome +2d", "--out", "review",
                                     "--workflows", ServeCommandTests.repository.appendingPathComponent("Workflows").path,
                                     "--templates", Self.templates.path], directory: folder)
        try #require(result.status == 0, "\(result.stderr)")
        let page = folder.appendingPathComponent("review/index.html")
        for width in [390, 1280] {
            let m = try #require(try PageMeasure.measure([page], width: width, edges: ["section.timeline", "section.preview"], browser: browser)["index.html"])
            #expect(m.scrollWidth <= width && m.overflowing.isEmpty, "at \(width): \(m)")
            let timeline = try #require(m.rightEdges["section.timeline"] ?? nil), preview = try #require(m.rightEdges["section.preview"] ?? nil)
            // On a phone both take the whole width (one below the other); on a desktop the
            // timeline ends where the email begins. (The page's width is the frame's less its scroll bar.)
            #expect(m.scrollWidth > width - 20, "at \(width): \(m)")
            #expect(width == 390 ? timeline == m.scrollWidth && preview == m.scrollWidth : timeline < 1000 && preview == m.scrollWidth, "at \(width): \(m)")
        }
    }

    @Test("every shipped email scores under 1.0 in SpamAssassin's local tests, with tracking on")
    func spamAssassin() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in try Self.names() {
            let file = folder.appendingPathComponent("\(name).eml")
            try preview(name, format: "eml", in: folder).write(to: file, atomically: true, encoding: .utf8)
            #expect(try String(contentsOf: file, encoding: .utf8).contains("https://t.acme-analytics.example/o/"), "\(name): the open pixel")
            let result = try runProgram(URL(fileURLWithPath: "/bin/sh"), ["-c", "spamassassin -L -t < '\(file.path)'"])
            let report = result.stdout.components(separatedBy: "Content analysis details:").last ?? ""
            let score = report.components(separatedBy: "(").dropFirst().first.flatMap { Double($0.prefix { $0 == "-" || $0 == "." || $0.isNumber }) }
            let points = try #require(score, "\(name): no SpamAssassin report (apt-get install spamassassin; scripts/test does): \(result.stderr.suffix(300))")
            #expect(points < 1.0, "\(name) scores \(points):\(report.prefix(1500))")
        }
    }
}
