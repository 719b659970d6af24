import Foundation
import NurtureCore

/// Writes each message as an `.eml` file into a folder, for local runs and reviews.
///
/// Files appear atomically (written under a temporary name, then renamed) and are named
/// after the Message-ID, so a folder watcher never sees half a message and a repeat of
/// the same message replaces its earlier copy instead of adding one.
public struct FileTransport: MailTransport {
    public let directory: URL

    /// - Parameter directory: the folder; created on first delivery if missing.
    public init(directory: URL) {
        self.directory = directory
    }

    public func deliver(_ message: OutgoingMessage) async -> DeliveryOutcome {
        let url = directory.appendingPathComponent(Self.fileName(for: message))
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(message.rfc5322).write(to: url, options: .atomic)
            return .accepted(reply: "written to \(url.path)")
        } catch {
            return .transientFailure(DeliveryFailure(phase: .storage, reply: "cannot write \(url.path): \(error.localizedDescription)"))
        }
    }

    /// `<message-id local part, made file-safe>.eml`.
    static func fileName(for message: OutgoingMessage) -> String {
        let id = message.messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        let safe = String(id.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "@", "+", "=": Character(scalar)
            default: "_"
            }
        })
        return String(safe.prefix(200)) + ".eml"
    }
}
