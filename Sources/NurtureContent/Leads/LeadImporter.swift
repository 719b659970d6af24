import CSV
import Foundation
import NurtureCore

/// Reads leads from a CSV file with a header row.
///
/// Columns: `email` (required), `first_name`, `last_name`, `company`, `job_title`,
/// `timezone` (or `time_zone`), and any other column as a custom field (header names are
/// lower-cased, spaces become `_`).
///
/// Nothing is lost silently. Line numbers are physical lines of the file (a newline inside a
/// quoted field counts). The file is refused as a whole (``ImportError``) when its structure
/// is broken: empty, not UTF-8 text, a NUL byte, a quoted field that is never closed or
/// that runs over more than ``maxQuotedLines`` lines (either would swallow the rows after
/// it), a header row without `email`, with two columns of one name or with a name longer
/// than ``maxNameLength``. Otherwise a row with a bad address, a bad time zone, a control
/// character, a line break in a single-line column (``singleLineColumns``), a value longer
/// than ``maxValueLength`` or the wrong number of cells is a ``Problem`` with its line and is
/// skipped, and every row read is accounted for: `rows == leads.count + problems.count + duplicates`.
/// Custom columns (`notes`) may hold short multi-line values.
///
/// Records are delimited by a small RFC 4180 scanner (quote state and line breaks only);
/// the fields of each record are parsed by CSV.swift.
public enum LeadImporter {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }

        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    public struct Parsed: Sendable {
        /// One lead per canonical address, addresses canonical (``EmailAddress/canonical(_:)``).
        public var leads: [Lead]
        /// The rows skipped, with their physical line.
        public var problems: [Problem]
        /// Rows that repeat an earlier address (the last one wins).
        public var duplicates: Int
        /// Data rows read (the header and empty rows not counted):
        /// `leads.count + problems.count + duplicates`.
        public var rows: Int
        /// Rows with no value at all (blank lines, `,,,`), ignored.
        public var emptyRows: Int
    }

    /// The columns whose values are one line (they go into subjects and headers): a line break
    /// in one makes the row bad (most often a quote is missing and the field swallowed rows).
    public static let singleLineColumns: Set<String> = ["email", "first_name", "last_name", "name", "company", "job_title", "timezone", "time_zone"]
    /// The longest value a cell may hold, in characters (Unicode scalars).
    public static let maxValueLength = 4096
    /// The longest column name, in characters.
    public static let maxNameLength = 64
    /// The most physical lines one quoted field may run over; more refuses the file.
    public static let maxQuotedLines = 100

    /// Whether `zone` is a time zone a lead may have: an IANA name this machine knows
    /// (`Europe/Paris`), or `UTC`/`GMT`. Stricter than `TimeZone(identifier:)`, which on Linux
    /// also accepts offsets and paths into the zone database (`../../etc/passwd`).
    public static func validTimeZone(_ zone: String) -> Bool {
        TimeZoneIdentifier.isValid(zone)
    }

    /// Parses the whole file first: a file that cannot be read, or whose structure is broken,
    /// imports nothing.
    /// - Parameter progress: called with the number of rows read, every 1,000 rows.
    public static func parse(path: String, progress: ((Int) -> Void)? = nil) throws(ImportError) -> Parsed {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path)
        else { throw .unreadable(path) }
        return try parse(data: data, path: path, progress: progress)
    }

    /// Parses CSV bytes; `path` is only used in error messages.
    public static func parse(data: Data, path: String, progress: ((Int) -> Void)? = nil) throws(ImportError) -> Parsed {
        let text = try decode(Array(data), path: path)
        let records: [Record]
        do {
            records = try Record.split(text)
        } catch {
            throw .invalid(path, line: error.line, error.message)
        }

        var header: [String]?
        var rawHeader: [String] = []
        var emailColumn = 0
        var zoneColumn: Int?
        var leads: [Lead] = []
        var index: [String: Int] = [:]
        var problems: [Problem] = []
        var duplicates = 0
        var rows = 0
        var emptyRows = 0
        for record in records {
            let cells = record.text.isEmpty ? [""] : fields(of: record.text)
            let empty = cells.allSatisfy(\.isEmpty) && record.malformed == nil
            guard let columns = header else {
                if empty { continue } // blank lines before the header
                if let malformed = record.malformed { throw .invalid(path, line: record.line, "header row: \(malformed)") }
                (header, emailColumn, zoneColumn) = try readHeader(cells, line: record.line, path: path)
                rawHeader = cells
                continue
            }
            if empty {
                emptyRows += 1
                continue
            }
            rows += 1
            if rows % 1000 == 0 { progress?(rows) }
            func skip(_ message: String) {
                problems.append(Problem(line: record.line, message: record.lastLine > record.line ? "\(message) (the row runs to line \(record.lastLine))" : message))
            }
            if let malformed = record.malformed {
                skip(malformed)
                continue
            }
            guard cells.count == columns.count else {
                skip("expected \(columns.count) cells, found \(cells.count)")
                continue
            }
            if let (column, scalar) = controlCharacter(in: cells) {
                skip("column \(column + 1) ('\(rawHeader[column])') contains the control character \(String(format: "U+%04X", scalar.value))")
                continue
            }
            if let column = columns.indices.first(where: { singleLineColumns.contains(columns[$0]) && cells[$0].contains(where: \.isNewline) }) {
                let line = column < record.fieldLines.count ? record.fieldLines[column] : record.line
                skip("column \(column + 1) ('\(rawHeader[column])') has a line break on line \(line): \(columns[column]) must be one line (is a quote missing?)")
                continue
            }
            if let column = cells.indices.first(where: { cells[$0].unicodeScalars.count > maxValueLength }) {
                skip("column \(column + 1) ('\(rawHeader[column])') has \(cells[column].unicodeScalars.count) characters: at most 4,096")
                continue
            }
            if let unnamed = columns.indices.first(where: { columns[$0].isEmpty && !cells[$0].isEmpty }) {
                skip("a value in column \(unnamed + 1), which has no name in the header row")
                continue
            }
            let email: String
            do {
                email = try EmailAddress.canonical(cells[emailColumn])
            } catch {
                skip(cells[emailColumn].isEmpty ? "no email address" : error.description)
                continue
            }
            var zone: String?
            if let zoneColumn, !cells[zoneColumn].isEmpty {
                let value = cells[zoneColumn]
                guard validTimeZone(value) else {
                    skip("'\(value.prefix(64))' is not a time zone (e.g. Europe/Paris)")
                    continue
                }
                zone = value
            }
            var fields: [String: String] = [:]
            for (column, (name, value)) in zip(columns, cells).enumerated()
            where column != emailColumn && column != zoneColumn && !name.isEmpty && !value.isEmpty {
                fields[name] = value
            }
            let lead = Lead(id: "", email: email, fields: fields, timeZone: zone)
            if let existing = index[email] {
                leads[existing] = lead
                duplicates += 1
            } else {
                index[email] = leads.count
                leads.append(lead)
            }
        }
        guard header != nil else { throw .malformed(path, "the file is empty: expected a header row with an 'email' column") }
        progress?(rows)
        return Parsed(leads: leads, problems: problems, duplicates: duplicates, rows: rows, emptyRows: emptyRows)
    }

    /// A column or field name as stored: trimmed, lower-case, spaces as `_`.
    public static func normalizeName(_ header: String) -> String {
        header.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "_")
    }

    // MARK: - Structure

    /// The header's normalized names, the `email` column and the time zone column.
    private static func readHeader(_ cells: [String], line: Int, path: String) throws(ImportError) -> ([String], Int, Int?) {
        if let (column, scalar) = controlCharacter(in: cells) {
            throw .invalid(path, line: line, "header row: column \(column + 1) contains the control character \(String(format: "U+%04X", scalar.value))")
        }
        let names = cells.map(normalizeName)
        if let column = names.indices.first(where: { names[$0].unicodeScalars.count > maxNameLength }) {
            throw .invalid(path, line: line, "header row: the name of column \(column + 1) ('\(cells[column].prefix(32))…') has \(names[column].unicodeScalars.count) characters: at most \(maxNameLength)")
        }
        var seen: [String: Int] = [:]
        for (column, name) in names.enumerated() where !name.isEmpty {
            let key = name == "time_zone" ? "timezone" : name
            if let first = seen[key] {
                throw .invalid(path, line: line, "columns \(first + 1) ('\(cells[first])') and \(column + 1) ('\(cells[column])') are the same field '\(key)': rename or remove one")
            }
            seen[key] = column
        }
        guard let email = seen["email"] else {
            throw .invalid(path, line: line, "no 'email' column in the header row (found: \(names.joined(separator: ", ")))")
        }
        return (names, email, seen["timezone"])
    }

    /// The fields of one record: by CSV.swift when the record has quotes; a record without
    /// any is only its commas (RFC 4180), split directly — most rows of most files, and a
    /// reader per row costs more than the rest of the import.
    private static func fields(of record: String) -> [String] {
        if !record.utf8.contains(UInt8(ascii: "\"")) {
            return record.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
        }
        guard let reader = try? CSVReader(string: record, hasHeaderRow: false, trimFields: true) else { return [""] }
        return reader.next() ?? [""]
    }

    /// The first control character (C0 but tab and line breaks, DEL, C1) or stray byte order mark in `cells`.
    private static func controlCharacter(in cells: [String]) -> (Int, Unicode.Scalar)? {
        for (column, cell) in cells.enumerated() {
            for scalar in cell.unicodeScalars {
                switch scalar.value {
                case 0x09, 0x0A, 0x0D: continue
                case 0x00...0x1F, 0x7F...0x9F, 0xFEFF: return (column, scalar)
                default: continue
                }
            }
        }
        return nil
    }

    /// The text of the file: UTF-8, a leading byte order mark removed; refused with the line
    /// of the first NUL byte or invalid UTF-8 sequence.
    private static func decode(_ bytes: [UInt8], path: String) throws(ImportError) -> String {
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw .invalid(path, line: 1, "the file is UTF-16 text: save it as CSV UTF-8")
        }
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let body = bytes[start...]
        if let nul = body.firstIndex(of: 0) {
            throw .invalid(path, line: line(at: nul, in: body), "a NUL byte: this is not a CSV text file (save it as CSV UTF-8)")
        }
        if let text = String(validating: body, as: UTF8.self) { return text }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = body.makeIterator()
        var offset = body.startIndex
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                offset += encoded.count
            case .error(let length):
                let shown = body[offset..<min(offset + max(length, 1), body.endIndex)].map { String(format: "0x%02X", $0) }.joined(separator: " ")
                throw .invalid(path, line: line(at: offset, in: body), "not UTF-8 text (bytes \(shown)): save the file as CSV UTF-8")
            case .emptyInput:
                throw .invalid(path, line: 1, "not UTF-8 text: save the file as CSV UTF-8")
            }
        }
    }

    /// The physical line of the byte at `offset`: LF, CR LF and a lone CR end a line.
    private static func line(at offset: Int, in bytes: ArraySlice<UInt8>) -> Int {
        var line = 1
        var i = bytes.startIndex
        while i < offset {
            if bytes[i] == 0x0A || (bytes[i] == 0x0D && (i + 1 >= bytes.endIndex || bytes[i + 1] != 0x0A)) { line += 1 }
            i += 1
        }
        return line
    }
}

/// One CSV record (a row, possibly over several lines) and where it is in the file.
struct Record {
    var text: String
    /// The physical line it starts on (1-based), and the one it ends on.
    var line: Int
    var lastLine: Int
    /// Why the record is not well-formed CSV, if it is not (it is then skipped).
    var malformed: String?
    /// The physical line each field starts on.
    var fieldLines: [Int] = []

    struct StructureError: Error {
        var line: Int
        var message: String
    }

    /// Splits `text` into records: tracks only quotes (RFC 4180, fields may have spaces before
    /// their opening quote and after their closing one, as CSV.swift allows) and line breaks
    /// (LF, CR LF, a lone CR). A quoted field still open at the end of the file is a structural
    /// error at the line it opens; so is a quoted field that spans lines and is followed by
    /// text after its closing quote (a quote was missing or not doubled: the rows in between
    /// were swallowed). Text after a closing quote on the field's own line makes the record
    /// malformed (the scan goes on as CSV readers do, the field continuing unquoted). A quoted
    /// field that runs over more than ``LeadImporter/maxQuotedLines`` lines is a structural
    /// error too: no lead has such a field, a missing quote does.
    static func split(_ text: String) throws(StructureError) -> [Record] {
        enum State { case fieldStart, unquoted, quoted, closed }
        let scalars = text.unicodeScalars
        var records: [Record] = []
        var state = State.fieldStart
        var line = 1
        var recordStart = scalars.startIndex
        var recordLine = 1
        var quoteLine = 1
        var malformed: String?
        var fieldLines = [1]
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let c = scalars[i]
            if c == "\n" || c == "\r" {
                var next = scalars.index(after: i)
                if c == "\r", next < scalars.endIndex, scalars[next] == "\n" { next = scalars.index(after: next) }
                if state != .quoted {
                    records.append(Record(text: String(scalars[recordStart..<i]), line: recordLine, lastLine: line, malformed: malformed, fieldLines: fieldLines))
                    recordStart = next
                    recordLine = line + 1
                    state = .fieldStart
                    malformed = nil
                    fieldLines = [line + 1]
                }
                line += 1
                i = next
                continue
            }
            switch state {
            case .fieldStart:
                if c == "\"" {
                    state = .quoted
                    quoteLine = line
                } else if c == "," {
                    fieldLines.append(line)
                } else if !isSpace(c) {
                    state = .unquoted
                }
            case .unquoted:
                if c == "," {
                    state = .fieldStart
                    fieldLines.append(line)
                }
            case .quoted:
                if c == "\"" {
                    if line - quoteLine + 1 > LeadImporter.maxQuotedLines {
                        throw StructureError(line: quoteLine, message: "a quoted field runs from here to line \(line): a quote is probably missing")
                    }
                    state = .closed
                }
            case .closed:
                if c == "\"" {
                    state = .quoted // an escaped quote
                } else if c == "," {
                    state = .fieldStart
                    fieldLines.append(line)
                } else if !isSpace(c) {
                    if quoteLine < line {
                        throw StructureError(line: quoteLine, message: "a quoted field opened here is closed on line \(line) and followed by '\(Character(c))': a quote is missing, or a quote inside a quoted field is not doubled (\"\")")
                    }
                    malformed = malformed ?? "text after the closing quote of a quoted field (a quote inside a quoted field is written \"\")"
                    state = .unquoted
                }
            }
            i = scalars.index(after: i)
        }
        if state == .quoted {
            throw StructureError(line: quoteLine, message: "a quoted field opened here is never closed")
        }
        if recordStart < scalars.endIndex {
            records.append(Record(text: String(scalars[recordStart...]), line: recordLine, lastLine: line, malformed: malformed, fieldLines: fieldLines))
        }
        return records
    }

    /// White space CSV.swift trims around fields (`CharacterSet.whitespaces`: tab and `Zs`).
    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || (c.value > 0x7F && c.properties.generalCategory == .spaceSeparator)
    }
}

public enum ImportError: Error, CustomStringConvertible {
    case unreadable(String)
    case malformed(String, String)
    /// The file's structure is broken at `line`: nothing is imported.
    case invalid(String, line: Int, String)

    public var description: String {
        switch self {
        case .unreadable(let path): "\(path): cannot read the file"
        case .malformed(let path, let detail): "\(path): \(detail)"
        case .invalid(let path, let line, let message): "\(path):line \(line): \(message)"
        }
    }
}
