import Foundation
import NurtureCore
import Yams
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a `Workflows/` folder into a validated ``Workflow``.
///
/// ```
/// Workflows/
///   funnel.yaml        settings, stages and their entry criteria, recycle rules
///   scoring.yaml       engagement rules, fit rules, decay
///   sequences/*.yaml   one sequence per file
/// ```
/// Every problem is reported, not only the first, each with file, line and column.
public enum WorkflowLoader {
    /// The outcome of loading: the workflow when there are no errors, and every issue.
    public struct Result: Sendable {
        public var workflow: Workflow?
        public var issues: [WorkflowIssue]

        public var errors: [WorkflowIssue] { issues.filter { $0.severity == .error } }
        public var warnings: [WorkflowIssue] { issues.filter { $0.severity == .warning } }
    }

    /// - Parameters:
    ///   - directory: the workflows folder; messages name files as `<directory>/<file>`.
    ///   - templates: when given, every `send` step's template must exist in it.
    ///   - displayPath: how messages name the folder, when not as `directory` is written.
    public static func load(directory: String, templates: TemplateLibrary? = nil, displayPath: String? = nil) -> Result {
        let root = URL(fileURLWithPath: directory)
        let shown = displayPath ?? directory
        let display = shown.hasSuffix("/") ? String(shown.dropLast()) : shown
        var issues: [WorkflowIssue] = []
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return Result(workflow: nil, issues: [.error(SourceLocation(file: display, line: 0, column: 0), "workflows folder not found")])
        }

        // Files are read only where they resolve inside the folder (symbolic links included),
        // only when regular and at most 1 MiB.
        guard let resolvedRoot = ContentFiles.realPath(root.path) else {
            return Result(workflow: nil, issues: [.error(SourceLocation(file: display, line: 0, column: 0), "workflows folder not found")])
        }
        /// `nil` when the file does not exist; otherwise its document, with any problem reading it.
        func read(_ relative: String) -> (YAMLDocument, Node?)? {
            let document = YAMLDocument(path: "\(display)/\(relative)")
            switch ContentFiles.readText(root.appendingPathComponent(relative).path, root: resolvedRoot, folder: "workflows") {
            case .success(let text):
                return (document, document.compose(text))
            case .failure(.missing):
                return nil
            case .failure(.refused(let message)):
                document.error(.scalar(.init("")), message)
                return (document, nil)
            }
        }

        var funnel = Funnel(stages: [])
        var settings = Workflow.Settings()
        let funnelPath = "\(display)/funnel.yaml"
        if let (document, node) = read("funnel.yaml") {
            if let node, let (f, s) = document.funnelFile(node) { (funnel, settings) = (f, s) }
            else if node == nil, document.issues.isEmpty { document.error(.scalar(.init("")), "funnel.yaml is empty") }
            issues += document.issues
        } else {
            issues.append(.error(SourceLocation(file: funnelPath, line: 0, column: 0), "missing: the funnel (stages and thresholds) lives in funnel.yaml"))
        }

        var scoring = ScoringModel()
        if let (document, node) = read("scoring.yaml") {
            if let node, let model = document.scoringFile(node) { scoring = model }
            issues += document.issues
        } else {
            issues.append(.warning(SourceLocation(file: "\(display)/scoring.yaml", line: 0, column: 0), "missing: without a scoring model every lead keeps a score of 0"))
        }

        var sequences: [Sequence] = []
        var brokenSequenceFiles = 0
        let funnelIsClean = !issues.contains { $0.severity == .error && $0.location.file == funnelPath }
        var sequenceFiles: [String] = []
        let sequencesFolder = root.appendingPathComponent("sequences").path
        switch ContentFiles.checkFolder(sequencesFolder, root: resolvedRoot, folder: "workflows") {
        case .success:
            sequenceFiles = ((try? FileManager.default.contentsOfDirectory(atPath: sequencesFolder)) ?? [])
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
        case .failure(.missing):
            break
        case .failure(.refused(let message)):
            issues.append(.error(SourceLocation(file: "\(display)/sequences", line: 0, column: 0), message))
        }
        for file in sequenceFiles {
            guard let (document, node) = read("sequences/\(file)") else { continue }
            let id = String(file.prefix(while: { $0 != "." }))
            if let node, let sequence = document.sequenceFile(node, defaultID: id), !document.issues.contains(where: { $0.severity == .error }) {
                sequences.append(sequence)
            } else {
                if node == nil, document.issues.isEmpty { document.error(.scalar(.init("")), "the file is empty") }
                brokenSequenceFiles += 1
            }
            issues += document.issues
        }

        let workflow = Workflow(funnel: funnel, scoring: scoring, sequences: sequences, settings: settings)
        // Cross-file checks run on what could be read. Everything refers to the funnel, so
        // they need a clean funnel.yaml; sequences with read errors are left out (their
        // problems are already reported), and so is the "no sequence" warning they would cause.
        if funnelIsClean {
            let validator = WorkflowValidator(knownTemplates: templates.map { Set($0.names) })
            issues += validator.validate(workflow).compactMap { issue in
                var issue = issue
                if issue.location == .none { issue.location = SourceLocation(file: funnelPath, line: 1, column: 1) }
                if brokenSequenceFiles > 0, issue.severity == .warning, issue.message.contains("has no sequence") { return nil }
                return issue
            }
        }
        let sorted = issues.sorted { ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column) }
        return Result(workflow: sorted.contains { $0.severity == .error } ? nil : workflow, issues: sorted)
    }
}

/// Campaign files read safely: only where they resolve inside their folder (a symbolic link
/// to `/etc/passwd` is refused, one to a file next to it is fine), only regular files (a
/// FIFO would block), and at most ``maxFileBytes`` (read no further than that).
enum ContentFiles {
    /// Largest workflow, template or `defaults.yaml` file.
    static let maxFileBytes = YAMLLimits.maxFileBytes

    enum Failure: Error, Equatable {
        /// Nothing at that path.
        case missing
        /// A problem worth reporting: the message says what (without the file name).
        case refused(String)
    }

    /// The canonical absolute path, symbolic links resolved; `nil` when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether `path` is `root` or inside it (both resolved).
    static func isInside(_ path: String, root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// Whether `path` is a symbolic link.
    static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    /// Where a path resolves, when inside `root`.
    static func resolve(_ path: String, root: String, folder: String) -> Result<String, Failure> {
        guard let resolved = realPath(path) else {
            return isSymbolicLink(path) ? .failure(.refused("cannot read: a symbolic link to nothing")) : .failure(.missing)
        }
        guard isInside(resolved, root: root) else {
            return .failure(.refused("is a symbolic link to \(resolved), outside the \(folder) folder: refused"))
        }
        return .success(resolved)
    }

    /// Checks that a folder, if there, resolves inside `root`.
    static func checkFolder(_ path: String, root: String, folder: String) -> Result<String, Failure> {
        resolve(path, root: root, folder: folder)
    }

    /// The UTF-8 text of the file at `path`, which must resolve inside `root` (resolved).
    static func readText(_ path: String, root: String, folder: String, limit: Int = maxFileBytes) -> Result<String, Failure> {
        let resolved: String
        switch resolve(path, root: root, folder: folder) {
        case .success(let path): resolved = path
        case .failure(let failure): return .failure(failure)
        }
        // Non-blocking, so that opening a FIFO cannot hang; then only regular files are read.
        let fd = open(resolved, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .failure(.refused("cannot read: \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.refused("cannot read: \(String(cString: strerror(errno)))")) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .failure(.refused("is not a regular file: refused")) }
        guard Int(info.st_size) <= limit else { return .failure(.refused(YAMLLimits.tooBig(Int(info.st_size)))) }
        // Read at most limit + 1 bytes, whatever the size said (the file may be growing).
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var total = 0
        while total < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { return .failure(.refused("cannot read: \(String(cString: strerror(errno)))")) }
            if n == 0 { break }
            total += n
        }
        guard total <= limit else { return .failure(.refused(YAMLLimits.tooBig(total))) }
        guard let text = String(validating: bytes[..<total], as: UTF8.self) else {
            return .failure(.refused("cannot read: the file is not UTF-8 text"))
        }
        return .success(text)
    }
}
