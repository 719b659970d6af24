import Foundation
import Logging
import NurtureCore
import NurtureDelivery
@testable import NurtureApp
@testable import NurtureRuntime
import NurtureSQLite
import TestSupport

/// A runtime on a real SQLite file, with the shipped Workflows/ and Templates/, sending to a
/// real SMTP server on loopback.
struct Harness {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
    let directory: URL
    let smtp: LoopbackServer

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-service-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        smtp = try LoopbackServer.smtp()
    }

    var database: String { directory.appendingPathComponent("nurture.sqlite").path }

    func configuration(workflows: String? = nil, maxAttempts: Int = 5) -> Configuration {
        var configuration = Configuration(
            from: try! EmailAddress("hello@acme.example", displayName: "Acme"),
            secret: Secret("integration-test-secret-0123456789"),
            relay: .smtp(SMTPConfiguration(url: "smtp://127.0.0.1:\(smtp.port)", starttls: .off, timeout: .seconds(10), connections: 2)))
        configuration.database = database
        configuration.workflows = workflows ?? Self.repository.appendingPathComponent("Workflows").path
        configuration.templates = Self.repository.appendingPathComponent("Templates").path
        configuration.trackingBaseURL = "https://t.acme.example"
        configuration.maxAttempts = maxAttempts
        configuration.retryBase = .minutes(5)
        return configuration
    }

    func runtime(workflows: String? = nil, maxAttempts: Int = 5, machineRules: MachineRules? = nil, clock: any WallClock = SystemClock()) throws -> Runtime {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var configuration = configuration(workflows: workflows, maxAttempts: maxAttempts)
        if let machineRules { configuration.machineRules = machineRules }
        return try Runtime(configuration: configuration, logger: logger, clock: clock)
    }

    /// The messages the SMTP server accepted: (recipient, Message-ID, Subject, raw).
    func received() throws -> [(to: String, messageID: String, subject: String)] {
        try smtp.records("messages.jsonl").map { record in
            let raw = String(decoding: decodeBase64(record["data"]), as: UTF8.self)
            func header(_ name: String) -> String {
                raw.components(separatedBy: "\r\n").first { $0.hasPrefix("\(name): ") }.map { String($0.dropFirst(name.count + 2)) } ?? ""
            }
            return ((record["rcpt_tos"] as? [String])?.first ?? "", header("Message-ID"), header("Subject"))
        }
    }

    func cleanUp() {
        smtp.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

func decodeBase64(_ value: Any?) -> [UInt8] {
    Array(Data(base64Encoded: value as? String ?? "") ?? Data())
}

/// Monday 2026-11-23 10:00 in New York (inside the shipped send window).
let monday = LocalDateTime(parsing: "2026-11-23 10:00")!.instant(in: TimeZone(identifier: "America/New_York")!)

func lead(_ email: String, _ fields: [String: String] = [:], zone: String = "America/New_York") -> Lead {
    Lead(id: "", email: email, fields: fields.merging(["first_name": String(email.prefix(while: { $0 != "@" }))]) { a, _ in a }, timeZone: zone)
}

extension Runtime {
    /// Runs the scheduler and delivery at each hour from `start` for `hours`, like the
    /// service would on a real clock.
    func advance(from start: Date, hours: Int) async throws {
        for hour in 0...hours {
            _ = try await runOnce(now: start + .hours(hour))
        }
    }
}
