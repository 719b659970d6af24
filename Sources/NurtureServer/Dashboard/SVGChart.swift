import Foundation

/// Small pure builders of inline SVG charts for server-rendered pages. Each returns one `<svg>`
/// element with a `viewBox` (it scales to its container), `role="img"`, an `aria-label` and a
/// `<title>`; every text put in is escaped; empty or all-zero data never divides by zero; the
/// same input always gives the same output.
enum SVGChart {
    /// Eight colours told apart with common colour-vision deficiencies, with contrast on white.
    static let palette = ["#3b5bdb", "#e8590c", "#2b8a3e", "#c2255c", "#0c8599", "#7048e8", "#946800", "#495057"]

    /// `text` escaped for HTML and SVG, in text and in quoted attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// One bar per item, its label above and its `text` after it; the longest bar is the largest
    /// `value`.
    static func horizontalBars(_ items: [(label: String, value: Double, text: String)], title: String, width: Double = 360) -> String {
        let rowHeight = 40.0, full = width - 70
        let top = scale(items.map { $0.value })
        var body: [String] = []
        for (i, item) in items.enumerated() {
            let y = Double(i) * rowHeight
            let bar = length(item.value, of: top, full)
            body.append(text(clip(item.label, 46), x: 0, y: y + 14))
            body.append(rect(x: 0, y: y + 20, width: bar, height: 14, fill: color(0), tip: item.label + ": " + item.text))
            body.append(text(item.text, x: bar + 6, y: y + 32, size: 13))
        }
        return svg("bars", width: width, height: max(1, Double(items.count)) * rowHeight, title: title, body)
    }

    /// For each item a group of bars, one per series (coloured as in the legend above), the
    /// group's label above it and each bar's text after it; one scale for all the bars.
    static func groupedBars(_ items: [(label: String, values: [Double], texts: [String])], series: [String], title: String, width: Double = 360) -> String {
        let full = width - 70
        let (legendSVG, legendHeight) = legend(series, width: width)
        let groupHeight = 28 + Double(series.count) * 16
        let top = scale(items.flatMap { $0.values })
        var body = [legendSVG]
        for (i, item) in items.enumerated() {
            let y = legendHeight + 8 + Double(i) * groupHeight
            body.append(text(clip(item.label, 46), x: 0, y: y + 14))
            for (s, name) in series.enumerated() {
                let value = s < item.values.count ? item.values[s] : 0
                let label = s < item.texts.count ? item.texts[s] : ""
                let bar = length(value, of: top, full)
                let barY = y + 20 + Double(s) * 16
                body.append(rect(x: 0, y: barY, width: bar, height: 12, fill: color(s), tip: item.label + " · " + name + ": " + label))
                body.append(text(label, x: bar + 6, y: barY + 11, size: 12))
            }
        }
        return svg("bars", width: width, height: legendHeight + 8 + max(1, Double(items.count)) * groupHeight, title: title, body)
    }

    /// One column per entry, its values stacked bottom-up in `series` order (coloured as in the
    /// legend above); an x label every few columns so that none overlap, and a y axis at 0, half
    /// and the tallest column's total.
    static func stackedColumns(_ columns: [(label: String, values: [Double])], series: [String], title: String, width: Double = 720) -> String {
        let left = 44.0, right = 8.0, plotHeight = 220.0
        let (legendSVG, legendHeight) = legend(series, width: width)
        let bottom = legendHeight + 12 + plotHeight, plotWidth = width - left - right
        let top = scale(columns.map { column in column.values.filter { $0.isFinite && $0 > 0 }.reduce(0, +) })
        var body = [legendSVG]
        for fraction in [0.0, 0.5, 1.0] {
            let y = bottom - fraction * plotHeight
            body.append("<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(width - right))\" y2=\"\(n(y))\" stroke=\"#d9dee3\"/>")
            body.append(text(tick(top * fraction), x: left - 6, y: y + 4, size: 12, anchor: "end"))
        }
        let slot = plotWidth / Double(max(1, columns.count))
        let barWidth = min(48, max(1, slot * 0.7))
        let every = max(1, Int((Double(columns.count) * 48 / plotWidth).rounded(.up)))
        for (i, column) in columns.enumerated() {
            let x = left + Double(i) * slot + (slot - barWidth) / 2
            var stacked = 0.0
            for (s, value) in column.values.enumerated() where value.isFinite && value > 0 {
                let height = value / top * plotHeight
                stacked += height
                let name = s < series.count ? series[s] : ""
                body.append(rect(x: x, y: bottom - stacked, width: barWidth, height: height, fill: color(s), tip: column.label + " · " + name + ": " + tick(value)))
            }
            if i % every == 0 {
                body.append(text(column.label, x: x + barWidth / 2, y: bottom + 16, size: 12, anchor: "middle"))
            }
        }
        return svg("columns", width: width, height: bottom + 24, title: title, body)
    }

    // MARK: - Parts

    private static func svg(_ kind: String, width: Double, height: Double, title: String, _ body: [String]) -> String {
        let label = escape(title)
        return "<svg class=\"chart \(kind)\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" aria-label=\"\(label)\"><title>\(label)</title>"
            + body.joined() + "</svg>"
    }

    private static func text(_ content: String, x: Double, y: Double, size: Int = 14, anchor: String = "start") -> String {
        "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" fill=\"#1f2933\">\(escape(content))</text>"
    }

    private static func rect(x: Double, y: Double, width: Double, height: Double, fill: String, tip: String? = nil) -> String {
        let head = "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"\(fill)\""
        guard let tip else { return head + "/>" }
        return head + "><title>\(escape(tip))</title></rect>"
    }

    /// Swatches and names, wrapped into rows `width` wide: the SVG and its height.
    private static func legend(_ names: [String], width: Double) -> (svg: String, height: Double) {
        var parts: [String] = []
        var x = 0.0, row = 0.0
        for (i, name) in names.enumerated() {
            let label = clip(name, 30)
            let itemWidth = 24 + Double(label.count) * 7.5
            if x > 0, x + itemWidth > width {
                x = 0
                row += 1
            }
            parts.append(rect(x: x, y: row * 20 + 3, width: 12, height: 12, fill: color(i)))
            parts.append(text(label, x: x + 16, y: row * 20 + 14, size: 12))
            x += itemWidth + 8
        }
        return (parts.joined(), names.isEmpty ? 0 : (row + 1) * 20)
    }

    private static func color(_ index: Int) -> String { palette[index % palette.count] }

    /// The largest finite value, or 1 when there is none above 0 (so that nothing divides by 0).
    private static func scale(_ values: [Double]) -> Double {
        let top = values.filter(\.isFinite).max() ?? 0
        return top > 0 ? top : 1
    }

    private static func length(_ value: Double, of top: Double, _ full: Double) -> Double {
        value.isFinite && value > 0 ? min(value / top, 1) * full : 0
    }

    private static func clip(_ text: String, _ limit: Int) -> String {
        text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
    }

    private static func n(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func tick(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.1f", value)
    }
}
