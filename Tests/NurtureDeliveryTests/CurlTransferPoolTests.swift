import CCurl
import Foundation
@testable import NurtureDelivery
import Testing
import TestSupport

@Suite("libcurl transfer pool: its threads against a real HTTP server on loopback")
struct CurlTransferPoolTests {
    @Test("no thread before the first transfer; its threads run the transfers and end once the pool is released")
    func threadsComeAndGo() async throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        // A name no other test uses, so that the threads counted are this pool's.
        let label = "nt.\(UInt16.random(in: 0...UInt16.max))"
        var pool: CurlTransferPool? = CurlTransferPool(size: 4, label: label, threads: 2) { easy in
            // Answered once four requests wait together: both threads' connections are in use.
            easy.set(CURLOPT_URL, "http://127.0.0.1:\(server.port)/barrier/4")
            easy.set(CURLOPT_POST, 1)
        }
        #expect(Self.threads(named: label) == 0)

        let codes = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { [pool] in
                    await pool!.transfer { easy in
                        easy.set(CURLOPT_POSTFIELDSIZE_LARGE, size: 2)
                        easy.setRequestBody(Array("{}".utf8))
                    }.responseCode
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(codes == Array(repeating: 202, count: 4))
        // Both named: each names itself as it starts (a race in Foundation's Thread.name left
        // one in three unnamed).
        #expect(Self.threads(named: label) == 2, "the process's threads: \(Self.allNames())")

        pool = nil
        // The threads see the stop at once; give them a moment to close their connections.
        let deadline = ContinuousClock.now + .seconds(10)
        while Self.threads(named: label) > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(Self.threads(named: label) == 0)
    }

    /// The names of all this process's threads.
    private static func allNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.map { task in ((try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// This process's threads whose name starts with `label` (`label.1`, `label.2`), from /proc.
    private static func threads(named label: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let name = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return name.hasPrefix(label + ".")
        }.count
    }
}
