import ArgumentParser
import Foundation
import NurtureContent
import NurtureCore

/// Emails rendered per second (template, tracking, MIME), one thread: the CPU cost per send.
struct RenderThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render", abstract: "Render the shipped templates N times and print renders/s.")

    @Option var count = 2000
    @Option var templates = "Templates"

    func run() throws {
        let library = try TemplateLibrary(directory: URL(fileURLWithPath: templates))
        let renderer = EmailRenderer(library: library, settings: EmailRenderer.Settings(
            from: try EmailAddress("news@nurture.example", displayName: "Nurture"), trackingBaseURL: "https://t.nurture.example",
            secret: Secret("benchmark-secret-0123456789abcdef")))
        let names = library.names
        let lead = Lead(id: "1", email: "ada@example.com", fields: ["first_name": "Ada", "company": "Analytical Engines", "job_title": "CTO"])
        let clock = ContinuousClock()
        var bytes = 0
        let took = try clock.measure {
            for i in 0..<count {
                let rendered = try renderer.render(
                    template: names[i % names.count], lead: lead,
                    key: SendKey(leadID: "1", sequence: "s", step: "x", enrollment: i), date: 1_795_000_000)
                bytes += rendered.message.rfc5322.count
            }
        }
        let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
        print(String(format: "%d renders in %.3f s: %.0f renders/s, %.0f µs each, %d bytes on average", count, seconds, Double(count) / seconds, seconds / Double(count) * 1e6, bytes / count))
    }
}
