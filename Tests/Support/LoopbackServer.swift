import Foundation

/// A real server on 127.0.0.1, run as a child process for the length of a test:
/// the SMTP server (`smtp_server.py`, aiosmtpd) or the HTTP relay stand-in (`http_server.py`).
///
/// The process listens on a free port, prints it, records what it receives as JSON lines
/// in ``directory``, and exits when ``stop()`` closes its standard input.
public final class LoopbackServer: @unchecked Sendable {
    // @unchecked: the properties are set once in init; the child is used only from stop() and deinit.
    public let port: Int
    /// Where the server writes its records.
    public let directory: URL
    private let process: ChildProcess
    private let input: Pipe

    /// Starts `Tests/Support/<script>` with `arguments` (plus `--dir`).
    public init(script: String, arguments: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", LoopbackServer.supportDirectory.appendingPathComponent(script).path, "--dir", directory.path] + arguments
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()

        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        let line = String(decoding: buffer, as: UTF8.self)
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5).prefix(while: \.isNumber)) else {
            process.terminate()
            throw LoopbackServerError.didNotStart(script: script, output: line)
        }
        self.port = port
    }

    /// Starts the aiosmtpd server.
    public static func smtp(arguments: [String] = []) throws -> LoopbackServer {
        try LoopbackServer(script: "smtp_server.py", arguments: arguments)
    }

    /// Starts the HTTP email-API stand-in.
    public static func http() throws -> LoopbackServer {
        try LoopbackServer(script: "http_server.py")
    }

    /// Stops the server and waits for it to exit.
    public func stop() {
        try? input.fileHandleForWriting.close()
        if !waitForExit(process, seconds: 5) { process.terminate() }
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The JSON objects recorded in `file` (one per line), oldest first.
    public func records(_ file: String) throws -> [[String: Any]] {
        let url = directory.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        }
    }

    /// The lines of a plain log `file`.
    public func lines(_ file: String) throws -> [String] {
        let url = directory.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// The folder of this file, where the server scripts live.
    public static let supportDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
}

public enum LoopbackServerError: Error, CustomStringConvertible {
    case didNotStart(script: String, output: String)

    public var description: String {
        switch self {
        case .didNotStart(let script, let output):
            "\(script) did not start (is python3 with aiosmtpd installed? run scripts/test): \(output)"
        }
    }
}

/// Waits for `process` to end, polling every 5 ms. Returns false on time-out.
@discardableResult
public func waitForExit(_ process: ChildProcess, seconds: Double = 60) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning {
        if Date() > deadline { return false }
        usleep(5_000)
    }
    return true
}

/// A self-signed certificate for 127.0.0.1 and localhost, made with openssl for a test.
public struct TestCertificate: Sendable {
    public let certificate: String
    public let key: String

    public static func make(in directory: URL) throws -> TestCertificate {
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
            "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        waitForExit(process)
        guard process.terminationStatus == 0 else { throw LoopbackServerError.didNotStart(script: "openssl", output: "exit \(process.terminationStatus)") }
        return TestCertificate(certificate: cert, key: key)
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
public func deadLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A copy of the shipped `Workflows/` in `folder` with the send window open all week, so a
/// test on a real clock does not depend on the day and hour it runs at.
public func openWindowWorkflows(from repository: URL, into folder: URL) throws -> URL {
    let workflows = folder.appendingPathComponent("Workflows")
    try FileManager.default.copyItem(at: repository.appendingPathComponent("Workflows"), to: workflows)
    let funnel = workflows.appendingPathComponent("funnel.yaml")
    let text = try String(contentsOf: funnel, encoding: .utf8)
        .replacingOccurrences(of: "days: mon-fri", with: "days: every day")
        .replacingOccurrences(of: "hours: \"09:00-17:00\"", with: "hours: \"00:00-24:00\"")
        .replacingOccurrences(of: "max: 3\n", with: "max: 10\n")
    try text.write(to: funnel, atomically: true, encoding: .utf8)
    return workflows
}
