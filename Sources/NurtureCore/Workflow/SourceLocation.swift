/// Where something was written: a workflow file, line and column (1-based).
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// For models built in code rather than read from a file.
    public static let none = SourceLocation(file: "<code>", line: 0, column: 0)

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem in a set of workflow files.
public struct WorkflowIssue: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    public var location: SourceLocation
    public var message: String

    public init(_ severity: Severity, _ location: SourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    public static func error(_ location: SourceLocation, _ message: String) -> WorkflowIssue { .init(.error, location, message) }
    public static func warning(_ location: SourceLocation, _ message: String) -> WorkflowIssue { .init(.warning, location, message) }

    /// `file:line:column: error: message`, the form editors and CI logs link to.
    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}
