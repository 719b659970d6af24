import Foundation
import NurtureApp
import NurtureContent
import NurtureCore
import NurtureRuntime
import Testing

@Suite("Lead import: no row is lost silently")
struct LeadImporterTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("lead-import-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    /// Writes `bytes` to a file in the temp folder and returns its path.
    func file(_ bytes: [UInt8], _ name: String = "leads.csv") throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func file(_ text: String, _ name: String = "leads.csv") throws -> String {
        try file(Array(text.utf8), name)
    }

    /// The message of the error that refuses `path`, or nil when it parses.
    func refusal(_ path: String) -> String? {
        do {
            _ = try LeadImporter.parse(path: path)
            return nil
        } catch {
            return error.description
        }
    }

    /// 1,000 data rows, header on line 1, row n on line n + 1.
    static func thousandRows(breakingLine broken: Int? = nil) -> String {
        var lines = ["email,first_name,timezone"]
        for n in 1...1000 {
            let line = n + 1
            lines.append(line == broken ? "lead\(n)@example.com,\"Lead\(n),America/New_York" : "lead\(n)@example.com,Lead\(n),America/New_York")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("an unterminated quote on line 12 of 1,000 rows refuses the whole file and names line 12")
    func unterminatedQuote() throws {
        let path = try file(Self.thousandRows(breakingLine: 12))
        #expect(refusal(path) == "\(path):line 12: a quoted field opened here is never closed")
        // The same file without the stray quote imports every row.
        let parsed = try LeadImporter.parse(path: try file(Self.thousandRows(), "good.csv"))
        #expect(parsed.leads.count == 1000)
        #expect(parsed.rows == 1000 && parsed.problems.isEmpty)
    }

    @Test("a quote closed lines later and followed by text (rows swallowed) refuses the file at the opening line")
    func quoteClosedLater() throws {
        let csv = "email,company\na@example.com,\"Acme\nb@example.com,Beta\nc@example.com,\"Gamma\"\n"
        let path = try file(csv)
        #expect(refusal(path)?.hasPrefix("\(path):line 2: a quoted field opened here is closed on line 4 and followed by 'G'") == true)
    }

    @Test("a stray quote inside one line is one bad row; the rows after it are read")
    func strayQuoteOnOneLine() throws {
        let csv = "email,company\na@example.com,\"5\" screens\",x\nb@example.com,Beta\n"
        let parsed = try LeadImporter.parse(path: try file(csv))
        #expect(parsed.leads.map(\.email) == ["b@example.com"])
        #expect(parsed.problems.map(\.line) == [2])
        #expect(parsed.problems.first?.message.contains("after the closing quote") == true)
    }

    @Test("newlines inside quoted fields count as lines: later line numbers do not drift")
    func quotedNewlines() throws {
        let csv = #"""
        email,company,notes
        a@example.com,"Acme
        Inc.","line one
        line two
        line three"
        b@example.com,Beta,"x"
        not-an-address,Gamma,y
        c@example.com,Delta,"a\#r\#nb"
        d@example.com,Epsilon,too,many
        e@example.com,"Zeta ""quoted""",z
        f@example.com,Eta,"one
        two"

        """#
        let parsed = try LeadImporter.parse(path: try file(csv))
        // Physical lines: header 1, a@ 2–5, b@ 6, not-an-address 7, c@ 8–9, d@ 10, e@ 11, f@ 12–13.
        #expect(parsed.problems.map(\.line) == [2, 7, 10])
        // company is a single-line field: a line break in it is a bad row, naming the column and its line.
        #expect(parsed.problems[0].message == "column 2 ('company') has a line break on line 2: company must be one line (is a quote missing?) (the row runs to line 5)")
        #expect(parsed.problems[2].message == "expected 3 cells, found 4")
        #expect(parsed.leads.map(\.email) == ["b@example.com", "c@example.com", "e@example.com", "f@example.com"])
        #expect(parsed.leads[1].fields["notes"] == "a\r\nb")
        #expect(parsed.leads[2].fields["company"] == "Zeta \"quoted\"")
        #expect(parsed.leads[3].fields["notes"] == "one\ntwo")
        #expect(parsed.rows == 7)
    }

    @Test("CR LF line endings: the same line numbers")
    func crlf() throws {
        let parsed = try LeadImporter.parse(path: try file("email,notes\r\na@example.com,\"x\r\ny\"\r\nbad,z\r\n"))
        #expect(parsed.problems.map(\.line) == [4])
        #expect(parsed.leads.first?.fields["notes"] == "x\r\ny")
    }

    @Test("an empty file is refused")
    func emptyFile() throws {
        let empty = try file("", "empty.csv")
        #expect(refusal(empty) == "\(empty): the file is empty: expected a header row with an 'email' column")
        let blank = try file("\n\r\n  \n", "blank.csv")
        #expect(refusal(blank)?.contains("the file is empty") == true)
        let bomOnly = try file([0xEF, 0xBB, 0xBF], "bom.csv")
        #expect(refusal(bomOnly)?.contains("the file is empty") == true)
    }

    @Test("duplicate columns after normalization are refused, naming both")
    func duplicateColumns() throws {
        let path = try file("email,First Name,company,first_name\na@example.com,Ada,Acme,Ada\n")
        #expect(refusal(path) == "\(path):line 1: columns 2 ('First Name') and 4 ('first_name') are the same field 'first_name': rename or remove one")
        let zones = try file("Email,timezone,time_zone\na@example.com,UTC,UTC\n", "zones.csv")
        #expect(refusal(zones)?.contains("columns 2 ('timezone') and 3 ('time_zone') are the same field 'timezone'") == true)
        let twoEmails = try file("email,EMAIL\na@example.com,b@example.com\n", "emails.csv")
        #expect(refusal(twoEmails)?.contains("columns 1 ('email') and 2 ('EMAIL')") == true)
    }

    @Test("a header without email is refused")
    func noEmailColumn() throws {
        let path = try file("name,company\nAda,Acme\n")
        #expect(refusal(path) == "\(path):line 1: no 'email' column in the header row (found: name, company)")
    }

    @Test("a NUL byte refuses the file with its line")
    func nulByte() throws {
        let path = try file(Array("email,company\na@example.com,Acme\nb@example.com,Be".utf8) + [0] + Array("ta\n".utf8))
        #expect(refusal(path) == "\(path):line 3: a NUL byte: this is not a CSV text file (save it as CSV UTF-8)")
        let utf16 = try file([0xFF, 0xFE] + Array("email".utf8).flatMap { [$0, 0] }, "utf16.csv")
        #expect(refusal(utf16)?.contains("UTF-16") == true)
    }

    @Test("invalid UTF-8 refuses the file with its line")
    func invalidUTF8() throws {
        // Latin-1 'é' (0xE9) on line 4, after a quoted newline on line 2–3.
        let path = try file(Array("email,company\na@example.com,\"x\ny\"\nb@example.com,Caf".utf8) + [0xE9] + Array("\n".utf8))
        #expect(refusal(path) == "\(path):line 4: not UTF-8 text (bytes 0xE9): save the file as CSV UTF-8")
    }

    @Test("a UTF-8 byte order mark (Excel) is accepted and stripped")
    func byteOrderMark() throws {
        let parsed = try LeadImporter.parse(path: try file([0xEF, 0xBB, 0xBF] + Array("email,first_name\nada@example.com,Ada\n".utf8)))
        #expect(parsed.leads == [Lead(id: "", email: "ada@example.com", fields: ["first_name": "Ada"], timeZone: nil)])
        #expect(parsed.problems.isEmpty)
    }

    @Test("a control character in a cell is a bad row")
    func controlCharacter() throws {
        let parsed = try LeadImporter.parse(path: try file("email,company\na@example.com,Ac\u{1}me\nb@example.com,Beta\n"))
        #expect(parsed.problems == [LeadImporter.Problem(line: 2, message: "column 2 ('company') contains the control character U+0001")])
        #expect(parsed.leads.map(\.email) == ["b@example.com"])
    }

    @Test("addresses are stored canonical and deduplicated by their canonical form")
    func canonicalAddresses() throws {
        let csv = "email,first_name\n\" Victim@Example.com\t\",First\nvictim@example.com,Second\nVICTIM@EXAMPLE.COM ,Third\n"
        let parsed = try LeadImporter.parse(path: try file(csv))
        #expect(parsed.leads.count == 1)
        #expect(parsed.leads.first?.email == "victim@example.com")
        #expect(parsed.leads.first?.fields["first_name"] == "Third") // the last row wins
        #expect(parsed.duplicates == 2)
        #expect(parsed.rows == 3)
    }

    @Test("a@b@example.com is a bad row with its line")
    func doubledAt() throws {
        let parsed = try LeadImporter.parse(path: try file("email\nok@example.com\na@b@example.com\n"))
        #expect(parsed.problems == [LeadImporter.Problem(line: 3, message: "'a@b@example.com' is not an email address: it has more than one '@'")])
        #expect(parsed.leads.map(\.email) == ["ok@example.com"])
    }

    @Test("every row is accounted for: read = imported + bad + repeated; empty rows are ignored")
    func accounting() throws {
        let csv = """
        email,first_name,timezone
        a@example.com,A,Europe/Paris

        b@example.com,B,../../etc/passwd
        A@example.com,A2,UTC
        ,,
        c@example.com,C
        d@example.com,D,
        """
        let parsed = try LeadImporter.parse(path: try file(csv))
        #expect(parsed.rows == 5)
        #expect(parsed.emptyRows == 2)
        #expect(parsed.leads.count == 2 && parsed.problems.count == 2 && parsed.duplicates == 1)
        #expect(parsed.rows == parsed.leads.count + parsed.problems.count + parsed.duplicates)
        #expect(parsed.problems.map(\.line) == [4, 7])
        #expect(parsed.problems[0].message == "'../../etc/passwd' is not a time zone (e.g. Europe/Paris)")
        #expect(parsed.leads.first?.timeZone == "UTC")
    }

    @Test("time zones: IANA names only")
    func timeZones() {
        #expect(LeadImporter.validTimeZone("Europe/Paris"))
        #expect(LeadImporter.validTimeZone("America/New_York"))
        #expect(LeadImporter.validTimeZone("UTC"))
        #expect(LeadImporter.validTimeZone("GMT"))
        #expect(!LeadImporter.validTimeZone("../../etc/passwd"))
        #expect(!LeadImporter.validTimeZone("Europe/../../etc/passwd"))
        #expect(!LeadImporter.validTimeZone("Mars/Olympus"))
        #expect(!LeadImporter.validTimeZone(""))
    }

    @Test("a value under a column with no name is a bad row, not a silent loss")
    func unnamedColumn() throws {
        let parsed = try LeadImporter.parse(path: try file("email,first_name,\na@example.com,A,\nb@example.com,B,lost?\n"))
        #expect(parsed.leads.map(\.email) == ["a@example.com"])
        #expect(parsed.problems == [LeadImporter.Problem(line: 3, message: "a value in column 3, which has no name in the header row")])
    }

    // MARK: - Missing quotes that swallow rows; single-line fields; caps

    /// `email,first_name` with 1,000 rows (row n on line n + 1), `"broken` opening a quote on
    /// line `open` and `Bob"` closing it on line `close`.
    static func swallowing(open: Int, close: Int) -> String {
        var lines = ["email,first_name"]
        for n in 1...1000 {
            let line = n + 1
            let name = line == open ? "\"broken" : line == close ? "Bob\"" : "Lead\(n)"
            lines.append("lead\(n)@example.com,\(name)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("a quote opened on line 12 and closed on line 600 refuses the whole file, naming both lines")
    func quoteRunsOverRows() throws {
        let path = try file(Self.swallowing(open: 12, close: 600))
        #expect(refusal(path) == "\(path):line 12: a quoted field runs from here to line 600: a quote is probably missing")
    }

    @Test("a shorter run into a single-line column is a bad row naming the column and its lines, not a silent merge")
    func shortRunIsABadRow() throws {
        let parsed = try LeadImporter.parse(path: try file(Self.swallowing(open: 12, close: 60)))
        #expect(parsed.problems == [LeadImporter.Problem(line: 12, message: "column 2 ('first_name') has a line break on line 12: first_name must be one line (is a quote missing?) (the row runs to line 60)")])
        #expect(parsed.leads.count == 1000 - 49)
        #expect(parsed.rows == parsed.leads.count + parsed.problems.count + parsed.duplicates)
        #expect(parsed.leads.allSatisfy { !($0.fields["first_name"] ?? "").contains("\n") })
    }

    @Test("a first_name with an embedded newline is a bad row; notes may hold several lines")
    func newlineInFirstName() throws {
        let csv = "email,notes,first_name\na@example.com,\"n1\nn2\",\"Ada\nLovelace\"\nb@example.com,\"met at\nthe fair\",Bob\nc@example.com,,\"Eve\r\nx\"\n"
        let parsed = try LeadImporter.parse(path: try file(csv))
        #expect(parsed.problems == [
            LeadImporter.Problem(line: 2, message: "column 3 ('first_name') has a line break on line 3: first_name must be one line (is a quote missing?) (the row runs to line 4)"),
            LeadImporter.Problem(line: 7, message: "column 3 ('first_name') has a line break on line 7: first_name must be one line (is a quote missing?) (the row runs to line 8)"),
        ])
        #expect(parsed.leads.map(\.email) == ["b@example.com"])
        #expect(parsed.leads.first?.fields["notes"] == "met at\nthe fair")
        for column in ["last_name", "company", "job_title", "timezone", "time_zone", "name"] {
            let other = try LeadImporter.parse(path: try file("email,\(column)\na@example.com,\"x\ny\"\n", "\(column).csv"))
            #expect(other.leads.isEmpty && other.problems.first?.message.contains("('\(column)') has a line break on line 2") == true, "\(column)")
        }
        let email = try LeadImporter.parse(path: try file("email,x\n\"a@example.com\n\",y\n", "email.csv"))
        #expect(email.leads.isEmpty && email.problems.first?.message.contains("('email') has a line break on line 2") == true)
    }

    @Test("a quoted field may run over 100 lines, not 101")
    func hundredLines() throws {
        let hundred = (1...100).map { "l\($0)" }.joined(separator: "\n")
        let parsed = try LeadImporter.parse(path: try file("email,notes\na@example.com,\"\(hundred)\"\n"))
        #expect(parsed.leads.first?.fields["notes"] == hundred)
        let path = try file("email,notes\na@example.com,\"\(hundred)\nl101\"\n", "long.csv")
        #expect(refusal(path) == "\(path):line 2: a quoted field runs from here to line 102: a quote is probably missing")
    }

    @Test("a cell holds at most 4,096 characters; a column name at most 64")
    func caps() throws {
        let full = String(repeating: "é", count: 4096)
        let csv = "email,notes\na@example.com,\(full)\nb@example.com,\(full)x\n"
        let parsed = try LeadImporter.parse(path: try file(csv))
        #expect(parsed.leads.map(\.email) == ["a@example.com"])
        #expect(parsed.problems == [LeadImporter.Problem(line: 3, message: "column 2 ('notes') has 4097 characters: at most 4,096")])
        let long = String(repeating: "n", count: 65)
        let path = try file("email,\(long)\na@example.com,x\n", "name.csv")
        #expect(refusal(path)?.hasPrefix("\(path):line 1: header row: the name of column 2") == true)
        #expect(try LeadImporter.parse(path: try file("email,\(long.dropLast())\na@example.com,x\n", "name64.csv")).leads.count == 1)
    }
}
