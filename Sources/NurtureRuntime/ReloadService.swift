import NurtureApp
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the workflow and template files on SIGHUP, refusing an invalid set (the running
/// set stays, enrollments are untouched).
public struct ReloadService: Service {
    public let configuration: Configuration
    public let workflows: WorkflowSet
    public let logger: Logger

    public init(configuration: Configuration, workflows: WorkflowSet, logger: Logger) {
        self.configuration = configuration
        self.workflows = workflows
        self.logger = logger
    }

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                let loaded = try workflows.reload(configuration.campaign)
                logger.notice("workflows and templates reloaded", metadata: ["warnings": "\(loaded.warnings.count)"])
            } catch {
                logger.error("reload refused: the files are invalid; still running the previous set", metadata: ["problems": "\(error)"])
            }
        }
    }
}
