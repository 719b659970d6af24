import Foundation
import GRDB
@testable import NurtureSQLite
import Testing

/// The stores' direct JSON writer reads back as what was written, through `JSONDecoder` and
/// through SQLite's own JSON functions.
@Suite("JSON text of properties, fields and tags")
struct JSONTextTests {
    static let strings: [String] = [
        "", "plain", "with \"quotes\" and \\backslashes\\", "line\nbreak\r\ttab", "\u{1}\u{2}\u{1F}\u{7F}", "https://acme.example/a?b=c&d=/e",
        "Zoë — “quoted” 👍🏽", "e\u{301}", "</script>", "{\"not\": \"json\"}",
    ]

    @Test("objects and arrays decode back to the same strings, keys sorted")
    func roundTrip() throws {
        var object: [String: String] = ["nul": "a\u{0}b"] // a NUL survives JSON, not SQLite's C strings

        for (index, string) in Self.strings.enumerated() { object["k\(index)\(string)"] = string }
        let text = JSONText.object(object)
        #expect(try JSONDecoder().decode([String: String].self, from: Data(text.utf8)) == object)
        #expect(JSONText.object([:]) == "{}" && JSONText.array([]) == "[]")
        #expect(JSONText.object(["b": "2", "a": "1"]) == #"{"a":"1","b":"2"}"#)
        #expect(try JSONDecoder().decode([String].self, from: Data(JSONText.array(Self.strings).utf8)) == Self.strings)
    }

    @Test("SQLite's json_extract and json_each read every value back")
    func sqlite() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("json-text-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("j.sqlite").path)
        for string in Self.strings {
            let object = JSONText.object(["url": string])
            let read = try await store.pool.read { db in try String.fetchOne(db, sql: "SELECT json_extract(?, '$.url')", arguments: [object]) }
            #expect(read == string, "\(string.debugDescription)")
        }
        let array = JSONText.array(Self.strings)
        let values = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT value FROM json_each(?)", arguments: [array]) }
        #expect(values == Self.strings)
    }

    @Test("readObject reads back every object written, as JSONDecoder does, on 3,000 random objects")
    func readBack() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces: [String] = Self.strings + ["\u{0}", "\u{1F}", "\\u0041", "\"", "\\", "/", "é", "𝄞", "a", " ", ":", ",", "{", "}"]
        func randomString() -> String {
            (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
        }
        for _ in 0..<3_000 {
            var object: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) { object[randomString()] = randomString() }
            let text = JSONText.object(object)
            #expect(JSONText.readObject(text) == object, "\(text.debugDescription)")
            #expect(try JSONDecoder().decode([String: String].self, from: Data(text.utf8)) == object)
        }
    }

    @Test("readObject refuses what object does not write; JSONDecoder, its fallback, reads the valid ones")
    func readRefuses() throws {
        // Valid objects of strings in another form (JSONEncoder's escaped slashes among them).
        let others = [
            #"{"a": "1"}"#, #" {"a":"1"}"#, #"{"a":"1"} "#, #"{"a":"https:\/\/x.example\/"}"#,
            #"{"a":"\u00e9"}"#, #"{"a":"\ud83d\ude00"}"#, #"{"a":"\b\f"}"#,
        ]
        for text in others {
            #expect(JSONText.readObject(text) == nil, "\(text)")
            #expect((try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) != nil, "\(text)")
        }
        #expect(JSONText.readObject(#"{"a":1}"#) == nil && JSONText.readObject(#"{"a":null}"#) == nil)
        for broken in [#"{"a":"1""#, #"{"a":"1",}"#, #"{"a""#, #"{"#, "", #"{"a":"\"}"#, #"{"a":"\u00"}"#, #"{"a":"\u0020"}"#, "{\"a\":\"\n\"}", #"["a"]"#] {
            #expect(JSONText.readObject(broken) == nil, "\(broken.debugDescription)")
        }
        #expect(JSONText.readObject(#"{"a":"1","a":"2"}"#) == nil, "a key twice is not what object writes")
        #expect(JSONText.readObject("{}") == [:])
        #expect(JSONText.readObject(#"{"a":"x\u001fy","b":"\"\\\n\r\t"}"#) == ["a": "x\u{1F}y", "b": "\"\\\n\r\t"])
    }
}
