import Foundation
import NurtureCore
import Yams

/// Reads `funnel.yaml`: shared settings, stages with entry criteria, recycle rules.
extension YAMLDocument {
    func funnelFile(_ root: Node) -> (Funnel, Workflow.Settings)? {
        guard let map = mapping(root, "funnel.yaml") else { return nil }
        map.rejectUnknownKeys(["settings", "stages", "recycle"])
        var settings = Workflow.Settings()
        if let s = map.mapping("settings") {
            s.rejectUnknownKeys(["default_time_zone", "send_window", "frequency_cap"])
            if let zone = s.string("default_time_zone") {
                if TimeZone(identifier: zone) == nil {
                    error(s.value("default_time_zone")!, "'\(zone)' is not an IANA time zone (e.g. Europe/Paris, America/New_York)")
                }
                settings.defaultTimeZone = zone
            }
            if let node = s.value("send_window") { settings.sendWindow = sendWindow(node, what: "settings 'send_window'") }
            if let cap = s.mapping("frequency_cap") {
                cap.rejectUnknownKeys(["max", "per"])
                if let max = cap.int("max", required: true), let per = cap.span("per", required: true) {
                    if max < 1 { error(cap.value("max")!, "frequency_cap 'max' must be at least 1") }
                    settings.frequencyCap = FrequencyCap(max: max, per: per)
                }
            }
        }
        var stages: [Stage] = []
        if let items = map.list("stages", required: true) {
            if items.isEmpty { error(map.value("stages")!, "the funnel needs at least one stage") }
            for item in items {
                guard let s = mapping(item, "stage") else { continue }
                s.rejectUnknownKeys(["name", "description", "entry", "manual"])
                guard let name = s.string("name", required: true) else { continue }
                var stage = Stage(name: name, description: s.string("description"), manual: s.bool("manual") ?? false, location: location(item))
                if let entryNode = s.value("entry") { stage.entry = entryCriteria(entryNode, stage: name) }
                if stage.manual, stage.entry != nil {
                    error(s.value("entry")!, "stage '\(name)' is manual: it cannot also have entry criteria")
                }
                stages.append(stage)
            }
        }
        var rules: [RecycleRule] = []
        for item in map.list("recycle") ?? [] {
            guard let r = mapping(item, "recycle rule") else { continue }
            r.rejectUnknownKeys(["from", "to", "after_inactive", "when_score_below", "tag"])
            guard let from = r.string("from", required: true), let to = r.string("to", required: true),
                  let after = r.span("after_inactive", required: true) else { continue }
            rules.append(RecycleRule(from: from, to: to, afterInactive: after, whenScoreBelow: r.int("when_score_below"), tag: r.string("tag"), location: location(item)))
        }
        return (Funnel(stages: stages, recycleRules: rules), settings)
    }

    private func entryCriteria(_ node: Node, stage: String) -> EntryCriteria? {
        guard let e = mapping(node, "stage '\(stage)' entry") else { return nil }
        e.rejectUnknownKeys(["score_at_least", "fit_at_least", "engagement_at_least", "requires_any", "when"])
        var criteria = EntryCriteria(
            scoreAtLeast: e.int("score_at_least"), fitAtLeast: e.int("fit_at_least"),
            engagementAtLeast: e.int("engagement_at_least"), location: location(node))
        for item in e.list("requires_any") ?? [] {
            guard let f = mapping(item, "stage '\(stage)' requires_any") else { continue }
            f.rejectUnknownKeys(["event", "where"])
            if let filter = eventFilter(f, what: "stage '\(stage)' requires_any") { criteria.requiresAny.append(filter) }
        }
        if let when = e.value("when") { criteria.condition = condition(when, what: "stage '\(stage)' entry 'when'") }
        if criteria.scoreAtLeast == nil, criteria.fitAtLeast == nil, criteria.engagementAtLeast == nil, criteria.requiresAny.isEmpty, criteria.condition == nil {
            error(node, "stage '\(stage)' entry: no criteria (score_at_least, fit_at_least, engagement_at_least, requires_any or when)")
        }
        return criteria
    }
}
