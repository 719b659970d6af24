import Foundation

/// When email may go out, in the lead's local time: some weekdays, between two times.
public struct SendWindow: Sendable, Equatable, CustomStringConvertible {
    public var days: Set<Weekday>
    /// Minutes after local midnight; `start < end`.
    public var start: Int
    public var end: Int

    public init(days: Set<Weekday>, start: Int, end: Int) {
        self.days = days
        self.start = start
        self.end = end
    }

    /// Every day, all day.
    public static let always = SendWindow(days: Set(Weekday.allCases), start: 0, end: 24 * 60)

    /// The first instant at or after `date` inside the window, in `zone`. DST-correct: local
    /// days are stepped through as wall-clock dates, and each opening is placed with the
    /// zone's offset at that moment (a time that does not exist opens at the first valid one).
    public func nextOpening(atOrAfter date: Date, in zone: TimeZone) -> Date {
        guard !days.isEmpty, start < end else { return date }
        let t = Int64(date.timeIntervalSince1970.rounded(.down))
        let local = t + Int64(zone.secondsFromGMT(for: date))
        var day = Self.floorDiv(local, 86_400)
        for _ in 0..<8 {
            if days.contains(Self.weekday(ofDay: day)) {
                let open = Self.instant(localSeconds: day * 86_400 + Int64(start) * 60, in: zone)
                let close = Self.instant(localSeconds: day * 86_400 + Int64(end) * 60, in: zone)
                if date < open { return open }
                if date < close { return date }
            }
            day += 1
        }
        return date
    }

    /// Whether `date` is inside the window in `zone`.
    public func contains(_ date: Date, in zone: TimeZone) -> Bool {
        nextOpening(atOrAfter: date, in: zone) == date
    }

    /// The instant a wall-clock time (seconds since 1970-01-01 00:00 local) names in `zone`:
    /// the earlier one in a DST overlap, the end of the gap for a time that does not exist.
    static func instant(localSeconds: Int64, in zone: TimeZone) -> Date {
        func offset(_ seconds: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))) }
        let before = offset(localSeconds - 43_200), after = offset(localSeconds + 43_200)
        let candidates = Set([localSeconds - before, localSeconds - after]).filter { $0 + offset($0) == localSeconds }
        if let earliest = candidates.min() { return Date(timeIntervalSince1970: TimeInterval(earliest)) }
        // In a gap (clocks jumped forward): the first valid instant is the transition.
        let guess = Date(timeIntervalSince1970: TimeInterval(localSeconds - max(before, after)))
        return zone.nextDaylightSavingTimeTransition(after: guess.addingTimeInterval(-86_400)) ?? guess
    }

    /// The local time `minutes` after the start of `day` (a local midnight instant).
    static func instant(_ day: Date, minutes: Int, calendar: Calendar) -> Date {
        let zone = calendar.timeZone
        let local = Int64(day.timeIntervalSince1970.rounded(.down)) + Int64(zone.secondsFromGMT(for: day))
        return instant(localSeconds: floorDiv(local, 86_400) * 86_400 + Int64(minutes) * 60, in: zone)
    }

    /// 1970-01-01 was a Thursday.
    static func weekday(ofDay day: Int64) -> Weekday {
        let all: [Weekday] = [.thu, .fri, .sat, .sun, .mon, .tue, .wed]
        return all[Int(((day % 7) + 7) % 7)]
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }

    public var description: String {
        let names = Weekday.allCases.filter(days.contains).map(\.rawValue).joined(separator: ",")
        return "\(names) \(String(format: "%02d:%02d", start / 60, start % 60))-\(String(format: "%02d:%02d", end / 60, end % 60))"
    }
}

/// At most `max` marketing emails per `per`, across all sequences.
public struct FrequencyCap: Sendable, Equatable, CustomStringConvertible {
    public var max: Int
    public var per: TimeSpan

    public init(max: Int, per: TimeSpan) {
        self.max = max
        self.per = per
    }

    public var description: String { "\(max) per \(per)" }
}
