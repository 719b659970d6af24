import CSpawn
import Foundation

/// A child process started with `posix_spawn`, for the tests that run servers, `nurture`,
/// psql or python: the part of Foundation's `Process` they use, under the same names.
///
/// Why not `Process`: on Linux, Swift 6.3.1's `Process.run()` reads `/proc/self/fd` with a
/// 256-byte copy of each directory entry and crashes now and then when an entry ends near an
/// unmapped page (swiftlang/swift-corelibs-foundation#5472). A suite that starts hundreds of
/// children hit it in CI. This type never scans descriptors: glibc's `closefrom` action
/// closes them in the child.
///
/// Set the configuration, then call ``run()`` once; after that the object may be used from
/// any thread (its state after the start is behind a lock).
public final class ChildProcess: @unchecked Sendable {
    /// How the child ended.
    public enum TerminationReason: Sendable, Equatable {
        case exit
        case uncaughtSignal
    }

    /// The program to run (no search in `PATH`: use `/usr/bin/env` for that).
    public var executableURL: URL?
    /// The arguments after the program's name.
    public var arguments: [String] = []
    /// The whole environment; nil passes this process's own.
    public var environment: [String: String]?
    /// The folder the child starts in; nil keeps this process's.
    public var currentDirectoryURL: URL?
    /// A `Pipe`, a `FileHandle` (`FileHandle.nullDevice` opens /dev/null), or nil to inherit ours.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    private let lock = NSLock()
    private var pid: pid_t = 0
    /// The wait status, once the child has been reaped.
    private var waitStatus: Int32?

    public init() {}

    /// The child's pid (0 before ``run()``).
    public var processIdentifier: Int32 { lock.withLock { pid } }

    /// Starts the child. Throws when it cannot be spawned (no such program, bad stream).
    public func run() throws {
        guard let executableURL else { throw ChildProcessError(message: "no executable set") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with every signal at its default and none blocked: NIO ignores
        // SIGPIPE here, and an ignored signal would otherwise stay ignored across exec.
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        // The child's ends of our pipes, closed here once it has them (so a read sees EOF).
        var childEnds: [FileHandle] = []
        for (stream, target) in [(standardInput, Int32(0)), (standardOutput, 1), (standardError, 2)] {
            switch stream {
            case nil:
                break
            case let pipe as Pipe:
                let end = target == 0 ? pipe.fileHandleForReading : pipe.fileHandleForWriting
                posix_spawn_file_actions_adddup2(&actions, end.fileDescriptor, target)
                if !childEnds.contains(where: { $0 === end }) { childEnds.append(end) }
            case let handle as FileHandle where handle === FileHandle.nullDevice:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case let handle as FileHandle:
                posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
            default:
                throw ChildProcessError(message: "stream \(target) is neither a Pipe nor a FileHandle")
            }
        }
        cspawn_addclosefrom(&actions, 3)
        if let currentDirectoryURL { cspawn_addchdir(&actions, currentDirectoryURL.path) }

        let path = executableURL.path
        let environment = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var child: pid_t = 0
        let result = withCStringArray([path] + arguments) { argv in
            withCStringArray(environment) { envp in
                posix_spawn(&child, path, &actions, &attributes, argv, envp)
            }
        }
        guard result == 0 else {
            throw ChildProcessError(message: "cannot start \(path): \(String(cString: strerror(result)))")
        }
        lock.withLock { pid = child }
        for end in childEnds { try? end.close() }
    }

    /// Whether the child has started and not yet ended (reaping it when it has).
    public var isRunning: Bool {
        lock.withLock {
            reapLocked()
            return pid > 0 && waitStatus == nil
        }
    }

    /// The exit code, or the signal that ended the child. Read it after the child has ended.
    public var terminationStatus: Int32 {
        lock.withLock {
            reapLocked()
            guard let waitStatus else { return -1 }
            return waitStatus & 0x7f == 0 ? (waitStatus >> 8) & 0xff : waitStatus & 0x7f
        }
    }

    /// Whether the child exited or was ended by a signal. Read it after the child has ended.
    public var terminationReason: TerminationReason {
        lock.withLock {
            reapLocked()
            return (waitStatus ?? 0) & 0x7f == 0 ? .exit : .uncaughtSignal
        }
    }

    /// Sends SIGTERM (if the child still runs: a reaped pid may belong to someone else).
    public func terminate() { send(SIGTERM) }

    /// Sends SIGINT.
    public func interrupt() { send(SIGINT) }

    /// Waits for the child to end, polling every 2 ms (a wait with no deadline: prefer
    /// ``waitForExit(_:seconds:)`` in tests).
    public func waitUntilExit() {
        while isRunning { usleep(2_000) }
    }

    private func send(_ number: Int32) {
        lock.withLock {
            reapLocked()
            if pid > 0, waitStatus == nil { kill(pid, number) }
        }
    }

    /// Reaps the child if it has ended, without blocking. Call with the lock held.
    private func reapLocked() {
        guard pid > 0, waitStatus == nil else { return }
        var status: Int32 = 0
        var reaped = waitpid(pid, &status, WNOHANG)
        while reaped == -1 && errno == EINTR { reaped = waitpid(pid, &status, WNOHANG) }
        if reaped == pid {
            waitStatus = status
        } else if reaped == -1 && errno == ECHILD {
            waitStatus = 0xff00 // reaped elsewhere: the status is lost, reported as exit 255
        }
    }
}

/// Why a child could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Calls `body` with a NULL-terminated array of C copies of `strings`.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
