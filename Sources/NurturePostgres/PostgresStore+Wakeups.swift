import Foundation
import NurtureCore
import PostgresNIO

/// Wake-ups across processes: LISTEN on one connection of its own.
extension PostgresStore {
    /// Listens on the wake-up channel and calls `ring` for each notification, on a connection
    /// of its own (outside the pool). After an error it waits a second, reconnects and rings
    /// once (what was announced meanwhile is lost; the ring makes the worker look). Returns
    /// when the task is cancelled.
    public func listenForWakeups(_ ring: @escaping @Sendable () -> Void) async throws {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await withOwnConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        if failures > 0 {
                            self.logger.info("listening for wake-ups again", metadata: ["database": "\(self.url)"])
                            ring()
                        }
                        failures = 0
                        for try await _ in notifications { ring() }
                    }
                }
            } catch where Task.isCancelled {
                return
            } catch {
                failures += 1
                if failures == 1 {
                    logger.warning("wake-up listener lost its connection; polling meanwhile", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            if Task.isCancelled { return }
            try? await Task.sleep(for: .seconds(min(failures, 5)))
        }
    }
}
