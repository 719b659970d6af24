import Foundation
import NurtureCore

/// Reports as JSON, the same from the CLI and the API: snake_case keys, ISO 8601 times,
/// sorted keys.
public enum ReportJSON {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Everything `nurture report` shows at once: the funnel (its `stages`, `changes`,
    /// `conversions`, `recycled`, `daily`), the `steps` and the `suppressions`.
    public struct Summary: Encodable {
        public var funnel: FunnelReport
        public var steps: StepsReport
        public var suppressions: SuppressionCounts

        public init(funnel: FunnelReport, steps: StepsReport, suppressions: SuppressionCounts) {
            self.funnel = funnel
            self.steps = steps
            self.suppressions = suppressions
        }

        enum Keys: String, CodingKey { case since, until, stages, changes, conversions, recycled, daily, steps, suppressions }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(funnel.since, forKey: .since)
            try container.encode(funnel.until, forKey: .until)
            try container.encode(funnel.stages, forKey: .stages)
            try container.encode(funnel.changes, forKey: .changes)
            try container.encode(funnel.conversions, forKey: .conversions)
            try container.encode(funnel.recycled, forKey: .recycled)
            try container.encode(funnel.daily, forKey: .daily)
            try container.encode(steps.steps, forKey: .steps)
            try container.encode(suppressions, forKey: .suppressions)
        }
    }
}
