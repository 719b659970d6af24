import Foundation
import Testing
import TestSupport

@Suite("nurture migrate, and the database setting")
struct MigrateCommandTests {
    func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-migrate-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    let environment = ["NURTURE_SECRET": "migrate-test-secret-0123456789"]

    @Test("applies what is missing, once; --check tells what is pending")
    func migrates() throws {
        let folder = try folder()
        let env = environment.merging(["NURTURE_DATABASE": "sqlite:\(folder.path)/n.sqlite"]) { $1 }
        let first = try runNurture(["migrate"], directory: folder, environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("applied v1, v2: tracking, v3: canonical addresses"))
        let again = try runNurture(["migrate"], directory: folder, environment: env)
        #expect(again.stdout.contains("up to date"))
        let check = try runNurture(["migrate", "--check"], directory: folder, environment: env)
        #expect(check.status == 0)
        let fresh = try runNurture(["migrate", "--check"], directory: folder, environment: environment.merging(["NURTURE_DATABASE": "\(folder.path)/other.sqlite"]) { $1 })
        #expect(fresh.status == 1)
        #expect(fresh.stdout.contains("pending: v1"))
    }

    @Test("lead states: --check tells the format and what is stored; --lead-states switches it, --rewrite rewrites them all")
    func leadStates() throws {
        let folder = try folder()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
        let env = environment.merging([
            "NURTURE_DATABASE": "sqlite:\(folder.path)/n.sqlite",
            "NURTURE_WORKFLOWS": repository.appendingPathComponent("Workflows").path, "NURTURE_TEMPLATES": repository.appendingPathComponent("Templates").path,
            "NURTURE_RELAY_URL": "file://\(folder.path)/outbox",
        ]) { $1 }
        for email in ["ada@example.com", "bob@example.com"] {
            let add = try runNurture(["leads", "add", "--email", email, "--field", "company=Acme"], directory: folder, environment: env)
            #expect(add.status == 0, "\(add.stderr)")
        }
        let check = try runNurture(["migrate", "--check"], directory: folder, environment: env)
        #expect(check.stdout.contains("lead states written as binary; stored: 2 binary"), "\(check.stdout)")

        let switched = try runNurture(["migrate", "--lead-states", "json", "--rewrite", "--settle-seconds", "0"], directory: folder, environment: env)
        #expect(switched.status == 0, "\(switched.stderr)")
        #expect(switched.stdout.contains("lead states written as json from now on"), "\(switched.stdout)")
        #expect(switched.stdout.contains("rewrote 2 stored states as json"), "\(switched.stdout)")
        let after = try runNurture(["migrate", "--check"], directory: folder, environment: env)
        #expect(after.stdout.contains("lead states written as json; stored: 2 json"), "\(after.stdout)")
        let show = try runNurture(["leads", "show", "ada@example.com"], directory: folder, environment: env)
        #expect(show.status == 0 && show.stdout.contains("Acme"), "\(show.stdout)\(show.stderr)")

        let back = try runNurture(["migrate", "--lead-states", "binary"], directory: folder, environment: env)
        #expect(back.status == 0 && !back.stdout.contains("rewrote"), "\(back.stdout)\(back.stderr)")
        let bad = try runNurture(["migrate", "--rewrite"], directory: folder, environment: env)
        #expect(bad.status == 64 && bad.stderr.contains("--rewrite goes with --lead-states"), "\(bad.stderr)")
        let unknown = try runNurture(["migrate", "--lead-states", "xml"], directory: folder, environment: env)
        #expect(unknown.status == 64, "\(unknown.stderr)")
    }

    @Test("several processes starting together on a new file: each one succeeds, each migration runs once")
    func concurrentStarts() throws {
        let folder = try folder()
        let processes = try (0..<4).map { _ -> ChildProcess in
            let process = ChildProcess()
            process.executableURL = builtProduct("nurture")
            process.arguments = ["migrate"]
            process.environment = ProcessInfo.processInfo.environment.merging(environment.merging(["NURTURE_DATABASE": "\(folder.path)/n.sqlite"]) { $1 }) { $1 }
            process.currentDirectoryURL = folder
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in processes {
            waitForExit(process)
            #expect(process.terminationStatus == 0)
        }
        let check = try runNurture(["migrate", "--check"], directory: folder, environment: environment.merging(["NURTURE_DATABASE": "\(folder.path)/n.sqlite"]) { $1 })
        #expect(check.stdout.contains("up to date"))
    }

    @Test("an unreachable PostgreSQL, a bad URL and unknown schemes are configuration errors; passwords never print", arguments: [
        ("postgres://nurture:s3cret-pw@127.0.0.1:1/nurture?sslmode=disable", "Connection refused"),
        ("postgres://nurture:s3cret-pw@db.example/nurture?sslmode=maybe", "the PostgreSQL URL's sslmode 'maybe' is not valid"),
        ("postgres://nurture:s3cret-pw@db.example:5432", "the PostgreSQL URL has no database name"),
        ("mysql://root:s3cret-pw@localhost/nurture", "database scheme 'mysql' is not supported"),
    ])
    func otherDatabases(url: String, message: String) throws {
        let folder = try folder()
        let result = try runNurture(["migrate"], directory: folder, environment: environment.merging(["NURTURE_DATABASE": url]) { $1 })
        #expect(result.status == 78)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("s3cret-pw"), "\(result.stderr)")
    }
}

@Suite("nurture migrate on PostgreSQL")
struct PostgresMigrateCommandTests {
    let environment = ["NURTURE_SECRET": "migrate-test-secret-0123456789"]

    @Test("lead states on PostgreSQL: --check tells the format and the counts; --lead-states and --rewrite work through the pool")
    func leadStates() throws {
        let database = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(database.name) }
        let env = environment.merging(["NURTURE_DATABASE": database.url]) { $1 }
        let folder = FileManager.default.temporaryDirectory
        let migrated = try runNurture(["migrate"], directory: folder, environment: env)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let check = try runNurture(["migrate", "--check"], directory: folder, environment: env)
        #expect(check.stdout.contains("lead states written as binary; stored: none"), "\(check.stdout)\(check.stderr)")
        let switched = try runNurture(["migrate", "--lead-states", "json", "--rewrite", "--settle-seconds", "0"], directory: folder, environment: env)
        #expect(switched.status == 0 && switched.stdout.contains("rewrote 0 stored states as json"), "\(switched.stdout)\(switched.stderr)")
        #expect(try TestPostgres.psql("SELECT lead_state_format FROM installation", database: database.name) == "json")
    }

    @Test("four processes migrating a new database at once: one applies the schema, the others find it done")
    func concurrentStarts() throws {
        let database = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(database.name) }
        let env = environment.merging(["NURTURE_DATABASE": database.url]) { $1 }
        let folder = FileManager.default.temporaryDirectory
        let check = try runNurture(["migrate", "--check"], directory: folder, environment: env)
        #expect(check.status == 1 && check.stdout.contains("pending: p1: schema"), "\(check.stdout)\(check.stderr)")
        let outputs = (0..<4).map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID()).out") }
        let processes = try outputs.map { output -> ChildProcess in
            FileManager.default.createFile(atPath: output.path, contents: nil)
            let process = ChildProcess()
            process.executableURL = builtProduct("nurture")
            process.arguments = ["migrate"]
            process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in processes {
            waitForExit(process)
            #expect(process.terminationStatus == 0)
        }
        let printed = try outputs.map { try String(contentsOf: $0, encoding: .utf8) }
        #expect(printed.filter { $0.contains("applied p1: schema") }.count == 1, "\(printed)")
        #expect(printed.filter { $0.contains("up to date") }.count == 3, "\(printed)")
        #expect(printed.allSatisfy { !$0.contains("@") || $0.contains("postgres://postgres@") })
        let line = try #require(printed.first { $0.contains(": applied ") }).trimmingCharacters(in: .whitespacesAndNewlines)
        let applied = try #require(line.components(separatedBy: ": applied ").last).components(separatedBy: ", ")
        #expect(applied.count >= 6, "p1 to p6 at least: \(applied)")
        #expect(try TestPostgres.psql("SELECT count(*) FROM schema_migrations", database: database.name) == "\(applied.count)", "each once")
    }
}

@Suite("nurture leads show prints outside text safely")
struct LeadsShowTerminalTests {
    @Test("escape sequences in a lead's fields are shown, not obeyed")
    func escapes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-show-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
        let env = [
            "NURTURE_SECRET": "show-test-secret-0123456789", "NURTURE_DATABASE": "\(folder.path)/n.sqlite",
            "NURTURE_WORKFLOWS": repository.appendingPathComponent("Workflows").path, "NURTURE_TEMPLATES": repository.appendingPathComponent("Templates").path,
            "NURTURE_RELAY_URL": "file://\(folder.path)/outbox",
        ]
        let add = try runNurture(["leads", "add", "--email", "eve@example.com", "--field", "company=\u{1B}]0;pwned\u{07}\u{1B}[2J"], directory: folder, environment: env)
        #expect(add.status == 0, "\(add.stderr)")
        let show = try runNurture(["leads", "show", "eve@example.com"], directory: folder, environment: env)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(!show.stdout.contains("\u{1B}"))
        #expect(!show.stdout.contains("\u{07}"))
        #expect(show.stdout.contains("\\u{1B}]0;pwned\\u{7}\\u{1B}[2J"), "\(show.stdout)")
    }
}
