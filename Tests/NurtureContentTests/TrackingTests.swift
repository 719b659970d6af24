import Foundation
@testable import NurtureContent
import NurtureCore
import Testing

@Suite("Signed tracking tokens and link instrumentation")
struct TrackingTests {
    let signer = TrackingSigner(secret: Secret("test-secret-0123456789abcdef0123456789"))
    var links: TrackingLinks { TrackingLinks(baseURL: "https://t.acme.example/", signer: signer) }
    var id: SendID { signer.sendID(for: SendKey(leadID: "42", sequence: "welcome-series", step: "welcome", enrollment: 1)) }

    @Test("tokens verify back to what was signed")
    func roundTrip() {
        for token in [TrackingToken.open(id), .unsubscribe(id), .click(id, url: "https://acme.example/pricing?plan=pro&ref=ü")] {
            #expect(signer.verify(signer.sign(token)) == token)
        }
    }

    @Test("any altered character, or another secret, fails verification")
    func tampering() {
        let token = signer.sign(.click(id, url: "https://acme.example/pricing"))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        // Every character but the last carries only MAC-protected bits; the last one may
        // also carry base64's unused padding bits, which do not change the decoded bytes.
        for index in token.indices.dropLast() {
            var altered = token
            let replacement = alphabet.first { $0 != token[index] }!
            altered.replaceSubrange(index...index, with: String(replacement))
            #expect(signer.verify(altered) == nil, "altered at \(token.distance(from: token.startIndex, to: index))")
        }
        #expect(TrackingSigner(secret: Secret("another-secret")).verify(token) == nil)
        #expect(signer.verify("") == nil)
        #expect(signer.verify("not a token!") == nil)
        #expect(signer.verify(String(token.dropLast(4))) == nil)
    }

    @Test("a click token cannot be re-pointed at another URL")
    func noOpenRedirect() throws {
        let token = signer.sign(.click(id, url: "https://acme.example/pricing"))
        var bytes = try #require(Base64URL.decode(token[...]))
        // Swap the target's host for an attacker's, keeping the MAC.
        let evil = Array("https://evil.example/pricing".utf8)
        bytes.replaceSubrange(18..<(bytes.count - 16), with: evil)
        #expect(signer.verify(Base64URL.encode(bytes)) == nil)
    }

    @Test("send ids are stable per send, distinct across sends, and reveal nothing")
    func sendIDs() throws {
        let key = SendKey(leadID: "ada@example.com", sequence: "welcome-series", step: "welcome", enrollment: 1)
        #expect(signer.sendID(for: key) == signer.sendID(for: key))
        var next = key
        next.enrollment = 2
        #expect(signer.sendID(for: key) != signer.sendID(for: next))
        let url = links.openURL(signer.sendID(for: key))
        let decoded = String(decoding: try #require(Base64URL.decode(url.split(separator: "/").last!)), as: UTF8.self)
        #expect(!decoded.contains("ada"))
        #expect(!url.contains("ada"))
    }

    @Test("http(s) links go through the click endpoint; others are left alone; the pixel goes before </body>")
    func htmlInstrumentation() throws {
        let html = """
        <html><body><p><a href="https://acme.example/a?x=1&amp;y=2" class="btn">A</a>
        <A HREF='http://acme.example/b'>B</A> <a href="mailto:sales@acme.example">mail</a>
        <a href="tel:+331234">call</a> <a href="#top">top</a> <abbr title="x">abbr</abbr>
        <a href="https://acme.example/video" data-nurture-notrack>video</a>
        <a href="https://t.acme.example/u/TOKEN">unsubscribe</a></p></body></html>
        """
        let result = TrackingInstrumenter(links: links).instrumentHTML(html, send: id)
        let hrefs = result.html.matches(of: #/href\s*=\s*["']([^"']*)["']/#.ignoresCase()).map { String($0.output.1) }
        #expect(hrefs.count == 7)
        #expect(signer.verify(hrefs[0].replacingOccurrences(of: "https://t.acme.example/c/", with: "")) == .click(id, url: "https://acme.example/a?x=1&y=2"))
        #expect(signer.verify(hrefs[1].replacingOccurrences(of: "https://t.acme.example/c/", with: "")) == .click(id, url: "http://acme.example/b"))
        #expect(Array(hrefs[2...]) == ["mailto:sales@acme.example", "tel:+331234", "#top", "https://acme.example/video", "https://t.acme.example/u/TOKEN"])
        #expect(!result.html.contains("data-nurture-notrack"))
        #expect(result.untracked == ["https://acme.example/video"])
        #expect(result.html.contains("class=\"btn\""))
        let pixel = try #require(result.html.range(of: "<img src=\"https://t.acme.example/o/"))
        #expect(pixel.lowerBound < result.html.range(of: "</body>")!.lowerBound)
        #expect(result.html.contains("<abbr title=\"x\">abbr</abbr>"))
    }

    @Test("a tracked link keeps its attribute's spelling (no HREF made href: SpamAssassin's MIXED_HREF_CASE)")
    func attributeCaseKept() {
        let html = #"<P><A HREF="https://acme.example/a">A</A> <a"# + "\n" + #"  Href='https://acme.example/b'>B</a> <a href="https://acme.example/c">C</a></P>"#
        let out = TrackingInstrumenter(links: links).instrumentHTML(html, send: id).html
        #expect(out.contains(#"<A HREF="https://t.acme.example/c/"#) && out.contains("<a\n  Href=\"https://t.acme.example/c/") && out.contains(#"<a href="https://t.acme.example/c/"#), "\(out)")
        #expect(!out.contains("acme.example/a\"") && !out.contains("acme.example/b'"), "\(out)")
    }

    @Test("the text part keeps mailto: and tel: targets, once")
    func mailtoAndTel() {
        let html = ##"<p>Write to <a href="mailto:marie@acme.example?subject=Hi">Marie</a> or <a href="mailto:sales@acme.example">sales@acme.example</a>, call <a href="tel:+15551234">us</a> or <a href="#top">go up</a>.</p>"##
        let text = HTMLText.plainText(fromHTML: html).replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        #expect(text == "Write to Marie (marie@acme.example) or sales@acme.example, call us (+15551234) or go up.")
    }

    @Test("HTML without </body> gets the pixel at the end")
    func pixelWithoutBody() {
        let result = TrackingInstrumenter(links: links).instrumentHTML("<p>Hi</p>", send: id)
        #expect(result.html.hasPrefix("<p>Hi</p><img src=\"https://t.acme.example/o/"))
    }

    @Test("URLs in text are tracked, without the sentence's punctuation")
    func textInstrumentation() throws {
        let text = "See https://acme.example/guide. Or (https://acme.example/video), or https://t.acme.example/u/T. Skip https://acme.example/x!"
        let out = TrackingInstrumenter(links: links).instrumentText(text, send: id, untracked: ["https://acme.example/x"])
        let clicks = out.matches(of: #/https://t\.acme\.example/c/([A-Za-z0-9_-]+)/#).map { signer.verify(String($0.output.1)) }
        #expect(clicks == [.click(id, url: "https://acme.example/guide"), .click(id, url: "https://acme.example/video")])
        #expect(out.contains("https://acme.example/guide"  ) == false)
        #expect(out.hasSuffix("https://acme.example/x!"))
        #expect(out.contains("or https://t.acme.example/u/T. Skip"))
    }
}

@Suite("Plain text from HTML")
struct HTMLTextTests {
    @Test("a readable text part: paragraphs, lists, links, entities; no head, styles or hidden preheader")
    func golden() {
        let html = """
        <!DOCTYPE html><html><head><title>T</title><style>p{color:red}</style></head>
        <body><div style="display: none">preheader text</div><!-- a comment -->
        <h1>Hello&nbsp;Ada</h1><p>Fish &amp; chips &#8212; &#x2713; caf&eacute;<br>second line</p>
        <ul><li>One</li><li>Two <a href="https://acme.example/two">details</a></li></ul>
        <p><a href="https://acme.example/">https://acme.example/</a> <a href="mailto:x@y.z">mail us</a></p>
        <img src="x.png" alt="Logo"><table><tr><td>a</td><td>b</td></tr></table></body></html>
        """
        #expect(HTMLText.plainText(fromHTML: html) == """
        Hello Ada

        Fish & chips — ✓ caf&eacute;
        second line

        - One
        - Two details (https://acme.example/two)

        https://acme.example/ mail us (x@y.z)

        Logo

        a b

        """)
    }

    @Test("long lines wrap at spaces; long words stay whole")
    func wrapping() {
        let url = "https://acme.example/" + String(repeating: "x", count: 90)
        let wrapped = HTMLText.wrap("- " + String(repeating: "word ", count: 30) + url, width: 40)
        let lines = wrapped.split(separator: "\n")
        #expect(lines.dropLast().allSatisfy { $0.count <= 40 })
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("  ") })
        #expect(lines.last.map(String.init) == "  " + url)
    }
}

@Suite("Tracking tokens' encodings, as the hot path writes and reads them")
struct TrackingEncodingTests {
    @Test("a send id is 32 lowercase hex digits, as formatting would write them")
    func hex() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let id = try #require(SendID(bytes: bytes))
            #expect(id.description == bytes.map { String(format: "%02x", $0) }.joined())
        }
    }

    @Test("base64url: what is encoded decodes back at every length; a bad character, a lone character or stray bits are refused")
    func base64url() {
        for length in 0..<64 {
            let bytes = (0..<length).map { UInt8(($0 * 37 + length) & 0xFF) }
            let text = Base64URL.encode(bytes)
            #expect(Base64URL.decode(text[...]) == bytes, "length \(length)")
            #expect(Data(base64Encoded: text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + String(repeating: "=", count: (4 - text.count % 4) % 4)).map(Array.init) == bytes)
        }
        #expect(Base64URL.decode("ab+c"[...]) == nil)
        #expect(Base64URL.decode("abcde"[...]) == nil)
        #expect(Base64URL.decode("AA"[...]) == [0])
        #expect(Base64URL.decode("AB"[...]) == nil) // stray bits after the last byte
    }
}
