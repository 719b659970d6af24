import CCurl
import Foundation
import Synchronization

/// Up to `size` libcurl transfers at once (one per relay connection), driven by a few threads
/// of its own, each through a ``CurlMulti``.
///
/// A caller's task suspends until its transfer ends; libcurl's waits happen on the pool's
/// threads, never on Swift's cooperative pool. One thread can drive several connections, so
/// 32 connections to a distant HTTP API need no 32 threads; by default there are as many
/// threads as cores, because one thread's share of the kernel's and libcurl's work per
/// transfer would otherwise cap the rate on loopback (docs/PERFORMANCE.md). SMTP asks for a
/// thread per connection: libcurl reads the reply to a message's end with a blocking wait.
///
/// A transfer goes to the thread with the fewest transfers under way or waiting; callers beyond
/// a thread's connections wait there in arrival order. Threads and handles are created on the
/// first transfer, so an idle pool holds no thread and no connection; the threads end when the
/// pool is released.
final class CurlTransferPool: Sendable {
    private let loops: [CurlTransferLoop]
    /// Transfers under way or waiting, per loop.
    private let load: Mutex<[Int]>

    /// - Parameters:
    ///   - size: the number of concurrent transfers (connections); at least 1.
    ///   - label: the threads' name, shown by `top -H` and debuggers; with the thread's number
    ///     it must fit Linux's 15 characters (`nurture.smtp.1`).
    ///   - threads: how many threads drive them (at most `size`); the number of cores by default.
    ///   - configure: applied once to each new handle, on its thread.
    init(size: Int, label: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
         configure: @escaping @Sendable (CurlEasy) -> Void) {
        let size = max(1, size)
        let count = min(size, max(1, threads))
        loops = (0..<count).map { index in
            // The connections shared out as evenly as they go: 4 over 3 threads is 2, 1, 1.
            let share = size / count + (index < size % count ? 1 : 0)
            return CurlTransferLoop(size: share, label: count == 1 ? label : "\(label).\(index + 1)", configure: configure)
        }
        load = Mutex(Array(repeating: 0, count: count))
    }

    deinit {
        for loop in loops { loop.stop() }
    }

    /// Runs one transfer: `prepare` sets its options on a handle (on a pool's thread), then
    /// libcurl performs it. Returns once it has ended, successfully or not.
    func transfer(_ prepare: @escaping @Sendable (CurlEasy) -> Void) async -> CurlResponse {
        let index = load.withLock { load in
            // The least loaded for its size: a loop with 2 connections takes 2 before one with 1 takes 2.
            var best = 0
            for i in load.indices.dropFirst() where load[i] * loops[best].size < load[best] * loops[i].size {
                best = i
            }
            load[best] += 1
            return best
        }
        defer { load.withLock { $0[index] -= 1 } }
        return await withCheckedContinuation { continuation in
            loops[index].submit(CurlTransferLoop.Request(prepare: prepare, continuation: continuation))
        }
    }
}

/// One of the pool's threads: takes the submitted transfers, hands them to libcurl, and resumes each
/// caller when its transfer ends.
private final class CurlTransferLoop: @unchecked Sendable {
    // @unchecked: `inbox` is behind its lock; `multi.wakeUp()` is thread-safe and only called
    // under that lock before the multi handle is closed (under it too); everything else is
    // only touched by the loop's thread once it has started.

    struct Request {
        var prepare: @Sendable (CurlEasy) -> Void
        var continuation: CheckedContinuation<CurlResponse, Never>
    }

    private struct Inbox {
        var requests: [Request] = []
        var started = false
        var stopping = false
        /// The thread has ended and closed the multi handle.
        var closed = false
    }

    /// How many transfers (connections) this thread drives at once.
    let size: Int
    private let label: String
    private let configure: @Sendable (CurlEasy) -> Void
    private let inbox = Mutex(Inbox())
    private let multi: CurlMulti

    // The loop's thread only.
    private var waiting: [Request] = []
    private var waitingHead = 0
    private var idle: [CurlEasy] = []
    private var created = 0
    private var running: [ObjectIdentifier: CheckedContinuation<CurlResponse, Never>] = [:]

    init(size: Int, label: String, configure: @escaping @Sendable (CurlEasy) -> Void) {
        self.size = size
        self.label = label
        self.configure = configure
        self.multi = CurlMulti(maxConnections: size)
    }

    /// Queues `request`; starts the thread on the first one.
    func submit(_ request: Request) {
        let start = inbox.withLock { inbox in
            inbox.requests.append(request)
            if inbox.started {
                // Under the lock, so the thread cannot have closed the multi handle meanwhile.
                multi.wakeUp()
                return false
            }
            inbox.started = true
            return true
        }
        if start {
            let label = label
            Thread {
                // Named from inside (on Linux a thread takes its creator's name otherwise), by
                // pthread: Foundation's `Thread.current.name` applies the name only if the
                // thread's handle was stored before the block ran, which races with the start.
                _ = nurture_name_this_thread(label)
                self.run()
            }.start()
        }
    }

    /// Lets the thread end. Only called once no caller can submit any more.
    func stop() {
        inbox.withLock { inbox in
            inbox.stopping = true
            if inbox.started, !inbox.closed { multi.wakeUp() }
        }
    }

    private func run() {
        while true {
            let (requests, stopping) = inbox.withLock { inbox in
                defer { inbox.requests.removeAll(keepingCapacity: true) }
                return (inbox.requests, inbox.stopping)
            }
            waiting.append(contentsOf: requests)
            if stopping, running.isEmpty, waitingHead == waiting.count { break }
            startWaiting()
            // Every turn moves libcurl along, idle or not: closing connections and libcurl's
            // own timers progress only here.
            let failure = multi.perform()
            let finished = multi.takeFinished()
            for (easy, result) in finished {
                complete(easy, with: easy.finishTransfer(result))
            }
            if let failure {
                for easy in multi.removeAll() { finish(easy, failedWith: "libcurl: \(failure)") }
            }
            // A handle came back and a caller waits for one: start it before sleeping.
            if !finished.isEmpty, waitingHead < waiting.count { continue }
            // A request (or the stop) that came since the inbox was read: newer libcurl empties
            // the wake-up pipe inside `perform`, so its wake-up may be gone.
            if inbox.withLock({ !$0.requests.isEmpty || ($0.stopping && running.isEmpty) }) { continue }
            if let failure = multi.poll(timeoutMilliseconds: running.isEmpty ? 60_000 : 1_000) {
                // Polling itself failed (libcurl's "unrecoverable poll"): the transfers under
                // way end as failed, and the next try comes after a pause, not in a busy loop.
                for easy in multi.removeAll() { finish(easy, failedWith: "libcurl: \(failure)") }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        // Closed here, on this thread: closing sends QUIT on SMTP connections, which may wait.
        inbox.withLock { inbox in
            inbox.closed = true
            multi.close()
        }
        idle.removeAll()
    }

    /// Gives each waiting request a handle, while there are handles.
    private func startWaiting() {
        while waitingHead < waiting.count {
            let easy: CurlEasy
            if let handle = idle.popLast() {
                easy = handle
            } else if created < size {
                created += 1
                easy = CurlEasy()
                configure(easy)
            } else {
                break
            }
            let request = waiting[waitingHead]
            waitingHead += 1
            request.prepare(easy)
            easy.beginTransfer()
            running[ObjectIdentifier(easy)] = request.continuation
            if let refusal = multi.add(easy) {
                finish(easy, failedWith: "libcurl: \(refusal)")
            }
        }
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
    }

    private func finish(_ easy: CurlEasy, failedWith text: String) {
        complete(easy, with: CurlResponse(
            code: CurlCode(CURLE_FAILED_INIT.rawValue), errorText: text, responseCode: 0, headerLines: [], body: []))
    }

    private func complete(_ easy: CurlEasy, with response: CurlResponse) {
        idle.append(easy)
        running.removeValue(forKey: ObjectIdentifier(easy))?.resume(returning: response)
    }
}
