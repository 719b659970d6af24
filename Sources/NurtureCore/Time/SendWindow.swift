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

    /// The first instant at or after `date` inside the window, in `zone` (DST-correct: it
    /// steps through local days with the calendar, never by adding 24 hours).
    public func nextOpening(atOrAfter date: Date, in zone: TimeZone) -> Date {
        let calendar = Calendars.gregorian(in: zone)
        guard !days.isEmpty, start < end else { return date }
        var dayStart = calendar.startOfDay(for: date)
        for _ in 0..<8 {
            let components = calendar.dateComponents([.weekday], from: dayStart)
            if let weekday = components.weekday.flatMap(Weekday.init(calendarWeekday:)), days.contains(weekday) {
                let open = Self.instant(dayStart, minutes: start, calendar: calendar)
                let close = Self.instant(dayStart, minutes: end, calendar: calendar)
                if date < open { return open }
                if date < close { return date }
            }
            dayStart = calendar.date(byAdding: .day, value: 1, to: dayStart)!
        }
        return date
    }

    /// Whether `date` is inside the window in `zone`.
    public func contains(_ date: Date, in zone: TimeZone) -> Bool {
        nextOpening(atOrAfter: date, in: zone) == date
    }

    /// The local time `minutes` after the start of `day` (midnight). In a DST gap, the first valid instant after.
    static func instant(_ day: Date, minutes: Int, calendar: Calendar) -> Date {
        if minutes >= 24 * 60 { return calendar.date(byAdding: .day, value: 1, to: day)! }
        return calendar.nextDate(
            after: day.addingTimeInterval(-1), matching: DateComponents(hour: minutes / 60, minute: minutes % 60),
            matchingPolicy: .nextTime, repeatedTimePolicy: .first, direction: .forward) ?? day
    }

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
