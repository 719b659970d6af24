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
    }

    /// The HTML with links rewritten and the open pixel added.
    public func instrumentHTML(_ html: String, send id: SendID) -> InstrumentedHTML {
        var untracked: Set<String> = []
        var out = ""
        out.reserveCapacity(html.utf8.count + 512)
        var rest = html[...]
        while let open = rest.range(of: "<a", options: .caseInsensitive) {
            let afterName = rest[open.upperBound...]
            guard let next = afterName.first, next == " " || next == "\t" || next == "\n" || next == "\r",
                  let close = HTMLText.endOfTag(afterName)
            else {
                out += rest[..<open.upperBound]
                rest = afterName
                continue
            }
            out += rest[..<open.lowerBound]
            let tag = rest[open.lowerBound...close]
            out += rewriteAnchor(String(tag), send: id, untracked: &untracked)
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        let pixel = "<img src=\"\(links.openURL(id))\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">"
        if let body = out.range(of: "</body>", options: [.caseInsensitive, .backwards]) {
            out.insert(contentsOf: pixel, at: body.lowerBound)
        } else {
            out += pixel
        }
        return InstrumentedHTML(html: out, untracked: untracked)
    }

    /// The plain text with each bare http(s) URL replaced by its click URL, except `untracked` ones.
    public func instrumentText(_ text: String, send id: SendID, untracked: Set<String> = []) -> String {
        var out = ""
        var rest = text[...]
        while let start = HTMLText.nextURL(in: rest) {
            out += rest[..<start.lowerBound]
            let url = String(rest[start])
            out += links.isOwn(url) || untracked.contains(url) ? url : links.clickURL(id, target: url)
            rest = rest[start.upperBound...]
        }
        return out + rest
    }

    private func rewriteAnchor(_ tag: String, send id: SendID, untracked: inout Set<String>) -> String {
        let attributes = HTMLAttribute.parse(tag[...])
        let href = attributes.first { $0.name == "href" }
        let target = href?.value.map { HTMLText.decodeEntities(String($0)).trimmingCharacters(in: .whitespaces) }
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
        rewritten.replaceSubrange(href.range, with: " href=\"\(links.clickURL(id, target: target))\"")
        return rewritten
    }
}
