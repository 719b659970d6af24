import NurtureCore
import Testing

@Suite("Email addresses")
struct EmailAddressTests {
    @Test("parses bare addresses and 'Name <address>'")
    func parsing() throws {
        #expect(try EmailAddress.parse("ada@example.com") == EmailAddress("ada@example.com"))
        let named = try EmailAddress.parse("  Ada Lovelace <ada@example.com> ")
        #expect(named.address == "ada@example.com")
        #expect(named.displayName == "Ada Lovelace")
        #expect(try EmailAddress.parse("\"Lovelace, Ada\" <ada@example.com>").displayName == "Lovelace, Ada")
        #expect(named.domain == "example.com")
        #expect(named.description == "Ada Lovelace <ada@example.com>")
    }

    @Test("refuses what would break an envelope or a header", arguments: [
        "ada", "@example.com", "ada@", "ada@example.com\r\nRCPT TO:<x@y>", "a da@example.com", "ada@exa..mple.com",
        "<ada@example.com>>", "ada@example.com.",
    ])
    func refuses(text: String) {
        #expect(throws: EmailAddressError.self) { try EmailAddress.parse(text) }
    }

    @Test("one canonical form per mailbox, however it is written", arguments: [
        (" victim@example.com", "victim@example.com"),
        ("victim@example.com\r\n", "victim@example.com"),
        ("\tVictim@Example.COM", "victim@example.com"),
        ("\u{00A0}victim@example.com\u{3000}", "victim@example.com"),
        ("ｖｉｃｔｉｍ@ｅｘａｍｐｌｅ．ｃｏｍ", "victim@example.com"),
        ("ada+news@bücher.example", "ada+news@xn--bcher-kva.example"),
        ("ada@MÜNCHEN.de", "ada@xn--mnchen-3ya.de"),
        ("o'neil@example.co.uk", "o'neil@example.co.uk"),
    ])
    func canonical(input: String, expected: String) throws {
        #expect(try EmailAddress.canonical(input) == expected)
        #expect(try EmailAddress(input).address == expected)
    }

    @Test("refused: doubled @, invisible, bidi and control characters, homoglyph mixes, non-ASCII local parts", arguments: [
        "a@b@example.com", "victim@exa\u{200B}mple.com", "vic\u{200D}tim@example.com", "victim\u{202E}@example.com",
        "\u{FEFF}victim@example.com", "victim@example.com\u{0000}", "vi ctim@example.com", "vіctim@example.com",
        "victim@ехample.com", "victim@exаmple.com", ".victim@example.com", "vic..tim@example.com", "victim@-example.com",
        "victim@example.123", "\"victim\"@example.com", "victim@exam_ple.com", "victim@[127.0.0.1]",
        String(repeating: "a", count: 65) + "@example.com", "a@" + String(repeating: "b", count: 64) + ".com",
    ])
    func refusesLookalikes(text: String) {
        #expect(throws: EmailAddressError.self) { try EmailAddress.canonical(text) }
    }

    @Test("punycode follows RFC 3492's samples")
    func punycode() throws {
        #expect(try EmailAddress.canonical("a@bücher.de") == "a@xn--bcher-kva.de")
        #expect(try EmailAddress.canonical("a@例え.jp") == "a@xn--r8jz45g.jp")
        #expect(try EmailAddress.canonical("a@пример.рф") == "a@xn--e1afmkfd.xn--p1ai")
    }

    @Test("errors say what is wrong")
    func messages() {
        #expect(EmailAddressError.missingAt("ada").description == "'ada' is not an email address: expected local@domain")
    }

    @Test("secrets never print")
    func secrets() {
        let secret = Secret("hunter2")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "Secret(<redacted>)")
        #expect(!"\(Optional(secret) as Any)".contains("hunter2"))
        struct Holder { var password: Secret }
        #expect(!String(describing: Holder(password: secret)).contains("hunter2"))
    }

    @Test("outcomes expose their failure")
    func outcomes() {
        let failure = DeliveryFailure(phase: .recipient, code: 550, reply: "550 5.1.1 unknown user")
        #expect(DeliveryOutcome.permanentFailure(failure).failure == failure)
        #expect(DeliveryOutcome.accepted(reply: "250 ok").failure == nil)
        #expect(failure.description == "recipient failed (550): 550 5.1.1 unknown user")
    }
}

@Suite("The database setting")
struct StoreLocationTests {
    @Test("paths and sqlite: URLs are SQLite; postgres URLs are PostgreSQL, printed without their password")
    func parsing() throws {
        #expect(try StoreLocation(parsing: "nurture.sqlite") == .sqlite(path: "nurture.sqlite"))
        #expect(try StoreLocation(parsing: "/var/lib/nurture/n.sqlite") == .sqlite(path: "/var/lib/nurture/n.sqlite"))
        #expect(try StoreLocation(parsing: "sqlite:data/n.sqlite") == .sqlite(path: "data/n.sqlite"))
        #expect(try StoreLocation(parsing: "sqlite:///srv/n.sqlite") == .sqlite(path: "/srv/n.sqlite"))
        let postgres = try StoreLocation(parsing: "postgres://nurture:hunter2@db:5432/nurture?sslmode=require")
        #expect(postgres == .postgres(url: "postgres://nurture:hunter2@db:5432/nurture?sslmode=require"))
        #expect(postgres.description == "postgres://nurture:<redacted>@db:5432/nurture?sslmode=require")
        #expect(throws: StoreLocationError.unsupportedScheme("mysql")) { try StoreLocation(parsing: "mysql://x@y/z") }
        #expect(throws: StoreLocationError.empty) { try StoreLocation(parsing: "") }
    }
}
