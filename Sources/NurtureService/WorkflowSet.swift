import Foundation
import NurtureContent
import NurtureCore
import Synchronization

/// The loaded campaign files: the engine (workflows) and the renderer (templates), replaced
/// together and atomically by a reload. Enrollments live in the store, so a reload keeps them.
public final class WorkflowSet: Sendable {
    public struct Loaded: Sendable {
        public var engine: NurtureEngine
        public var renderer: EmailRenderer
        public var warnings: [String]
    }

    private let current: Mutex<Loaded>

    public init(_ loaded: Loaded) {
        current = Mutex(loaded)
    }

    public var engine: NurtureEngine { current.withLock { $0.engine } }
    public var renderer: EmailRenderer { current.withLock { $0.renderer } }

    /// Loads and validates both folders; every problem is reported and nothing is replaced.
    public static func load(_ configuration: Configuration) throws(WorkflowSetError) -> Loaded {
        let library: TemplateLibrary
        do {
            library = try TemplateLibrary(directory: URL(fileURLWithPath: configuration.templates))
        } catch {
            // Workflow problems are worth reporting too, without the template check.
            let result = WorkflowLoader.load(directory: configuration.workflows)
            throw WorkflowSetError(problems: error.errors.map { "\(configuration.templates)/\($0)" } + result.errors.map(\.description))
        }
        let result = WorkflowLoader.load(directory: configuration.workflows, templates: library)
        guard let workflow = result.workflow else {
            throw WorkflowSetError(problems: result.errors.map(\.description))
        }
        let renderer = EmailRenderer(library: library, settings: EmailRenderer.Settings(
            from: configuration.from, replyTo: configuration.replyTo, envelopeSender: configuration.bounceAddress,
            trackingBaseURL: configuration.trackingBaseURL, secret: configuration.secret,
            unsubscribeMailto: configuration.unsubscribeMailto))
        return Loaded(engine: NurtureEngine(workflow: workflow), renderer: renderer, warnings: result.warnings.map(\.description))
    }

    /// Replaces the files if the new set is valid; otherwise keeps the current one.
    public func reload(_ configuration: Configuration) throws(WorkflowSetError) -> Loaded {
        let loaded = try Self.load(configuration)
        current.withLock { $0 = loaded }
        return loaded
    }
}

/// The campaign files are invalid: every problem, one per line.
public struct WorkflowSetError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}
