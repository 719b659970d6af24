import Foundation
import Logging
import NurtureApp
import NurtureCore
import ServiceLifecycle

/// Polls the bounce mailbox (`bounce_mailbox:` in nurture.yaml) every `pollInterval`, at once
/// again while there is more; a failed pass (the server down, a wrong password) is logged and
/// tried at the next poll, never fatal. Stops at a graceful shutdown, after the message in hand.
public struct BounceMailboxService: Service {
    public let processor: BounceMailboxProcessor
    public let pollInterval: TimeSpan
    public let logger: Logger
    public let clock: any WallClock

    public init(processor: BounceMailboxProcessor, pollInterval: TimeSpan, logger: Logger, clock: any WallClock = SystemClock()) {
        self.processor = processor
        self.pollInterval = pollInterval
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var more = false
            do {
                more = try await processor.pass(now: { [clock] in clock.now() }).more
            } catch {
                logger.error("cannot read the bounce mailbox; trying again at the next poll", metadata: ["error": "\(error)"])
            }
            if more { continue }
            let sleep = Duration.seconds(max(1, pollInterval.seconds))
            _ = try? await cancelWhenGracefulShutdown { () async throws -> Void in
                try await Task.sleep(for: sleep)
            }
        }
    }
}
