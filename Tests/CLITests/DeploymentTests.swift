import Foundation
import Testing
import TestSupport

@Suite("the systemd unit and its environment file")
struct DeploymentTests {
    static let deploy = ServeCommandTests.repository.appendingPathComponent("deploy")

    @Test("deploy/nurture.service passes systemd-analyze verify without a warning, running the built nurture")
    func unit() throws {
        let text = try String(contentsOf: Self.deploy.appendingPathComponent("nurture.service"), encoding: .utf8)
        #expect(text.contains("ExecStart=/usr/local/bin/nurture serve --config /srv/nurture/nurture.yaml"))
        // Verified with the binary this build made (verify checks that the command exists).
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-unit-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let unit = folder.appendingPathComponent("nurture.service")
        try text.replacingOccurrences(of: "/usr/local/bin/nurture", with: builtProduct("nurture").path).write(to: unit, atomically: true, encoding: .utf8)
        let verify = try runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["systemd-analyze", "verify", unit.path])
        #expect(verify.status == 0 && verify.stderr.isEmpty && verify.stdout.isEmpty, "\(verify.stdout)\(verify.stderr)")
        // The command line it runs is one nurture accepts.
        let help = try runNurture(["serve", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--config"))
    }

    @Test("the environment file's variables are the ones nurture reads, and it starts with them")
    func environment() throws {
        let text = try String(contentsOf: Self.deploy.appendingPathComponent("nurture.env.example"), encoding: .utf8)
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let assignment = line.hasPrefix("#") ? line.dropFirst() : line[...]
            guard let equals = assignment.firstIndex(of: "="), assignment.hasPrefix("NURTURE_") else { continue }
            values[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
        }
        let known: Set<String> = ["NURTURE_SECRET", "NURTURE_API_KEY", "NURTURE_DATABASE", "NURTURE_RELAY_URL", "NURTURE_SMTP_USER",
                                  "NURTURE_SMTP_PASSWORD", "NURTURE_TRACKING_URL", "NURTURE_HTTP_LISTEN", "NURTURE_FROM", "NURTURE_WORKFLOWS",
                                  "NURTURE_TEMPLATES", "NURTURE_RELAY_TOKEN"]
        #expect(!values.isEmpty && Set(values.keys).isSubset(of: known), "\(values.keys.sorted())")
        // Its uncommented values are enough to start: `nurture migrate` in an empty folder.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-env-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var environment: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("NURTURE_") {
            let parts = line.split(separator: "=", maxSplits: 1)
            environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        let migrate = try runNurture(["migrate"], directory: folder, environment: environment)
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("nurture.sqlite").path))
    }
}

@Suite("nurture's own help: examples and shell completions")
struct HelpTests {
    @Test("nurture --help shows examples that run, and completion scripts name the commands")
    func help() throws {
        let help = try runNurture(["--help"])
        #expect(help.status == 0 && help.stdout.contains("Examples:") && help.stdout.contains("nurture leads list --stage mql"), "\(help.stdout)")
        // The dry-run example is a real one: from the repository, it runs as written.
        let dryRun = try runNurture(["dry-run", "--leads", "samples/leads.csv", "--what-if", "clicked welcome +2d"],
                                    directory: ServeCommandTests.repository)
        #expect(dryRun.status == 0 && !dryRun.stdout.isEmpty, "\(dryRun.stdout)\(dryRun.stderr)")
        for shell in ["bash", "zsh", "fish"] {
            let script = try runNurture(["--generate-completion-script", shell])
            #expect(script.status == 0 && script.stdout.contains("dry-run") && script.stdout.contains("report"), "\(shell)")
        }
    }

    @Test("every command's --help has examples, each on whole lines, using only options that command has")
    func examples() throws {
        var commands: [[String]] = []
        // The command tree, as the help pages list it.
        func walk(_ path: [String]) throws {
            let help = try runNurture(path + ["--help"])
            try #require(help.status == 0, "\(path)")
            let names = Self.subcommands(help.stdout)
            if names.isEmpty { commands.append(path) }
            for name in names { try walk(path + [name]) }
        }
        try walk([])
        #expect(commands.count >= 18 && commands.contains(["report", "steps"]) && commands.contains(["preview"]), "\(commands)")
        for path in commands {
            let help = try runNurture(path + ["--help"]).stdout
            let name = (["nurture"] + path).joined(separator: " ")
            let block = help.components(separatedBy: "\nExamples:\n").dropFirst().first?.components(separatedBy: "\n\n").first
            guard let block else {
                Issue.record("\(name) --help has no examples")
                continue
            }
            // Each example is whole: help text is wrapped at 80 columns, and a wrapped example
            // would start a line at column 0.
            let lines = block.split(separator: "\n").map(String.init)
            #expect(lines.allSatisfy { $0.hasPrefix("  ") }, "\(name): an example is wrapped:\n\(block)")
            let examples = lines.joined(separator: "\n").replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n")
            #expect(examples.contains { $0.contains(name + " ") || $0.hasSuffix(name) }, "\(name): no example runs it:\n\(block)")
            for example in examples where example.contains(name) {
                let words = example.split(separator: " ").filter { $0.hasPrefix("--") }.map { String($0.prefix { $0 != "=" }) }
                for option in words {
                    // Listed under OPTIONS as "  --name <value>", "  --name", or "  --flag/--no-flag".
                    #expect(["  \(option) ", "  \(option)\n", "  \(option)/", "/\(option)\n"].contains { help.contains($0) }, "\(name): example uses \(option), which it does not have:\n\(example)")
                }
            }
        }
    }

    /// The subcommand names a help page lists.
    static func subcommands(_ help: String) -> [String] {
        guard let section = help.components(separatedBy: "SUBCOMMANDS:\n").dropFirst().first else { return [] }
        return section.split(separator: "\n", omittingEmptySubsequences: false)
            .prefix { !$0.isEmpty }
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
    }
}
