import Mustache
import NurtureCore

/// A custom header's value (`headers:` in nurture.yaml or a sequence), which may name the
/// send it goes with: `Feedback-ID: "{{sequence}}:{{step}}:nurture:acme"`.
package enum HeaderTemplate {
    /// What a value may use.
    package static let placeholders = ["sequence", "step", "template", "stage"]

    /// Why `value` cannot be used as a header template, or `nil`.
    package static func problem(_ value: String) -> String? {
        var rest = Substring(value)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { return "a {{ is not closed with }}" }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard placeholders.contains(name) else {
                return "unknown placeholder {{\(name.prefix(40))}}: a header can use \(placeholders.map { "{{\($0)}}" }.joined(separator: ", "))"
            }
            rest = rest[close.upperBound...]
        }
        do {
            _ = try MustacheTemplate(string: value)
        } catch {
            return "not a valid template: \(error)"
        }
        return nil
    }

    /// `headers` with their placeholders filled in for one send (values checked by ``problem(_:)``
    /// at load; one that fails here is left out rather than sent half made).
    package static func render(_ headers: [MessageHeader], sequence: String, step: String, template: String, stage: String) -> [MessageHeader] {
        let context = ["sequence": sequence, "step": step, "template": template, "stage": stage]
        return headers.compactMap { header in
            guard header.value.contains("{{") else { return header }
            guard let rendered = try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + header.value).render(context) else { return nil }
            return MessageHeader(header.name, rendered)
        }
    }

    /// `base` with `overrides` replacing the fields of the same name (any case), then added.
    package static func merge(_ base: [MessageHeader], _ overrides: [MessageHeader]) -> [MessageHeader] {
        let replaced = Set(overrides.map { $0.name.lowercased() })
        return base.filter { !replaced.contains($0.name.lowercased()) } + overrides
    }
}
