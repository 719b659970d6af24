import Foundation

/// Debian's `chromium`, headless, as the dashboard's tests drive it: the page as the browser
/// built it (the DOM), and screenshots at a given window width. `scripts/test` installs it.
public struct HeadlessBrowser: Sendable {
    public let executable: String

    /// The browser, or an error saying how to install it (a test that needs it fails, never
    /// skips).
    public static func find() throws -> HeadlessBrowser {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] where FileManager.default.isExecutableFile(atPath: path) {
            return HeadlessBrowser(executable: path)
        }
        throw BrowserError(message: "no headless browser: apt-get install chromium (scripts/test does)")
    }

    /// The DOM after the page loaded (`extra`: more Chromium flags).
    public func dom(_ url: String, extra: [String] = []) throws -> String {
        try run(extra + ["--dump-dom", url]).stdout
    }

    /// Saves a PNG of the page at `width` × `height` CSS pixels to `path`.
    public func screenshot(_ url: String, width: Int, height: Int, to path: String) throws {
        let result = try run(["--window-size=\(width),\(height)", "--hide-scrollbars", "--screenshot=\(path)", url])
        guard FileManager.default.fileExists(atPath: path) else { throw BrowserError(message: "no screenshot written: \(result.stderr.suffix(500))") }
    }

    /// A PNG's width and height (its IHDR chunk).
    public static func pngSize(_ path: String) throws -> (width: Int, height: Int) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count > 24, data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw BrowserError(message: "\(path) is not a PNG") }
        func int(_ at: Int) -> Int { data[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (int(16), int(20))
    }

    private func run(_ arguments: [String]) throws -> (stdout: String, stderr: String) {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-chromium-\(UUID())")
        defer { try? FileManager.default.removeItem(at: profile) }
        let result = try runProgram(URL(fileURLWithPath: "/usr/bin/timeout"), [
            "60", executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=\(profile.path)",
        ] + arguments)
        return (result.stdout, result.stderr)
    }
}

public struct BrowserError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
