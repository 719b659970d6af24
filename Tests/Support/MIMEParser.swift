import Foundation

/// What Python's `email` package (an independent parser) reads in a message.
public struct ParsedMessage: Decodable, Sendable {
    public struct Part: Decodable, Sendable {
        public var content_type: String
        public var charset: String?
        public var transfer_encoding: String?
        public var content: String
    }
    public var headers: [[String]]
    public var defects: [String]
    public var content_type: String
    public var from: [[String]]
    public var to: [[String]]
    public var subject: String
    public var parts: [Part]
    public var max_line: Int
    public var bare_lf: Bool
    public var bare_cr: Bool

    /// The values of every header named `name` (case-insensitive), decoded.
    public func header(_ name: String) -> [String] {
        headers.filter { $0[0].lowercased() == name.lowercased() }.map { $0[1] }
    }

    /// Parses `bytes` with `Tests/Support/parse_mime.py`.
    public static func parse(_ bytes: [UInt8]) throws -> ParsedMessage {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", LoopbackServer.supportDirectory.appendingPathComponent("parse_mime.py").path]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        waitForExit(process)
        return try JSONDecoder().decode(ParsedMessage.self, from: data)
    }
}
