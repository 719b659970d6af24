import Foundation
import NurtureCore

/// What receivers and the law want of every marketing email, checked on each template as a
/// warning (the template still sends): a visible unsubscribe link (Gmail and Yahoo, besides
/// the `List-Unsubscribe` header Nurture adds), the sender's postal address (CAN-SPAM), and
/// alt text on images (image-blocking clients and screen readers show nothing else).
enum TemplateLint {
    /// Stands for the unsubscribe URL while a template is rendered for the check.
    static let unsubscribeMarker = "https://unsubscribe.nurture.invalid/check"

    /// The warnings for `library`, whose files (`name → (file, text)`) were read as `sources`.
    static func warnings(_ library: TemplateLibrary, sources: [String: (file: String, text: String)]) -> [TemplateError] {
        var warnings: [TemplateError] = []
        // Images, where they are written: in a template, a layout or a partial.
        for source in sources.values.sorted(by: { $0.file < $1.file }) where source.file.hasSuffix("html.mustache") {
            for (line, column) in imagesWithoutAlt(source.text) {
                warnings.append(TemplateError(file: source.file, line: line, column: column, message: "an image without alt text: image-blocking mail clients and screen readers show nothing in its place (alt=\"\" marks a decorative one)"))
            }
        }
        // A section on a field that has a default: leads without the field get the default,
        // so {{#company}} always shows (and {{^company}} never does).
        for source in sources.values.sorted(by: { $0.file < $1.file }) {
            for section in MustacheScan(source.text).sections {
                guard let value = library.defaults[section.name], !value.trimmingCharacters(in: .whitespaces).isEmpty, section.name != "postal_address" else { continue }
                let tag = "{{\(section.inverted ? "^" : "#")\(section.name)}}"
                warnings.append(TemplateError(file: source.file, line: section.line, column: section.column, message: "\(tag) is always \(section.inverted ? "false" : "true"): defaults.yaml gives \(section.name) a default ('\(value.prefix(40))'), so leads without one get it too; remove that default, or write the text so it reads well with it"))
            }
        }
        let postal = library.defaults["postal_address"].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        if postal == nil {
            warnings.append(TemplateError(file: "defaults.yaml", message: "no postal_address: marketing email must show the sender's postal address (CAN-SPAM); set postal_address here and show {{postal_address}} in the footer"))
        }
        // Each template as a lead with no fields gets it.
        let context = EmailRenderer.context(for: Lead(id: "0", email: "lint@example.invalid"), defaults: library.defaults, unsubscribeURL: unsubscribeMarker)
        for name in library.names {
            let html = library.render(name, part: "html", context: context) ?? ""
            if !html.contains(unsubscribeMarker) {
                warnings.append(TemplateError(file: "\(name)/html.mustache", message: "no unsubscribe link: show {{unsubscribe_url}} in the body (the shipped footer partial does); Gmail and Yahoo want one besides the List-Unsubscribe header"))
            }
            if library.hasText(name), !(library.render(name, part: "text", context: context) ?? "").contains(unsubscribeMarker) {
                warnings.append(TemplateError(file: "\(name)/text.mustache", message: "no unsubscribe link: show {{unsubscribe_url}} (the shipped text footer partial does)"))
            }
            if let postal, !html.contains(postal), !escapeHTML(postal).contains(where: { html.contains($0) }) {
                warnings.append(TemplateError(file: "\(name)/html.mustache", message: "the postal address is not shown: add {{postal_address}} (the shipped footer partial has it)"))
            }
        }
        return warnings
    }

    /// Where each `<img>` tag without an `alt` attribute starts (line and column, from 1).
    /// Scanned by Unicode scalars: "\r\n" is one Character, and `<img` may end a line.
    static func imagesWithoutAlt(_ text: String) -> [(line: Int, column: Int)] {
        var found: [(Int, Int)] = []
        let scalars = Array(text.unicodeScalars)
        var line = 1, column = 1
        for (i, scalar) in scalars.enumerated() {
            if scalar == "<", i + 4 <= scalars.count,
               String(String.UnicodeScalarView(scalars[i..<i + 4])).lowercased() == "<img",
               i + 4 == scalars.count || [" ", "\t", "\n", "\r", "/", ">"].contains(scalars[i + 4]) {
                let end = scalars[i...].firstIndex(of: ">").map { $0 + 1 } ?? scalars.count
                let tag = String(String.UnicodeScalarView(scalars[i..<end]))
                if !HTMLAttribute.parse(tag[...]).contains(where: { $0.name == "alt" }) { found.append((line, column)) }
            }
            if scalar == "\n" {
                line += 1
                column = 1
            } else if scalar != "\r" {
                column += 1
            }
        }
        return found
    }

    /// `text` as HTML escaping may write it (apostrophes as `&#39;` or `&#x27;`).
    private static func escapeHTML(_ text: String) -> [String] {
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        return [escaped, escaped.replacingOccurrences(of: "'", with: "&#39;"), escaped.replacingOccurrences(of: "'", with: "&#x27;")]
    }
}
