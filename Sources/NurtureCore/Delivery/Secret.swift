/// A credential (password, API key, signing secret) that never shows up in logs:
/// its `description` and debug description are redacted.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret value. Read it only where it is handed to the library that needs it.
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
