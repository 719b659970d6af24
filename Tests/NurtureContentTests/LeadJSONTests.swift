import Foundation
import NurtureContent
import NurtureCore
import Testing

/// The flat lead object of `nurture preview --lead`, the dry-run and `POST /v1/leads`: types,
/// caps and the keys the API does not take from outside.
@Suite("Lead JSON: every value checked, every list capped")
struct LeadJSONTests {
    func decode(_ json: String) throws(LeadJSONError) -> Lead { try LeadJSON.decode(Data(json.utf8), source: "lead.json") }
    func api(_ json: String) throws(LeadJSONError) -> Lead { try LeadJSON.decodeForAPI(Data(json.utf8)) }

    /// The error message for `json` through the API, or nil when accepted.
    func apiRefusal(_ json: String) -> String? {
        do {
            _ = try api(json)
            return nil
        } catch {
            return error.description
        }
    }

    static func tags(_ count: Int) -> String {
        #"{"email": "ada@example.com", "tags": ["# + (1...count).map { "\"t\($0)\"" }.joined(separator: ", ") + "]}"
    }

    @Test("tags must be a list of strings: each refusal is precise", arguments: [
        (#"{"email": "ada@example.com", "tags": "x"}"#, #"body: "tags" must be a list of tags such as ["vip", "trial"] (found text)"#),
        (#"{"email": "ada@example.com", "tags": 3}"#, #"body: "tags" must be a list of tags such as ["vip", "trial"] (found a number)"#),
        (#"{"email": "ada@example.com", "tags": {"x": 1}}"#, #"body: "tags" must be a list of tags such as ["vip", "trial"] (found an object)"#),
        (#"{"email": "ada@example.com", "tags": ["a", {"x": 1}]}"#, #"body: "tags" must be a list of text tags (tag 2 is an object)"#),
        (#"{"email": "ada@example.com", "tags": ["a", 1]}"#, #"body: "tags" must be a list of text tags (tag 2 is a number)"#),
        (#"{"email": "ada@example.com", "tags": [null]}"#, #"body: "tags" must be a list of text tags (tag 1 is null)"#),
        (#"{"email": "ada@example.com", "tags": [["a"]]}"#, #"body: "tags" must be a list of text tags (tag 1 is a list)"#),
        (#"{"email": "ada@example.com", "tags": ["a\r\nb", {"x": 1}]}"#, #"body: "tags" must be a list of tags without control characters (tag 1 contains U+000D)"#),
        (#"{"email": "ada@example.com", "tags": ["a\tb"]}"#, #"body: "tags" must be a list of tags without control characters (tag 1 contains U+0009)"#),
        (#"{"email": "ada@example.com", "tags": [""]}"#, #"body: "tags" must be a list of tags of 1–64 characters (tag 1 is empty)"#),
    ])
    func badTags(json: String, message: String) {
        #expect(apiRefusal(json) == message)
        // The same rules for preview and dry-run files.
        #expect(throws: LeadJSONError.self) { try decode(json) }
    }

    @Test("a tag is at most 64 characters; a lead at most 100 tags")
    func tagCaps() throws {
        let long = String(repeating: "t", count: 64)
        #expect(try api(#"{"email": "ada@example.com", "tags": ["\#(long)"]}"#).tags == [long])
        #expect(apiRefusal(#"{"email": "ada@example.com", "tags": ["\#(long)x"]}"#) == #"body: "tags" must be a list of tags of 1–64 characters (tag 1 has 65 characters)"#)
        #expect(try api(Self.tags(100)).tags.count == 100)
        #expect(apiRefusal(Self.tags(101)) == #"body: "tags" must be a list of at most 100 tags (found 101)"#)
        #expect(apiRefusal(Self.tags(60000)) == #"body: "tags" must be a list of at most 100 tags (found 60000)"#)
        #expect(try api(#"{"email": "ada@example.com", "tags": null}"#).tags.isEmpty)
    }

    @Test("the API refuses stage, scores and id with a reason; preview files keep them", arguments: [
        ("stage", #""customer""#, #"body: "stage" cannot be set here: stages move by the funnel, or by `nurture leads stage`"#),
        ("fit_score", "90", #"body: "fit_score" cannot be set here: scores are computed by the scoring rules"#),
        ("engagement_score", "50", #"body: "engagement_score" cannot be set here: scores are computed by the scoring rules"#),
        ("id", #""lead-1""#, #"body: "id" cannot be set here: lead ids are the store's; a lead is identified by its email"#),
    ])
    func storeOwnedKeys(key: String, value: String, message: String) throws {
        let json = #"{"email": "ada@example.com", "\#(key)": \#(value)}"#
        #expect(apiRefusal(json) == message)
        let lead = try decode(json)
        switch key {
        case "stage": #expect(lead.stage == "customer")
        case "fit_score": #expect(lead.fitScore == 90)
        case "engagement_score": #expect(lead.engagementScore == 50)
        default: #expect(lead.id == "lead-1")
        }
        #expect(lead.fields[key] == nil)
    }

    @Test("field names are 1–64 characters; values at most 4,096 characters, one line, no control character but tab")
    func fieldCaps() throws {
        let name64 = String(repeating: "n", count: 64)
        let value4096 = String(repeating: "é", count: 4096)
        let lead = try api(#"{"email": "ada@example.com", "\#(name64)": "\#(value4096)", "note": "a\tb"}"#)
        #expect(lead.fields[name64] == value4096)
        #expect(lead.fields["note"] == "a\tb")
        #expect(apiRefusal(#"{"email": "ada@example.com", "\#(name64)n": "x"}"#)?.contains("has 65 characters (at most 64): a field name is 1–64 characters") == true)
        #expect(apiRefusal(#"{"email": "ada@example.com", "": "x"}"#) == #"body: the field name "" is empty: a field name is 1–64 characters without control characters"#)
        #expect(apiRefusal(#"{"email": "ada@example.com", "a\nb": "x"}"#) == #"body: the field name "a\nb" contains the control character U+000A: a field name is 1–64 characters without control characters"#)
        #expect(apiRefusal(#"{"email": "ada@example.com", "first_name": "\#(value4096)x"}"#) == #"body: "first_name" must be at most 4,096 characters (found 4097)"#)
        #expect(apiRefusal(#"{"email": "ada@example.com", "first_name": "\#(String(repeating: "a", count: 100_000))"}"#) == #"body: "first_name" must be at most 4,096 characters (found 100000)"#)
        #expect(apiRefusal(#"{"email": "ada@example.com", "first_name": "Ada\r\nBcc: x@evil.example"}"#) == #"body: "first_name" must be one line of text without control characters (found a line break, U+000D)"#)
        #expect(apiRefusal(#"{"email": "ada@example.com", "notes": "one\ntwo"}"#) == #"body: "notes" must be one line of text without control characters (found a line break, U+000A)"#)
        #expect(apiRefusal(#"{"email": "ada@example.com", "company": "A\u0007"}"#) == #"body: "company" must be one line of text without control characters (found the control character U+0007)"#)
        #expect(apiRefusal(#"{"email": "ada@example.com", "company": "A\u2028B"}"#)?.contains("U+2028") == true)
        #expect(apiRefusal(#"{"email": "\#(String(repeating: "a", count: 5000))@example.com"}"#) == #"body: "email" must be at most 4,096 characters (found 5012)"#)
        // The address is trimmed by EmailAddress (a trailing CR LF is white space around it).
        #expect(try api(#"{"email": "Ada@Example.com\r\n"}"#).email == "ada@example.com")
        // The same caps for preview files.
        #expect(throws: LeadJSONError.self) { try decode(#"{"email": "ada@example.com", "notes": "one\ntwo"}"#) }
    }

    @Test("a preview file as documented still decodes")
    func previewFile() throws {
        let lead = try decode(#"{"email": "ada@example.com", "first_name": "Ada", "employees": 300, "vip": true, "timezone": "Europe/London", "stage": "mql", "fit_score": 40, "tags": ["vip", "trial", "vip"]}"#)
        #expect(lead.fields == ["first_name": "Ada", "employees": "300", "vip": "true"])
        #expect(lead.timeZone == "Europe/London" && lead.stage == "mql" && lead.fitScore == 40)
        #expect(lead.tags == ["vip", "trial"])
        #expect(lead.id == "ada@example.com")
    }
}
