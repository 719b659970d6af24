import Foundation

/// How a page lays out at a given width, measured by headless Chromium: each page is loaded
/// in an iframe of exactly that width (a headless window is never narrower than 500 px), and
/// a script reads the layout from inside it.
public struct PageMeasure: Sendable, Equatable {
    /// The frame's width, and how wide the page's content is (wider: a sideways scroll).
    public var viewport: Int
    public var scrollWidth: Int
    /// Where the right edge of the first element matching the `edges` selectors is (or nil).
    public var rightEdges: [String: Int?]
    /// Elements that stick out past the right edge, as `TAG.class:right`, the first ten.
    public var overflowing: [String]

    /// Measures each of `files` (HTML files in one folder) in a frame `width` wide.
    public static func measure(_ files: [URL], width: Int, edges: [String], browser: HeadlessBrowser) throws -> [String: PageMeasure] {
        guard let folder = files.first?.deletingLastPathComponent() else { return [:] }
        let page = folder.appendingPathComponent("measure-\(UUID()).html")
        let frames = files.map { file in
            #"<iframe data-name="\#(file.lastPathComponent)" src="\#(file.lastPathComponent)" onload="measured(this)" style="width:\#(width)px;height:2400px;border:0;display:block"></iframe>"#
        }.joined(separator: "\n")
        let selectors = String(decoding: try JSONSerialization.data(withJSONObject: edges), as: UTF8.self)
        // The script comes first: a small local frame can finish loading before a script
        // after it would run.
        try """
        <!DOCTYPE html><html><head><script>
        const results = {};
        let pending = \(files.count);
        function measured(frame) {
          const d = frame.contentDocument, w = frame.contentWindow, edges = {};
          for (const selector of \(selectors)) {
            const element = d.querySelector(selector);
            edges[selector] = element ? Math.round(element.getBoundingClientRect().right) : null;
          }
          const overflowing = [...d.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w.innerWidth + 0.5)
            .map(e => e.tagName + '.' + (typeof e.className === 'string' ? e.className : '') + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 10);
          results[frame.dataset.name] = {viewport: w.innerWidth, scrollWidth: d.documentElement.scrollWidth, rightEdges: edges, overflowing: overflowing};
          if (--pending === 0) document.body.setAttribute('data-results', JSON.stringify(results));
        }
        </script></head><body style="margin:0">
        \(frames)
        </body></html>
        """.write(to: page, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: page) }
        let dom = try browser.dom(page.absoluteString, extra: ["--allow-file-access-from-files", "--virtual-time-budget=10000"])
        guard let attribute = dom.components(separatedBy: #"data-results=""#).dropFirst().first?.components(separatedBy: "\"").first else {
            throw BrowserError(message: "the measuring page did not finish: \(dom.prefix(300))")
        }
        let json = attribute.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: [String: Any]] else {
            throw BrowserError(message: "unreadable measurements: \(json.prefix(300))")
        }
        return object.mapValues { value in
            PageMeasure(
                viewport: value["viewport"] as? Int ?? -1, scrollWidth: value["scrollWidth"] as? Int ?? -1,
                rightEdges: (value["rightEdges"] as? [String: Any] ?? [:]).mapValues { $0 as? Int },
                overflowing: value["overflowing"] as? [String] ?? [])
        }
    }
}
