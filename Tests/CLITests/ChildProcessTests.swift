import Foundation
import Testing
import TestSupport

/// The test helpers start every child through ``ChildProcess`` (posix_spawn), not Foundation's
/// `Process`, whose `run()` crashes now and then on Linux with Swift 6.3.1.
@Suite("ChildProcess: the tests' posix_spawn helper")
struct ChildProcessTests {
    @Test("exit codes, signals, working folder, environment and pipes come through")
    func basics() throws {
        let exited = try runProgram(URL(fileURLWithPath: "/bin/sh"), ["-c", "pwd; echo \"$GREETING\"; echo oops >&2; exit 3"],
                                    directory: URL(fileURLWithPath: "/tmp"), environment: ["GREETING": "hello"])
        #expect(exited.status == 3)
        #expect(exited.stdout == "/tmp\nhello\n")
        #expect(exited.stderr == "oops\n")

        let sleeper = ChildProcess()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        #expect(sleeper.isRunning)
        sleeper.terminate()
        #expect(waitForExit(sleeper, seconds: 10))
        #expect(sleeper.terminationReason == .uncaughtSignal)
        #expect(sleeper.terminationStatus == SIGTERM)

        let missing = ChildProcess()
        missing.executableURL = URL(fileURLWithPath: "/nonexistent/program")
        #expect(throws: ChildProcessError.self) { try missing.run() }
    }

    @Test("the child holds only its three standard streams, whatever this process has open")
    func descriptorsClosed() throws {
        // A pipe open here and not given to the child: it must not leak into it (a leaked
        // write end would keep another test's reader from ever seeing EOF).
        let unrelated = Pipe()
        defer { try? unrelated.fileHandleForWriting.close() }
        let listed = try runProgram(URL(fileURLWithPath: "/bin/sh"), ["-c", "ls /proc/$$/fd"])
        #expect(listed.status == 0)
        let descriptors = Set(listed.stdout.split(separator: "\n").map(String.init))
        #expect(descriptors == ["0", "1", "2"], "\(descriptors) (this process has \(unrelated.fileHandleForWriting.fileDescriptor) open)")
    }

    @Test("signals this process ignores are at their default in the child")
    func signalsReset() throws {
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        // The kernel's mask of the signals the child ignores (SIG_IGN survives exec unless reset).
        let status = try runProgram(URL(fileURLWithPath: "/bin/sh"), ["-c", "grep SigIgn /proc/$$/status"])
        let mask = status.stdout.split(separator: "\t").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) }
        let ignored = try #require(mask, "\(status.stdout)")
        #expect(ignored & (1 << UInt64(SIGPIPE - 1)) == 0, "\(status.stdout)")
    }
}
