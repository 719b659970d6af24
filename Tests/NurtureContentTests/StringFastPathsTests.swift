import Foundation
@testable import NurtureContent
import Testing

/// The rendering path's fast string helpers give what the Foundation calls they replace give.
@Suite("Fast paths of the renderer against Foundation")
struct StringFastPathsTests {
    /// Random strings over an alphabet of spaces, tabs, line breaks, ASCII, accents, a
    /// combining mark, an emoji and a no-break space: deterministic (a fixed-seed generator).
    static func samples(_ count: Int) -> [String] {
        let alphabet: [String] = [" ", " ", "\t", "\n", "\r\n", "a", "B", "=", "?", "&", "-", "é", "e\u{301}", "\u{301}", "👍🏽", "\u{A0}", "\u{2003}", "x"]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(seed >> 33)
        }
        return (0..<count).map { _ in (0..<(next() % 14)).map { _ in alphabet[next() % alphabet.count] }.joined() }
    }

    @Test("trimmed and isBlank agree with trimmingCharacters(in:) for spaces and for spaces and newlines")
    func trimming() {
        for text in Self.samples(5_000) {
            #expect(text.trimmed() == text.trimmingCharacters(in: .whitespaces), "\(Array(text.unicodeScalars))")
            #expect(text.trimmed(.whitespacesAndNewlines) == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(Array(text.unicodeScalars))")
            #expect(text.isBlank() == text.trimmingCharacters(in: .whitespaces).isEmpty, "\(Array(text.unicodeScalars))")
        }
    }

    @Test("containsBytes finds an ASCII needle exactly where the bytes hold it")
    func containsBytes() {
        for text in Self.samples(5_000) {
            let bytes = Array(text.utf8)
            for (needle, pattern) in [("=?", Array("=?".utf8)), ("  ", Array("  ".utf8)), ("&", Array("&".utf8))] as [(StaticString, [UInt8])] {
                let expected = bytes.count >= pattern.count && (0...(bytes.count - pattern.count)).contains { Array(bytes[$0..<($0 + pattern.count)]) == pattern }
                #expect(text.containsBytes(needle) == expected, "\(text.debugDescription) \(needle)")
            }
        }
        #expect("Subject =?utf-8?q?x?=".containsBytes("=?"))
        #expect(!"a = ? b".containsBytes("=?"))
    }

    @Test("wrapping printable ASCII on bytes breaks where wrapping by characters does")
    func wrapASCII() {
        var seed: UInt64 = 42
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(seed >> 33)
        }
        for _ in 0..<3_000 {
            let words = (0..<(next() % 30)).map { _ in String(repeating: "w", count: next() % 20) }
            var line = words.joined(separator: String(repeating: " ", count: 1 + next() % 2))
            if next() % 3 == 0 { line = "- " + line }
            if next() % 5 == 0 { line = "  " + line + " " }
            #expect(HTMLText.wrapASCII(line, width: 76) == HTMLText.wrapCharacters(line, width: 76), "\(line.debugDescription)")
            #expect(HTMLText.wrap(line, width: 76) == HTMLText.wrapCharacters(line, width: 76))
        }
        #expect(HTMLText.wrap("- " + String(repeating: "word ", count: 30), width: 76).contains("\n  word"))
    }
}
