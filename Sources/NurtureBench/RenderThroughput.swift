import ArgumentParser
import Foundation
import NurtureContent
import NurtureCore

/// Emails rendered per second (template, tracking, MIME), one thread: the CPU cost per send.
struct RenderThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render", abstract: "Render the shipped templates N times and print renders/s.")

    enum Signing: String, ExpressibleByArgument, CaseIterable { case none, rsa, ed25519, both }

    @Option var count = 2000
    @Option var templates = "Templates"
    @Option(help: "DKIM signatures on each message: none, rsa (2,048 bits), ed25519 or both.")
    var dkim: Signing = .none

    enum Splicing: String, ExpressibleByArgument, CaseIterable { case on, off }
    @Option(help: "on: the lead's values spliced into parts rendered once, where they can be (as served); off: every part through swift-mustache and every text part read from its HTML, for comparison.")
    var splice: Splicing = .on

    func run() throws {
        let loaded = try TemplateLibrary(directory: URL(fileURLWithPath: templates))
        let library = splice == .on ? loaded : loaded.withoutSplicing()
        var keys: [DKIMKey] = []
        if dkim == .rsa || dkim == .both { keys.append(try DKIMKey(generating: .rsaSHA256, domain: "nurture.example", selector: "rsa")) }
        if dkim == .ed25519 || dkim == .both { keys.append(try DKIMKey(generating: .ed25519SHA256, domain: "nurture.example", selector: "ed")) }
        let renderer = EmailRenderer(library: library, settings: EmailRenderer.Settings(
            from: try EmailAddress("news@nurture.example", displayName: "Nurture"), trackingBaseURL: "https://t.nurture.example",
            secret: Secret("benchmark-secret-0123456789abcdef"), dkim: keys.isEmpty ? nil : DKIMSigner(keys: keys)))
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
        print(String(format: "splice \(splice.rawValue), DKIM %@: %d renders in %.3f s: %.0f renders/s, %.0f µs each, %d bytes on average", dkim.rawValue, count, seconds, Double(count) / seconds, seconds / Double(count) * 1e6, bytes / count))
    }
}
