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
