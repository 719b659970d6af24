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
    private let installation = Mutex<String?>(nil)

    public init(_ loaded: Loaded) {
        current = Mutex(loaded)
    }

    public var engine: NurtureEngine { current.withLock { $0.engine } }
    public var renderer: EmailRenderer { current.withLock { $0.renderer } }

    /// Where the campaign files are, and how emails are addressed and tracked.
    public struct Source: Sendable {
        public var workflows: String
        public var templates: String
        public var rendering: EmailRenderer.Settings

        public init(workflows: String, templates: String, rendering: EmailRenderer.Settings) {
            self.workflows = workflows
            self.templates = templates
            self.rendering = rendering
        }
    }

    /// Loads and validates both folders; every problem is reported and nothing is replaced.
    public static func load(_ source: Source) throws(WorkflowSetError) -> Loaded {
        let library: TemplateLibrary
        do {
            library = try TemplateLibrary(directory: URL(fileURLWithPath: source.templates))
        } catch {
            // Workflow problems are worth reporting too, without the template check.
            let result = WorkflowLoader.load(directory: source.workflows)
            throw WorkflowSetError(problems: error.errors.map { $0.description(inFolder: source.templates) } + result.errors.map(\.description))
        }
        let result = WorkflowLoader.load(directory: source.workflows, templates: library)
        guard let workflow = result.workflow else {
            throw WorkflowSetError(problems: result.errors.map(\.description))
        }
        let renderer = EmailRenderer(library: library, settings: source.rendering)
        return Loaded(engine: NurtureEngine(workflow: workflow), renderer: renderer,
                      warnings: result.warnings.map(\.description) + library.warnings.map { $0.description(inFolder: source.templates) })
    }

    /// Mixes the installation's id into the Message-IDs and tracking tokens the renderer
    /// makes, from now on and after every reload.
    public func useInstallation(_ id: String) {
        installation.withLock { $0 = id }
        current.withLock { loaded in
            var settings = loaded.renderer.settings
            settings.installation = id
            loaded.renderer = EmailRenderer(library: loaded.renderer.library, settings: settings)
        }
    }

    /// Replaces the files if the new set is valid; otherwise keeps the current one.
    public func reload(_ source: Source) throws(WorkflowSetError) -> Loaded {
        var source = source
        source.rendering.installation = installation.withLock { $0 }
        let loaded = try Self.load(source)
        current.withLock { $0 = loaded }
        return loaded
    }
}

/// The campaign files are invalid: every problem, one per line.
public struct WorkflowSetError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

extension TemplateError {
    /// Where the problem is, as the templates folder was given: `Templates/welcome/html.mustache:3:7`.
    /// A problem with the folder itself (its ``file`` an absolute path: the folder, or a
    /// file named in full) names that path once, never prefixed with the folder again.
    public func location(inFolder folder: String) -> String {
        var location: String
        if file.hasPrefix("/") {
            location = file == URL(fileURLWithPath: folder).standardizedFileURL.path ? folder : file
        } else {
            var base = folder
            while base.count > 1, base.hasSuffix("/") { base.removeLast() }
            location = file.isEmpty ? base : base == "/" ? "/\(file)" : "\(base)/\(file)"
        }
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return location
    }

    /// `Templates/welcome/html.mustache:3:7: message` (see ``location(inFolder:)``).
    public func description(inFolder folder: String) -> String {
        "\(location(inFolder: folder)): \(message)"
    }
}
