import Foundation

/// The throwaway PostgreSQL the tests use: `NURTURE_TEST_POSTGRES` when set (scripts/test sets
/// it), otherwise the cluster `scripts/postgres start` starts (creating it on first use). Tests
/// never skip for want of PostgreSQL: they start it.
public enum TestPostgres {
    /// The server's URL (its `postgres` database).
    public static let serverURL: String = {
        if let url = ProcessInfo.processInfo.environment["NURTURE_TEST_POSTGRES"], !url.isEmpty { return url }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/postgres").standardized.path
        let result = try? run(script, ["start"])
        guard let result, result.status == 0, let url = result.stdout.split(separator: "\n").last.map(String.init), !url.isEmpty else {
            fatalError("cannot start PostgreSQL with \(script) start: \(result?.stderr ?? "did not run")")
        }
        return url
    }()

    /// A new, empty database on the test server, and its URL. Each test gets its own.
    public static func createDatabase() throws -> (name: String, url: String) {
        let name = "nurture_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        try psql("CREATE DATABASE \(name)")
        return (name, url(database: name))
    }

    /// Drops a database made by ``createDatabase()`` (closing its connections first).
    public static func dropDatabase(_ name: String) {
        _ = try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// The URL of `database` on the test server.
    public static func url(database: String) -> String {
        guard var components = URLComponents(string: serverURL) else { return serverURL }
        components.path = "/" + database
        return components.string ?? serverURL
    }

    /// Runs SQL with psql on the server's `postgres` database (or `database`); returns its
    /// output, unaligned and without headers.
    @discardableResult
    public static func psql(_ sql: String, database: String? = nil) throws -> String {
        let result = try run("/usr/bin/env", ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", database.map(url(database:)) ?? serverURL, "-c", sql])
        guard result.status == 0 else { throw TestPostgresError(message: "psql \(sql): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func run(_ executable: String, _ arguments: [String]) throws -> CommandResult {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        waitForExit(process)
        return CommandResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
