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

    @Test("wrapping on bytes breaks where wrapping by characters does, for ASCII, accents and punctuation")
    func wrapBytes() {
        var seed: UInt64 = 42
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(seed >> 33)
        }
        let letters: [String] = ["w", "w", "w", "é", "ß", "—", "’", "€", "Ł", "…"]
        for round in 0..<4_000 {
            let words = (0..<(next() % 30)).map { _ in (0..<(next() % 20)).map { _ in round % 2 == 0 ? "w" : letters[next() % letters.count] }.joined() }
            var line = words.joined(separator: String(repeating: " ", count: 1 + next() % 2))
            if next() % 3 == 0 { line = "- " + line }
            if next() % 5 == 0 { line = "  " + line + " " }
            #expect(line.unicodeScalars.allSatisfy(HTMLText.isSingleCharacter))
            #expect(HTMLText.wrapBytes(line, width: 76) == HTMLText.wrapCharacters(line, width: 76), "\(line.debugDescription)")
            #expect(HTMLText.wrap(line, width: 76) == HTMLText.wrapCharacters(line, width: 76))
        }
        #expect(HTMLText.wrap("- " + String(repeating: "word ", count: 30), width: 76).contains("\n  word"))
        // A combining accent or an emoji takes the general path, which counts characters.
        let combining = String(repeating: "e\u{301}", count: 70) + " x"
        #expect(!combining.unicodeScalars.allSatisfy(HTMLText.isSingleCharacter))
        #expect(HTMLText.wrap(combining, width: 76) == combining)
    }

    @Test("quoted-printable output keeps lines within 76 and decodes back to the text")
    func quotedPrintable() {
        for text in Self.samples(3_000).map({ String(repeating: $0, count: 1 + $0.count % 9) }) {
            let encoded = QuotedPrintable.encode(text)
            let lines = String(decoding: encoded, as: UTF8.self).components(separatedBy: "\r\n")
            #expect(lines.allSatisfy { $0.utf8.count <= 76 })
            // Decode: soft breaks removed, =XY turned back into bytes, CRLF into LF.
            var decoded: [UInt8] = []
            var i = 0
            while i < encoded.count {
                if encoded[i] == UInt8(ascii: "="), i + 2 < encoded.count, encoded[i + 1] == 0x0D, encoded[i + 2] == 0x0A {
                    i += 3
                } else if encoded[i] == UInt8(ascii: "="), i + 2 < encoded.count, let byte = UInt8(String(decoding: encoded[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                    decoded.append(byte)
                    i += 3
                } else if encoded[i] == 0x0D, i + 1 < encoded.count, encoded[i + 1] == 0x0A {
                    decoded.append(0x0A)
                    i += 2
                } else {
                    decoded.append(encoded[i])
                    i += 1
                }
            }
            var expected: [UInt8] = [] // the text's bytes, CRLF as LF
            for byte in text.utf8 {
                if byte == 0x0A, expected.last == 0x0D { expected.removeLast() }
                expected.append(byte)
            }
            #expect(decoded == expected, "\(text.debugDescription)")
        }
    }

    @Test("tag attributes: a stray delimiter after an unterminated quote ends the scan instead of running past the tag")
    func strayDelimiter() {
        #expect(HTMLAttribute.parse("<a x' /=\"y'>"[...]).map(\.name) == ["x'"])
        #expect(HTMLAttribute.parse("<a href=\"https://é.example\" data-x>"[...]).map(\.name) == ["href", "data-x"])
        #expect(HTMLAttribute.parse("<a\r\nhref='u'>"[...]).first?.value == "u")
    }
}
