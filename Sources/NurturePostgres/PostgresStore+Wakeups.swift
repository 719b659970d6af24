import Foundation
import NurtureCore
import PostgresNIO

/// Wake-ups across processes: LISTEN on one connection of its own.
extension PostgresStore {
    /// How often the listening connection is checked: a link a NAT or a failover dropped
    /// without a word is noticed within this and ``probeTimeout``.
    static let probeInterval: Duration = .seconds(30)
    static let probeTimeout: Duration = .seconds(10)

    /// Listens on the wake-up channel and calls `ring` for each notification, on a connection
    /// of its own (outside the pool), which it checks every 30 s (`SELECT 1`, 10 s to answer).
    /// After an error it waits a moment, reconnects and rings once (what was announced
    /// meanwhile is lost; the ring makes the worker look). Returns when the task is cancelled.
    public func listenForWakeups(_ ring: @escaping @Sendable () -> Void) async throws {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await withOwnConnection { connection in
                    if failures > 0 {
                        logger.info("listening for wake-ups again", metadata: ["database": "\(url)"])
                        ring()
                        failures = 0
                    }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            try await connection.listen(on: Self.channel) { notifications in
                                for try await _ in notifications { ring() }
                            }
                        }
                        group.addTask { [logger] in
                            while true {
                                try await Task.sleep(for: Self.probeInterval)
                                try await withThrowingTaskGroup(of: Bool.self) { probe in
                                    probe.addTask {
                                        try await connection.query("SELECT 1", logger: logger)
                                        return true
                                    }
                                    probe.addTask {
                                        try await Task.sleep(for: Self.probeTimeout)
                                        return false
                                    }
                                    let answered = try await probe.next() ?? false
                                    probe.cancelAll()
                                    if !answered { throw ListenerProbeTimeout() }
                                }
                            }
                        }
                        // Whichever ends first (an error, or the link found dead) ends both.
                        _ = try await group.next()
                        group.cancelAll()
                    }
                }
            } catch where Task.isCancelled {
                return
            } catch {
                failures += 1
                if failures == 1 {
                    logger.warning("wake-up listener lost its connection; polling meanwhile", metadata: ["error": "\(error)"])
                }
            }
            if Task.isCancelled { return }
            try? await Task.sleep(for: .seconds(min(failures, 5)))
        }
    }
}

/// The listening connection did not answer its probe in time.
struct ListenerProbeTimeout: Error, CustomStringConvertible {
    var description: String { "the listening connection did not answer a probe within 10 s" }
}
