import CSV
import Foundation
import NurtureCore

/// Reads leads from a CSV file with a header row.
///
/// Columns: `email` (required), `first_name`, `last_name`, `company`, `job_title`,
/// `timezone` (or `time_zone`), and any other column as a custom field (header names are
/// lower-cased, spaces become `_`). Rows with a bad address, a bad time zone or the wrong
/// number of cells are reported with their line number and skipped.
public enum LeadImporter {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public struct Parsed: Sendable {
        public var leads: [Lead]
        public var problems: [Problem]
        /// Rows that repeat an earlier address (the last one wins).
        public var duplicates: Int
    }

    /// Parses the whole file first: a file that cannot be read imports nothing.
    /// - Parameter progress: called with the number of rows read, every 1,000 rows.
    public static func parse(path: String, progress: ((Int) -> Void)? = nil) throws(ImportError) -> Parsed {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        guard let text = String(data: data, encoding: .utf8) else { throw .malformed(path, "not UTF-8 text") }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true, trimFields: true)
        } catch {
            throw .malformed(path, "\(error)")
        }
        guard let header = reader.headerRow?.map(normalizeName), !header.isEmpty else { throw .malformed(path, "the file is empty: expected a header row") }
        guard let emailColumn = header.firstIndex(of: "email") else {
            throw .malformed(path, "no 'email' column in the header row (found: \(header.joined(separator: ", ")))")
        }
        var leads: [Lead] = []
        var index: [String: Int] = [:]
        var problems: [Problem] = []
        var duplicates = 0
        var line = 1
        while let row = reader.next() {
            line += 1
            if line % 1000 == 0 { progress?(line - 1) }
            if row.count == 1, row[0].isEmpty { continue } // blank line
            guard row.count == header.count else {
                problems.append(Problem(line: line, message: "expected \(header.count) cells, found \(row.count)"))
                continue
            }
            let email = row[emailColumn]
            do {
                _ = try EmailAddress(email)
            } catch {
                problems.append(Problem(line: line, message: "\(error)"))
                continue
            }
            var fields: [String: String] = [:]
            var zone: String?
            for (column, value) in zip(header, row) where column != "email" && !value.isEmpty {
                if column == "timezone" || column == "time_zone" {
                    zone = value
                } else {
                    fields[column] = value
                }
            }
            if let zone, TimeZone(identifier: zone) == nil {
                problems.append(Problem(line: line, message: "'\(zone)' is not a time zone (e.g. Europe/Paris)"))
                continue
            }
            let lead = Lead(id: "", email: email, fields: fields, timeZone: zone)
            if let existing = index[email.lowercased()] {
                leads[existing] = lead
                duplicates += 1
            } else {
                index[email.lowercased()] = leads.count
                leads.append(lead)
            }
        }
        if let error = reader.error {
            throw .malformed(path, "line \(line + 1): \(error)")
        }
        progress?(line - 1)
        return Parsed(leads: leads, problems: problems, duplicates: duplicates)
    }

    /// A column or field name as stored: trimmed, lower-case, spaces as `_`.
    public static func normalizeName(_ header: String) -> String {
        header.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "_")
    }
}

public enum ImportError: Error, CustomStringConvertible {
    case unreadable(String)
    case malformed(String, String)

    public var description: String {
        switch self {
        case .unreadable(let path): "\(path): cannot read the file"
        case .malformed(let path, let detail): "\(path): \(detail)"
        }
    }
}
