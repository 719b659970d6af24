import NurtureCore
import Yams

/// Reads `scoring.yaml`: engagement rules, fit rules, decay.
extension YAMLDocument {
    func scoringFile(_ root: Node) -> ScoringModel? {
        guard let map = mapping(root, "scoring.yaml") else { return nil }
        map.rejectUnknownKeys(["events", "engagement", "fit", "decay"])
        var model = ScoringModel()
        for item in map.list("events") ?? [] {
            guard let name = string(item, "events") else { continue }
            if !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == ".") }) {
                if Event.Kind.builtIn.contains(name) {
                    warning(item, "events: '\(name)' is built in: no need to declare it")
                } else if model.customEvents.contains(name) {
                    error(item, "events: '\(name)' is declared twice")
                } else {
                    model.customEvents.append(name)
                }
            } else {
                error(item, "events: '\(name.prefix(64))' is not an event name: expected letters, digits, '_', '-' or '.', e.g. webinar_attended")
            }
        }
        for item in map.list("engagement") ?? [] {
            guard let r = mapping(item, "engagement rule") else { continue }
            r.rejectUnknownKeys(["id", "event", "where", "points", "once", "max_per_lead", "decays"])
            guard let filter = eventFilter(r, what: "engagement rule"), let points = r.int("points", required: true) else { continue }
            let cap = r.int("max_per_lead")
            if let cap, cap <= 0 { error(r.value("max_per_lead")!, "engagement rule 'max_per_lead' must be positive") }
            if points == 0 { warning(r.value("points")!, "engagement rule gives 0 points") }
            model.engagement.append(EngagementRule(
                id: r.string("id"), filter: filter, points: points, once: r.bool("once") ?? false,
                maxPerLead: cap, decays: r.bool("decays"), location: location(item)))
        }
        for item in map.list("fit") ?? [] {
            guard let r = mapping(item, "fit rule") else { continue }
            r.rejectUnknownKeys(["id", "field", "points"] + Self.testKeys)
            guard let field = r.string("field", required: true), let points = r.int("points", required: true),
                  let test = fieldTest(in: r, what: "fit rule on '\(field)'") else { continue }
            model.fit.append(FitRule(id: r.string("id"), field: field, test: test, points: points, location: location(item)))
        }
        if let d = map.mapping("decay") {
            d.rejectUnknownKeys(["half_life", "inactivity"])
            if let half = d.span("half_life") {
                model.decay = .halfLife(half)
            }
            if let i = d.mapping("inactivity") {
                i.rejectUnknownKeys(["points", "every", "after"])
                if model.decay != nil { error(d.node, "decay: choose half_life or inactivity, not both") }
                if let points = i.int("points", required: true), let every = i.span("every", required: true) {
                    if points <= 0 { error(i.value("points")!, "decay inactivity 'points' must be positive (points lost per period)") }
                    model.decay = .inactivity(points: points, every: every, grace: i.span("after") ?? TimeSpan(seconds: 0))
                }
            }
            if !d.has("half_life"), !d.has("inactivity") { error(d.node, "decay: expected half_life or inactivity") }
        }
        return model
    }
}
