import NurtureCore
import Testing

@Suite("which header fields a campaign may add")
struct CustomHeaderRulesTests {
    @Test("Feedback-ID, List-Id and X- fields are allowed; Nurture's own, routing, MIME and authentication fields are not")
    func names() {
        for name in ["Feedback-ID", "List-Id", "X-Campaign", "Precedence"] {
            #expect(CustomHeaderRules.problem(name: name, value: "value") == nil, "\(name)")
        }
        for name in ["From", "to", "BCC", "Subject", "Message-ID", "MIME-Version", "Content-Type", "Content-ID", "Content-Description",
                     "Resent-From", "Resent-Message-ID", "Received", "Return-Path", "DKIM-Signature", "ARC-Seal", "List-Unsubscribe", "List-Unsubscribe-Post"] {
            #expect(CustomHeaderRules.problem(name: name, value: "value")?.contains("cannot be set here") == true, "\(name)")
        }
        #expect(CustomHeaderRules.problem(name: "X Campaign", value: "v")?.contains("is not a header name") == true)
        #expect(CustomHeaderRules.problem(name: "X-Campaign:", value: "v")?.contains("is not a header name") == true)
    }

    @Test("values are one line, without control characters, and bounded")
    func values() {
        #expect(CustomHeaderRules.problem(name: "X-A", value: "a\r\nBcc: x@evil.example")?.contains("line break") == true)
        #expect(CustomHeaderRules.problem(name: "X-A", value: "a\nb")?.contains("line break") == true)
        #expect(CustomHeaderRules.problem(name: "X-A", value: "a\u{0}b")?.contains("control character") == true)
        #expect(CustomHeaderRules.problem(name: "X-A", value: "tab\tis fine") == nil)
        #expect(CustomHeaderRules.problem(name: "X-A", value: String(repeating: "x", count: 901))?.contains("longer than 900") == true)
    }
}
