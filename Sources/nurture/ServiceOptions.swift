import ArgumentParser
import Foundation
import Logging
import NurtureApp
import NurtureRuntime

/// `--config`, shared by every command that uses the database.
struct ServiceOptions: ParsableArguments {
    @Option(help: "The configuration file (default: ./nurture.yaml if present; NURTURE_* variables override it).")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .info

    func configuration() throws -> Configuration {
        let path = config ?? (FileManager.default.fileExists(atPath: "nurture.yaml") ? "nurture.yaml" : nil)
        do {
            return try Configuration.load(path: path, environment: ProcessInfo.processInfo.environment)
        } catch {
            printError(error.description)
            throw ExitCode(78) // EX_CONFIG
        }
    }

    func logger() -> Logger {
        LoggingBootstrap.once
        var logger = Logger(label: "nurture")
        logger.logLevel = logLevel
        return logger
    }

    /// Runs `body` with the runtime and its store ready (PostgreSQL: schema up to date and the
    /// connection pool running until `body` returns).
    func withRuntime<Result>(sending: Bool = false, _ body: (Runtime) async throws -> Result) async throws -> Result {
        let runtime = try runtime(sending: sending)
        do {
            return try await runtime.withStore { try await body(runtime) }
        } catch let error as RuntimeError {
            printError("\(error)")
            throw ExitCode(78)
        }
    }

    /// The runtime; for a command that sends email (`sending`), only with a configuration fit
    /// for it (a sender, an https tracking URL), its development allowances logged as warnings.
    func runtime(sending: Bool = false) throws -> Runtime {
        let configuration = try configuration()
        if sending { try Self.checkForSending(configuration, logger: logger()) }
        do {
            return try Runtime(configuration: configuration, logger: logger())
        } catch {
            printError("\(error)")
            throw ExitCode(78)
        }
    }
}

extension ServiceOptions {
    /// Refuses (exit 78, naming the setting) a configuration that must not send email, and
    /// logs what is only fit for development.
    static func checkForSending(_ configuration: Configuration, logger: Logger, fromGiven: Bool = false, trackingURL: String? = nil) throws {
        let check = configuration.sendingCheck(fromGiven: fromGiven, trackingURL: trackingURL)
        guard check.problems.isEmpty else {
            printError(check.problems.joined(separator: "\n"))
            throw ExitCode(78) // EX_CONFIG
        }
        for warning in check.warnings { logger.warning("\(warning)") }
    }
}

enum LoggingBootstrap {
    static let once: Void = LoggingSystem.bootstrap(StreamLogHandler.standardError)
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
