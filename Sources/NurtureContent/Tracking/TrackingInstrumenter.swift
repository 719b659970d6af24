import NurtureCore

/// Adds tracking to a rendered email: every http(s) link goes through the click endpoint
/// and an open pixel goes before `</body>`.
///
/// A link opts out with the attribute `data-nurture-notrack` (removed from the output).
/// `mailto:`, `tel:`, in-page anchors and links that already point at the tracking
/// server (the unsubscribe URL) are left alone.
public struct TrackingInstrumenter: Sendable {
    public let links: TrackingLinks

    public init(links: TrackingLinks) {
        self.links = links
    }

    /// An instrumented HTML body, and the links the author kept untracked.
    public struct InstrumentedHTML: Sendable {
        public var html: String
        /// Targets of links marked `data-nurture-notrack`: the text part leaves them alone too.
        public var untracked: Set<String>
        /// Targets rewritten for click tracking.
        public var tracked: Set<String> = []
    }

    /// The HTML with links rewritten and the open pixel added (unless `openPixel` is false).
    public func instrumentHTML(_ html: String, send id: SendID, openPixel: Bool = true) -> InstrumentedHTML {
        var untracked: Set<String> = []
        var tracked: Set<String> = []
        // Scanned as UTF-8 bytes: only ASCII is compared, so characters are never split.
        let b = Array(html.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count + 1024)
        var copied = 0
        var i = 0
        while i + 2 < b.count {
            guard b[i] == UInt8(ascii: "<"), b[i + 1] | 0x20 == UInt8(ascii: "a"),
                  b[i + 2] == 0x20 || b[i + 2] == 0x09 || b[i + 2] == 0x0A || b[i + 2] == 0x0D
            else {
                i += 1
                continue
            }
            guard let j = HTMLText.endOfTag(b, from: i) else { break }
            out += b[copied..<i]
            let tag = b[i...j].withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
            out += rewriteAnchor(tag, send: id, untracked: &untracked, tracked: &tracked).utf8
            i = j + 1
            copied = i
        }
        out += b[copied...]
        guard openPixel else { return InstrumentedHTML(html: String(decoding: out, as: UTF8.self), untracked: untracked, tracked: tracked) }
        let pixel = Array("<img src=\"\(links.openURL(id))\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">".utf8)
        if let body = Self.lastBodyClose(out) {
            out.insert(contentsOf: pixel, at: body)
        } else {
            out += pixel
        }
        return InstrumentedHTML(html: String(decoding: out, as: UTF8.self), untracked: untracked, tracked: tracked)
    }

    /// Where the last `</body>` (any case) starts.
    private static func lastBodyClose(_ b: [UInt8]) -> Int? {
        let close = Array("</body>".utf8)
        var i = b.count - close.count
        while i >= 0 {
            var k = 0
            while k < close.count, (k < 2 ? b[i + k] : b[i + k] | 0x20) == close[k] { k += 1 }
            if k == close.count { return i }
            i -= 1
        }
        return nil
    }

    /// The plain text with each bare http(s) URL replaced by its click URL, except `untracked` ones.
    public func instrumentText(_ text: String, send id: SendID, untracked: Set<String> = []) -> String {
        let b = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count + 512)
        var copied = 0
        var from = 0
        while let url = HTMLText.nextURL(in: b, from: from) {
            let target = String(decoding: b[url], as: UTF8.self)
            out += b[copied..<url.lowerBound]
            if links.isOwn(target) || untracked.contains(target) {
                out += b[url]
            } else {
                out += links.clickURL(id, target: target).utf8
            }
            copied = url.upperBound
            from = url.upperBound
        }
        out += b[copied...]
        return String(decoding: out, as: UTF8.self)
    }

    private func rewriteAnchor(_ tag: String, send id: SendID, untracked: inout Set<String>, tracked: inout Set<String>) -> String {
        let attributes = HTMLAttribute.parse(tag[...])
        let href = attributes.first { $0.name == "href" }
        let target = href?.value.map { HTMLText.decodeEntities(String($0)).trimmed() }
        if let optOut = attributes.first(where: { $0.name == "data-nurture-notrack" }) {
            var kept = tag
            kept.removeSubrange(optOut.range)
            if let target { untracked.insert(target) }
            return kept
        }
        guard let href, let target else { return tag }
        let lower = target.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), !links.isOwn(target) else { return tag }
        var rewritten = tag
        tracked.insert(target)
        // The attribute's own spelling and the space before it are kept: changing `HREF` to
        // `href` (mixed case in one message) is itself a spam signal (SpamAssassin MIXED_HREF_CASE).
        let original = tag[href.range]
        let space = original.prefix { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let name = original.dropFirst(space.count).prefix { $0 != "=" && $0 != " " && $0 != "\t" && $0 != "\n" && $0 != "\r" }
        rewritten.replaceSubrange(href.range, with: "\(space)\(name)=\"\(links.clickURL(id, target: target))\"")
        return rewritten
    }
}
