import Dispatch

/// Owns one ``CurlEasy`` and runs its blocking transfers on a dedicated serial dispatch
/// queue, never on Swift's cooperative thread pool.
///
/// One worker is one relay connection: consecutive transfers reuse the handle's open
/// connection.
final class CurlWorker: @unchecked Sendable {
    // @unchecked: `easy` is only touched from `queue`, which runs one block at a time.
    private let queue: DispatchQueue
    private let easy: CurlEasy

    /// - Parameters:
    ///   - label: the queue's name, shown in debuggers and crash logs.
    ///   - configure: sets the options common to every transfer; runs on the worker's queue.
    init(label: String, configure: @Sendable (CurlEasy) -> Void) {
        self.queue = DispatchQueue(label: label)
        self.easy = CurlEasy()
        queue.sync { configure(easy) }
    }

    /// Runs `body` with exclusive use of the handle, off the cooperative pool.
    func run<T: Sendable>(_ body: @escaping @Sendable (CurlEasy) -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: body(self.easy))
            }
        }
    }
}
