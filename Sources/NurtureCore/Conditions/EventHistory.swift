import Foundation

/// What a lead did, as event conditions need it: for each event filter some condition names,
/// the times of its latest matching events (people's only), as many as the largest count asked.
/// Kept in ``LeadState/eventLog``, by the filter's description.
public struct EventHistory: Sendable {
    public let log: [String: [Date]]
    public let now: Date

    public init(log: [String: [Date]], now: Date) {
        self.log = log
        self.now = now
    }

    /// Matching events, within `within` before now if given.
    public func count(_ filter: EventFilter, within: TimeSpan?) -> Int {
        guard let times = log[filter.description] else { return 0 }
        guard let within else { return times.count }
        let since = now - within
        return times.filter { $0 >= since && $0 <= now }.count
    }

    /// Records `event` under each of `filters` it matches (filter, key, how many to keep).
    public static func record(_ event: Event, filters: [(filter: EventFilter, key: String, keep: Int)], in log: inout [String: [Date]]?) {
        guard !event.isMachine else { return }
        for (filter, key, keep) in filters where filter.matches(event) {
            var times = log?[key] ?? []
            times.append(event.at)
            times.sort()
            if times.count > keep { times.removeFirst(times.count - keep) }
            if log == nil { log = [:] }
            log?[key] = times
        }
    }
}
