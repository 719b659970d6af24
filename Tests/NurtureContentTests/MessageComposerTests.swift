import NurtureContent
import NurtureCore
import Testing
import TestSupport

@Suite("Message composer, read back by an independent MIME parser")
struct MessageComposerTests {
    func draft(
        fromName: String = "Nurture Team", toName: String? = "Ada Lovelace", subject: String = "Welcome",
        text: String? = "Hello", html: String? = "<p>Hello</p>", headers: [MessageHeader] = []
    ) -> MessageComposer.Draft {
        MessageComposer.Draft(
            from: try! EmailAddress("news@nurture.test", displayName: fromName),
            to: [try! EmailAddress("ada@example.com", displayName: toName)],
            subject: subject, text: text, html: html,
            messageID: "<lead-1.welcome.s1.e1@nurture.test>", date: 1_795_000_000, headers: headers)
    }

    @Test("multipart/alternative: text then HTML, exact headers, exact decoded bodies")
    func structure() throws {
        let message = MessageComposer().compose(draft(
            text: "Hi Ada,\nthanks for joining.\n", html: "<p>Hi Ada,</p>\n<p>thanks for joining.</p>"))
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.content_type == "multipart/alternative")
        #expect(parsed.parts.map(\.content_type) == ["text/plain", "text/html"])
        #expect(parsed.parts.allSatisfy { $0.charset == "utf-8" })
        #expect(parsed.parts[0].content == "Hi Ada,\nthanks for joining.\n")
        #expect(parsed.parts[1].content == "<p>Hi Ada,</p>\n<p>thanks for joining.</p>")
        #expect(parsed.header("Date") == ["Wed, 18 Nov 2026 11:06:40 +0000"])
        #expect(parsed.header("Message-ID") == ["<lead-1.welcome.s1.e1@nurture.test>"])
        #expect(parsed.header("MIME-Version") == ["1.0"])
        #expect(parsed.from == [["Nurture Team", "news@nurture.test"]])
        #expect(parsed.to == [["Ada Lovelace", "ada@example.com"]])
        #expect(!parsed.bare_lf && !parsed.bare_cr)
    }

    @Test("UTF-8 subjects and display names come back exactly", arguments: [
        "Café ✓", "日本語の件名：ようこそ", "Ünïcödé — a long subject line that needs several encoded words to fit into the header, 🎉🎉🎉",
    ])
    func unicode(subject: String) throws {
        let message = MessageComposer().compose(draft(fromName: "Zoë Équipe", toName: "山田 太郎", subject: subject))
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.subject == subject)
        #expect(parsed.from == [["Zoë Équipe", "news@nurture.test"]])
        #expect(parsed.to == [["山田 太郎", "ada@example.com"]])
        #expect(parsed.max_line <= 78)
    }

    @Test("display names with specials are quoted")
    func quotedNames() throws {
        let message = MessageComposer().compose(draft(toName: #"Lovelace, Ada "The Countess""#))
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.to == [[#"Lovelace, Ada "The Countess""#, "ada@example.com"]])
    }

    @Test("CR/LF in any value never creates a header")
    func headerInjection() throws {
        let message = MessageComposer().compose(draft(
            toName: "Ada\r\nBcc: victim@example.com", subject: "Hi\r\nBcc: victim@example.com\r\n\r\nbody",
            headers: [MessageHeader("X-Campaign", "spring\nBcc: victim@example.com")]))
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.header("Bcc").isEmpty)
        #expect(parsed.subject == "Hi  Bcc: victim@example.com    body")
        #expect(parsed.header("X-Campaign") == ["spring Bcc: victim@example.com"])
        #expect(parsed.parts.map(\.content) == ["Hello", "<p>Hello</p>"])
        #expect(parsed.to == [["Ada  Bcc: victim@example.com", "ada@example.com"]])
        #expect(message.recipients == ["ada@example.com"])
    }

    @Test("very long lines are wrapped to 76 and decode back unchanged")
    func longLines() throws {
        let long = String(repeating: "word ", count: 500) + String(repeating: "x", count: 2000) + " é"
        let message = MessageComposer().compose(draft(text: long, html: "<p>\(long)</p>"))
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.max_line <= 78)
        #expect(parsed.parts[0].content == long)
        #expect(parsed.parts[1].content == "<p>\(long)</p>")
    }

    @Test("a header value with no spaces longer than a line is split into encoded words")
    func longHeader() throws {
        let token = String(repeating: "a1b2c3", count: 300)
        let message = MessageComposer().compose(draft(headers: [MessageHeader("X-Token", token)]))
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.max_line <= 78)
        #expect(parsed.header("X-Token") == [token])
    }

    @Test("text only and HTML only are single parts")
    func singleParts() throws {
        let textOnly = try ParsedMessage.parse(MessageComposer().compose(draft(html: nil)).rfc5322)
        #expect(textOnly.content_type == "text/plain")
        #expect(textOnly.parts.map(\.content) == ["Hello\n"])
        let htmlOnly = try ParsedMessage.parse(MessageComposer().compose(draft(text: nil)).rfc5322)
        #expect(htmlOnly.content_type == "text/html")
    }

    @Test("trailing spaces, '=' and leading dots survive quoted-printable")
    func quotedPrintableEdges() throws {
        let text = "a = b  \n.leading dot\n\ttab\t\nend\n"
        let parsed = try ParsedMessage.parse(MessageComposer().compose(draft(text: text, html: nil)).rfc5322)
        #expect(parsed.parts[0].content == text)
    }

    @Test("extra headers, such as List-Unsubscribe, are written in order")
    func extraHeaders() throws {
        let message = MessageComposer().compose(draft(headers: [
            MessageHeader("List-Unsubscribe", "<https://t.nurture.test/u/abc>, <mailto:unsub@nurture.test>"),
            MessageHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ]))
        let parsed = try ParsedMessage.parse(message.rfc5322)
        #expect(parsed.header("List-Unsubscribe") == ["<https://t.nurture.test/u/abc>, <mailto:unsub@nurture.test>"])
        #expect(parsed.header("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"])
    }

    @Test("the same draft gives the same bytes")
    func deterministic() {
        #expect(MessageComposer().compose(draft()).rfc5322 == MessageComposer().compose(draft()).rfc5322)
    }

    @Test("Message-IDs keep only allowed characters")
    func messageIDs() {
        #expect(MessageComposer.messageID(unique: "lead 42/welcome<3>", domain: "nurture.test") == "<lead42welcome3@nurture.test>")
    }

    @Test("RFC 5322 dates", arguments: [
        (Int64(0), "Thu, 01 Jan 1970 00:00:00 +0000"), (951_782_400, "Tue, 29 Feb 2000 00:00:00 +0000"),
        (1_795_000_000, "Wed, 18 Nov 2026 11:06:40 +0000"), (-1, "Wed, 31 Dec 1969 23:59:59 +0000"),
    ])
    func dates(seconds: Int64, expected: String) {
        #expect(RFC5322Date.format(secondsSince1970: seconds) == expected)
    }
}
