import Foundation
import Testing
import TestSupport

/// `nurture serve` under the hardening issue's attacks: idle connections at the default
/// open-file limit, and reloads of campaign files that used to crash it.
@Suite("nurture serve holds up: connections, bad reloads", .serialized)
struct HardeningServeTests {
    let serve = ServeCommandTests()

    /// Starts `nurture serve` through a shell that first sets the open-file limits.
    func start(_ folder: URL, ulimit: String) throws -> ChildProcess {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\(ulimit) && exec \"$0\" serve --config nurture.yaml --log-level warning 2>>serve.log", builtProduct("nurture").path]
        process.currentDirectoryURL = folder
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func idleConnections(port: Int, count: Int, wait: Int) throws -> [String: Any] {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Support/idle_connections.py").standardizedFileURL.path
        process.arguments = ["python3", script, "\(port)", "\(count)", "--wait", "\(wait)"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        waitForExit(process)
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    func configure(_ folder: URL, _ change: (String) -> String) throws {
        let url = folder.appendingPathComponent("nurture.yaml")
        try change(try String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("1,100 idle connections at systemd's 1,024 files: /healthz answers, idle ones are closed", arguments: [
        "ulimit -Sn 1024",               // the soft limit is raised at start
        "ulimit -n 1024",                // soft and hard: the connection cap keeps descriptors for the rest
    ])
    func idleConnections(limit: String) throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let (folder, port) = try serve.setUp(smtp: smtp)
        try configure(folder) { $0.replacingOccurrences(of: "api_key: serve-test-api-key }", with: "api_key: serve-test-api-key, idle_timeout: 2s }") }
        let process = try start(folder, ulimit: limit)
        defer { process.terminate(); waitForExit(process) }
        #expect(serve.eventually { serve.http("http://127.0.0.1:\(port)/healthz") == "ok\n" })
        let result = try idleConnections(port: port, count: 1100, wait: 15)
        #expect(result["healthz"] as? String == "HTTP/1.1 200 OK", "\(result)")
        #expect((result["seconds"] as? Double ?? 99) < 10, "\(result)")
        #expect(result["connected"] as? Int == 1100, "\(result)")
        #expect(result["closed"] as? Int == 1100, "idle connections are closed by the server: \(result)")
        #expect(process.isRunning)
        #expect(serve.http("http://127.0.0.1:\(port)/healthz") == "ok\n")
    }

    @Test("a reload of files that used to crash the service is refused; it keeps serving with the running set")
    func badReloads() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let (folder, port) = try serve.setUp(smtp: smtp)
        try FileManager.default.copyItem(at: ServeCommandTests.repository.appendingPathComponent("Templates"), to: folder.appendingPathComponent("Templates"))
        try configure(folder) { $0.replacingOccurrences(of: "templates: \(ServeCommandTests.repository.path)/Templates", with: "templates: \(folder.path)/Templates") }
        let process = try start(folder, ulimit: "true")
        defer { process.terminate(); waitForExit(process) }
        #expect(serve.eventually { serve.http("http://127.0.0.1:\(port)/healthz") == "ok\n" })

        let footer = folder.appendingPathComponent("Templates/partials/footer.html.mustache")
        let original = try String(contentsOf: footer, encoding: .utf8)
        let steps = folder.appendingPathComponent("Workflows/sequences/huge.yaml")
        let attacks: [(String, () throws -> Void, () throws -> Void)] = [
            ("a partial that includes itself", { try (original + "{{> footer.html}}").write(to: footer, atomically: true, encoding: .utf8) },
             { try original.write(to: footer, atomically: true, encoding: .utf8) }),
            ("a sequence of 30,000 steps", {
                let body = (1...30_000).map { "  - set: { tag: t\($0) }" }.joined(separator: "\n")
                try "stage: lead\npriority: 99\nsteps:\n\(body)\n".write(to: steps, atomically: true, encoding: .utf8)
            }, { try FileManager.default.removeItem(at: steps) }),
        ]
        for (name, breakIt, mend) in attacks {
            try breakIt()
            kill(process.processIdentifier, SIGHUP)
            // The reload is refused and logged; the service keeps answering with the running set.
            #expect(serve.eventually(30) { ((try? String(contentsOf: folder.appendingPathComponent("serve.log"), encoding: .utf8)) ?? "").contains("reload refused") }, "\(name)")
            #expect(process.isRunning, "\(name)")
            #expect(serve.http("http://127.0.0.1:\(port)/healthz") == "ok\n", "\(name)")
            try mend()
            try "".write(to: folder.appendingPathComponent("serve.log"), atomically: false, encoding: .utf8)
        }
        let imported = try runNurture(["leads", "import", "leads.csv", "--config", "nurture.yaml"], directory: folder)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try serve.eventually { try smtp.records("messages.jsonl").count == 12 })
    }

    @Test("a request body trickled a byte at a time gets 408 within the idle timeout, not a connection held for ever")
    func slowBody() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let (folder, port) = try serve.setUp(smtp: smtp)
        try configure(folder) { $0.replacingOccurrences(of: "api_key: serve-test-api-key }", with: "api_key: serve-test-api-key, idle_timeout: 2s }") }
        let process = try start(folder, ulimit: "true")
        defer { process.terminate(); waitForExit(process) }
        #expect(serve.eventually { serve.http("http://127.0.0.1:\(port)/healthz") == "ok\n" })
        let script = """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.sendall(b"POST /v1/events HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer serve-test-api-key\\r\\nContent-Type: application/json\\r\\nContent-Length: 100\\r\\n\\r\\n")
            s.settimeout(0.5)
            start = time.monotonic(); answer = b""
            while time.monotonic() - start < 15:
                try:
                    s.sendall(b" ")
                except OSError:
                    break
                try:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
                    if b"\\r\\n" in answer:
                        break
                except socket.timeout:
                    pass
            print("%.1f %s" % (time.monotonic() - start, answer.split(b"\\r\\n")[0].decode()))
            """
        let python = ChildProcess()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", script, "\(port)"]
        let out = Pipe()
        python.standardOutput = out
        try python.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        waitForExit(python)
        let seconds = Double(text.prefix(while: { $0 != " " })) ?? 99
        #expect(text.contains("408"), "\(text)")
        #expect(seconds < 6, "\(text)")
        #expect(process.isRunning)
    }
}
