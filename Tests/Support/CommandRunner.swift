import Foundation

/// Runs a product built next to the test bundle (e.g. the `nurture` executable) as a user would.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// The path of a product of this package's build (same folder as the running test binary).
public func builtProduct(_ name: String) -> URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
}

/// Runs `nurture` with `arguments` and extra `environment`, and waits for it.
public func runNurture(_ arguments: [String], directory: URL? = nil, environment: [String: String] = [:]) throws -> CommandResult {
    try runProgram(builtProduct("nurture"), arguments, directory: directory, environment: environment)
}

/// Runs a program with `arguments` and extra `environment`, and waits for it.
public func runProgram(_ executable: URL, _ arguments: [String], directory: URL? = nil, environment: [String: String] = [:]) throws -> CommandResult {
    let process = ChildProcess()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
    let errData = Mutex<Data>()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { errData.value = err.fileHandleForReading.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    waitForExit(process)
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData.value, as: UTF8.self))
}

/// A value written once from another thread and read after a `DispatchGroup.wait()`.
private final class Mutex<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    init() {}
    var value: Value {
        get { lock.withLock { stored! } }
        set { lock.withLock { stored = newValue } }
    }
}
