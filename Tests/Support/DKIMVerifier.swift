import Foundation

/// dkimpy (`dkim_verify.py`), an independent DKIM verifier, run on a message with the DNS
/// records given instead of looked up.
public enum DKIMVerifier {
    public struct Result: Sendable {
        /// Every signature verified (and there was at least one).
        public var passed: Bool
        /// One line per signature: `pass d=… s=… a=…` or `fail d=… s=…: why`.
        public var lines: [String]
    }

    /// Verifies `message` with `records` (DNS name → TXT value).
    public static func verify(_ message: [UInt8], records: [String: String]) throws -> Result {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dkim-\(UUID()).eml")
        try Data(message).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = LoopbackServer.supportDirectory.appendingPathComponent("dkim_verify.py")
        let result = try runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, file.path] + records.map { "\($0.key)=\($0.value)" })
        return Result(passed: result.status == 0, lines: (result.stdout + result.stderr).split(separator: "\n").map(String.init))
    }
}
