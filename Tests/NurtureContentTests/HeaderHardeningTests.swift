import Foundation
import NurtureContent
import NurtureCore
import Testing
import TestSupport

/// Hardening item 3: every header line the composer writes is valid (≤ 998 octets, ≤ 78
/// wherever folding allows) and text that looks like an encoded word reads back literally.
/// Everything is read back by Python's `email` package.
@Suite("Message composer header hardening: line limits and literal encoded words")
struct HeaderHardeningTests {
    static let attack = "=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?="

    func draft(
        fromName: String = "Nurture Team", toName: String? = "Ada Lovelace", replyToName: String? = nil,
        subject: String = "Welcome", messageID: String = "<lead-1.welcome.s1.e1@nurture.test>",
        headers: [MessageHeader] = [], to: [EmailAddress]? = nil
    ) -> MessageComposer.Draft {
        MessageComposer.Draft(
            from: try! EmailAddress("news@nurture.test", displayName: fromName),
            to: to ?? [try! EmailAddress("ada@example.com", displayName: toName)],
            replyTo: replyToName.map { try! EmailAddress("reply@nurture.test", displayName: $0) },
            subject: subject, text: "Hello", html: "<p>Hello</p>",
            messageID: messageID, date: 1_795_000_000, headers: headers)
    }

    // MARK: - Display names

    @Test("a 2,000-character name without spaces: lines of at most 78 octets, read back exactly")
    func longNameWithoutSpaces() throws {
        let name = String(String(repeating: "Bartholomew", count: 200).prefix(2000))
        let message = MessageComposer().compose(draft(fromName: name, toName: name, replyToName: name))
        let head = try checkHeaderBlock(message.rfc5322, maxLine: 78)
        for field in ["From", "To", "Reply-To"] {
            let lines = fieldLines(head, field)
            #expect(lines.count > 25, "\(field) is folded")
            #expect(lines.allSatisfy { $0.utf8.count <= 78 })
        }
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.to.map { $0[1] } == ["ada@example.com"])
        #expect(parsed.from.map { $0[1] } == ["news@nurture.test"])
        // RFC 2047 §6.2: white space between adjacent encoded words is not part of the text.
        #expect(try decodedNames(message.rfc5322, "To") == [name])
        #expect(try decodedNames(message.rfc5322, "From") == [name])
        #expect(try decodedNames(message.rfc5322, "Reply-To") == [name])
        // Python's address parser (before CPython gh-128110) keeps each fold between encoded
        // words as a space; apart from those, it reads the same characters.
        #expect(parsed.to[0][0].replacingOccurrences(of: " ", with: "") == name)
    }

    @Test("a long name with spaces, quotes and commas folds as a quoted string, read back exactly", arguments: [
        String(repeating: "Lovelace, Ada \"The Countess\" of Lovelace ", count: 40).trimmingCharacters(in: .whitespaces),
        String(repeating: "Ada  Lovelace  Bcc: x ", count: 60).trimmingCharacters(in: .whitespaces),
        String(repeating: "Ada Byron King ", count: 120).trimmingCharacters(in: .whitespaces),
    ])
    func longQuotedName(name: String) throws {
        let message = MessageComposer().compose(draft(toName: name))
        let head = try checkHeaderBlock(message.rfc5322, maxLine: 78)
        #expect(!head.contains("=?"), "plain text that folds at spaces is not encoded")
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.to == [[name, "ada@example.com"]])
        #expect(parsed.header("Bcc").isEmpty)
    }

    @Test("non-ASCII and emoji names: encoded words of whole characters at every line boundary", arguments: 0..<4)
    func emojiAtBoundaries(offset: Int) throws {
        let names = [
            String(repeating: "x", count: offset) + String(repeating: "😀", count: 60),
            String(repeating: "é", count: offset) + String(repeating: "山田太郎", count: 40),
            String(repeating: "a", count: offset) + String(repeating: "👩‍👩‍👧‍👦🇫🇷", count: 20), // multi-scalar graphemes
            "Z" + String(repeating: "\u{301}", count: 700) + String(repeating: "y", count: offset), // one 1,401-byte grapheme
            String(repeating: "Zoë, \"Équipe\" ", count: 30) + String(repeating: "!", count: offset) + "end",
        ]
        for name in names {
            let message = MessageComposer().compose(draft(toName: name, subject: name))
            let head = try checkHeaderBlock(message.rfc5322, maxLine: 78)
            try checkEncodedWords(head)
            let parsed = try ParsedMessage.parse(message.rfc5322)
            #expect(parsed.defects.isEmpty)
            #expect(parsed.subject == name)
            #expect(try decodedNames(message.rfc5322, "To") == [name])
        }
    }

    @Test("many recipients with long names stay within 78 octets per line")
    func manyRecipients() throws {
        let to = try (0..<30).map { i in
            try EmailAddress("lead\(i)@example.com", displayName: i % 2 == 0 ? String(repeating: "N\(i)", count: 50) : "Lead, \(i)")
        }
        let message = MessageComposer().compose(draft(to: to))
        try checkHeaderBlock(message.rfc5322, maxLine: 78)
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.to.map { $0[1] } == to.map(\.address))
        #expect(try decodedNames(message.rfc5322, "To", count: 30) == to.map { $0.displayName! })
    }

    // MARK: - Encoded words in user text

    @Test("text that looks like an encoded word reads back literally, never as CR/LF or a header", arguments: [
        attack,
        "=?UTF-8?B?RXZlDQpCY2M6IHhAZXZpbC5leGFtcGxl?=",
        "Eve =?utf-8?q?=0D=0A?= Smith",
        "=?iso-8859-1?q?=0ABcc:_x@evil.example?= =?utf-8?b?DQo=?=",
    ])
    func literalEncodedWords(text: String) throws {
        let message = MessageComposer().compose(draft(
            fromName: text, toName: text, subject: "Hi " + text,
            headers: [MessageHeader("X-Campaign", text)]))
        let head = try checkHeaderBlock(message.rfc5322, maxLine: 78)
        #expect(!head.localizedCaseInsensitiveContains(text), "never copied verbatim")
        try checkEncodedWords(head)
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.header("Bcc").isEmpty)
        #expect(parsed.headers.map { $0[0] } == [
            "Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "X-Campaign", "Content-Type",
        ])
        #expect(parsed.headers.allSatisfy { !$0[1].contains("\r") && !$0[1].contains("\n") })
        #expect(parsed.subject == "Hi " + text)
        #expect(parsed.header("X-Campaign") == [text])
        #expect(try decodedNames(message.rfc5322, "To") == [text])
        #expect(try decodedNames(message.rfc5322, "From") == [text])
        if text.utf8.count <= 45 { // one encoded word: Python's address parser reads it exactly too
            #expect(parsed.to == [[text, "ada@example.com"]])
            #expect(parsed.from == [[text, "news@nurture.test"]])
        }
    }

    // MARK: - Subjects and extension fields

    @Test("long subjects: folded at spaces when possible, else encoded words; read back exactly", arguments: [
        String(repeating: "word ", count: 1000).trimmingCharacters(in: .whitespaces), // 4,999 characters
        String((0..<1000).map { _ in Character("s") }), // one 1,000-character word
        String(repeating: "a1b2c3d4e5", count: 500), // one 5,000-character word
        "Read this: https://example.com/" + String(repeating: "p", count: 120) + " now", // a word too long for a line
        String(repeating: "x", count: 70), // fits a line alone, not after "Subject: "
        String(repeating: " spaced  out\t", count: 200),
    ])
    func longSubjects(subject: String) throws {
        let message = MessageComposer().compose(draft(subject: subject))
        let head = try checkHeaderBlock(message.rfc5322, maxLine: 78)
        try checkEncodedWords(head)
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.subject == String(subject.drop { $0 == " " })) // readers drop the space after "Subject:"
        #expect(message.subject == subject)
    }

    @Test("extension headers: folded or encoded, read back exactly; a long field name still fits 998")
    func extensionHeaders() throws {
        let long = String(repeating: "campaign ", count: 300).trimmingCharacters(in: .whitespaces)
        let token = String(repeating: "t0k3n", count: 400)
        let name = "X-" + String(repeating: "N", count: 100)
        let message = MessageComposer().compose(draft(headers: [
            MessageHeader("X-Campaign", long), MessageHeader("X-Token", token), MessageHeader(name, "value é"),
            MessageHeader(name, "plain value"),
        ]))
        try checkHeaderBlock(message.rfc5322, maxLine: 998)
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.header("X-Campaign") == [long])
        #expect(parsed.header("X-Token") == [token])
        #expect(parsed.header(name) == ["value é", "plain value"])
    }

    // MARK: - Structured fields that cannot be encoded

    @Test("List-Unsubscribe with long URLs folds only between items, URLs unbroken")
    func longUnsubscribeURLs() throws {
        let url = "https://t.nurture.test/u/" + String(repeating: "AbCd", count: 120)
        let mailto = "mailto:unsub@nurture.test?subject=unsubscribe-" + String(repeating: "Z", count: 60)
        let message = try MessageComposer().composeChecked(draft(headers: [
            MessageHeader("List-Unsubscribe", "<\(url)>,<\(mailto)>"),
            MessageHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ]))
        let head = try checkHeaderBlock(message.rfc5322, maxLine: 998)
        #expect(fieldLines(head, "List-Unsubscribe") == ["List-Unsubscribe: <\(url)>,", " <\(mailto)>"])
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.header("List-Unsubscribe") == ["<\(url)>, <\(mailto)>"])
        #expect(parsed.header("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"])
        #expect(message.headers.first?.value == "<\(url)>, <\(mailto)>")
    }

    @Test("an unsubscribe URL longer than a line: the item is dropped, or composeChecked refuses")
    func unsubscribeURLTooLong() throws {
        let url = "https://t.nurture.test/u/" + String(repeating: "x", count: 1000)
        let mailto = "mailto:unsub@nurture.test"
        let both = draft(headers: [MessageHeader("List-Unsubscribe", "<\(url)>, <\(mailto)>")])
        let message = MessageComposer().compose(both)
        try checkHeaderBlock(message.rfc5322, maxLine: 78)
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.header("List-Unsubscribe") == ["<\(mailto)>"])
        #expect(message.headers == [MessageHeader("List-Unsubscribe", "<\(mailto)>")])
        #expect(throws: MessageComposer.HeaderError.self) { try MessageComposer().composeChecked(both) }
        do {
            _ = try MessageComposer().composeChecked(both)
        } catch {
            guard case .unfoldable(let field, let octets, let element) = error else { return }
            #expect(field == "List-Unsubscribe")
            #expect(octets > 998)
            #expect(element.hasPrefix("<https://t.nurture.test/u/xxx"))
            #expect(error.description.contains("998"))
        }

        let alone = MessageComposer().compose(draft(headers: [MessageHeader("List-Unsubscribe", "<\(url)>")]))
        try checkHeaderBlock(alone.rfc5322, maxLine: 78)
        #expect(try ParsedMessage.parse(alone.rfc5322).header("List-Unsubscribe").isEmpty)
        #expect(alone.headers.isEmpty)
    }

    @Test("Message-ID: written whole up to the line limit, refused beyond it")
    func longMessageID() throws {
        let id = "<" + String(repeating: "m", count: 300) + "@nurture.test>"
        let message = try MessageComposer().composeChecked(draft(messageID: id))
        try checkHeaderBlock(message.rfc5322, maxLine: 998)
        #expect(try ParsedMessage.parse(message.rfc5322).header("Message-ID") == [id])

        let huge = "<" + String(repeating: "m", count: 1100) + "@nurture.test>"
        let lenient = MessageComposer().compose(draft(messageID: huge))
        try checkHeaderBlock(lenient.rfc5322, maxLine: 78)
        let parsed = try ParsedMessage.parse(lenient.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.header("Message-ID").isEmpty)
        #expect(throws: MessageComposer.HeaderError.self) { try MessageComposer().composeChecked(draft(messageID: huge)) }
    }

    @Test("a field name too long for any line is refused, not written")
    func longFieldName() throws {
        let name = "X-" + String(repeating: "n", count: 1000)
        let draft = draft(headers: [MessageHeader(name, "v"), MessageHeader("X-Kept", "k")])
        let message = MessageComposer().compose(draft)
        try checkHeaderBlock(message.rfc5322, maxLine: 78)
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.header(name).isEmpty)
        #expect(parsed.header("X-Kept") == ["k"])
        #expect(message.headers == [MessageHeader("X-Kept", "k")])
        #expect(throws: MessageComposer.HeaderError.self) { try MessageComposer().composeChecked(draft) }
    }

    @Test("composeChecked accepts what compose writes whole, byte for byte")
    func checkedMatches() throws {
        let d = draft(fromName: "Zoë", toName: String(repeating: "q", count: 500), subject: Self.attack,
                      headers: [MessageHeader("List-Unsubscribe", "<https://t.nurture.test/u/abc>, <mailto:u@nurture.test>")])
        #expect(try MessageComposer().composeChecked(d).rfc5322 == MessageComposer().compose(d).rfc5322)
    }

    @Test("ordinary headers are written exactly as before (the golden message's header block)")
    func ordinaryHeadersUnchanged() throws {
        let token = "AXUT1Aw983sZdooI2DxmX7AISWPGn9Q2jFQOXAZvcIOvPA"
        let message = MessageComposer().compose(MessageComposer.Draft(
            from: try EmailAddress("hello@acme.example", displayName: "Acme"),
            to: [try EmailAddress("ada@example.com", displayName: "Ada Lovelace")],
            subject: "Welcome to Acme Analytics, Ada", text: "Hi", html: "<p>Hi</p>",
            messageID: "<13d40c3df37b19768a08d83c665fb008@acme.example>", date: 1_795_000_000,
            headers: [
                MessageHeader("List-Unsubscribe", "<https://t.acme.example/u/\(token)>, <mailto:unsubscribe@acme.example?subject=unsubscribe-\(token)>"),
                MessageHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]))
        let golden = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Golden/welcome.eml"), encoding: .utf8)
        let expected = try #require(golden.components(separatedBy: "\r\nContent-Type:").first)
        #expect(try checkHeaderBlock(message.rfc5322, maxLine: 998).hasPrefix(expected + "\r\nContent-Type:"))
    }

    // MARK: - Helpers

    /// The header block; every line at most `maxLine` octets (and 998), CRLF only.
    @discardableResult
    func checkHeaderBlock(_ bytes: [UInt8], maxLine: Int, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        let end = try #require(text.range(of: "\r\n\r\n"), sourceLocation: sourceLocation)
        let head = String(text[..<end.lowerBound])
        let lines = head.components(separatedBy: "\r\n")
        for line in lines {
            #expect(line.utf8.count <= min(maxLine, 998), "\(line.utf8.count) octets: \(line.prefix(80))…", sourceLocation: sourceLocation)
            #expect(!line.contains("\r") && !line.contains("\n"), sourceLocation: sourceLocation)
            #expect(!line.allSatisfy { $0 == " " || $0 == "\t" }, "a line of white space only", sourceLocation: sourceLocation)
        }
        #expect(head.utf8.allSatisfy { $0 < 0x80 }, "7-bit headers", sourceLocation: sourceLocation)
        return head
    }

    /// The physical lines of the field `name` in a header block.
    func fieldLines(_ head: String, _ name: String) -> [String] {
        var result: [String] = []
        var inside = false
        for line in head.components(separatedBy: "\r\n") {
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                if inside { result.append(line) }
            } else {
                inside = line.lowercased().hasPrefix(name.lowercased() + ":")
                if inside { result.append(line) }
            }
        }
        return result
    }

    /// Every encoded word is at most 75 characters and decodes to valid UTF-8 on its own
    /// (no character split across words).
    func checkEncodedWords(_ head: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let regex = try Regex(#"=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?="#)
        for match in head.matches(of: regex) {
            #expect(match.0.count <= 75, sourceLocation: sourceLocation)
            let payload = try #require(match.output[1].substring, sourceLocation: sourceLocation)
            let data = try #require(Data(base64Encoded: String(payload)), sourceLocation: sourceLocation)
            #expect(String(data: data, encoding: .utf8) != nil, "word \(match.0) splits a character", sourceLocation: sourceLocation)
        }
    }

    /// The display names of the address field `name`, read by Python's `email.header`
    /// decoder, which applies RFC 2047 §6.2 (white space between adjacent encoded words is
    /// ignored) — unlike the address parser of the Python versions here (CPython gh-128110).
    func decodedNames(_ bytes: [UInt8], _ name: String, count: Int = 1) throws -> [String] {
        let script = #"""
import json, re, sys
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.utils import getaddresses
message = message_from_bytes(sys.stdin.buffer.read(), policy=policy.compat32)
value = re.sub(r"\r?\n(?=[ \t])", "", message[sys.argv[1]])
names = []
# Every mailbox the composer writes ends with <address>; split there, outside quotes.
for mailbox in re.findall(r'((?:"(?:[^"\\]|\\.)*"|[^"<,])*)<[^>]*>,?', value):
    mailbox = mailbox.strip()
    if mailbox.startswith('"'):
        names.append(getaddresses([mailbox + " <a@b>"])[0][0])
    else:
        names.append(str(make_header(decode_header(mailbox))))
print(json.dumps(names))
"""#
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, name]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        _ = waitForExit(process)
        let names = try JSONDecoder().decode([String].self, from: data)
        #expect(names.count == count)
        return names
    }
}
