import Foundation

/// A wall-clock date and time without a zone (`2026-12-01 09:00`), placed in a zone when used.
public struct LocalDateTime: Hashable, Sendable, CustomStringConvertible {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM`.
    public init?(parsing text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(whereSeparator: { $0 == " " || $0 == "T" })
        guard (1...2).contains(parts.count) else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        guard date.count == 3, (1...12).contains(date[1]), (1...31).contains(date[2]) else { return nil }
        var hour = 0, minute = 0
        if parts.count == 2 {
            let time = parts[1].split(separator: ":").compactMap { Int($0) }
            guard time.count == 2, (0...23).contains(time[0]), (0...59).contains(time[1]) else { return nil }
            (hour, minute) = (time[0], time[1])
        }
        self.init(year: date[0], month: date[1], day: date[2], hour: hour, minute: minute)
    }

    /// The instant this wall-clock time names in `zone`. In a DST gap (a time that does not
    /// exist) it is the first valid instant after; in an overlap, the earlier one.
    public func instant(in zone: TimeZone) -> Date {
        let calendar = Calendars.gregorian(in: zone)
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute)
        return calendar.nextDate(
            after: calendar.date(from: DateComponents(year: year, month: month, day: day))!.addingTimeInterval(-1),
            matching: DateComponents(hour: hour, minute: minute), matchingPolicy: .nextTime,
            repeatedTimePolicy: .first, direction: .forward
        ) ?? calendar.date(from: components)!
    }

    public var description: String { String(format: "%04d-%02d-%02d %02d:%02d", year, month, day, hour, minute) }
}

/// Days of the week, as written in workflow files.
public enum Weekday: String, Sendable, CaseIterable, Hashable {
    case mon, tue, wed, thu, fri, sat, sun

    /// Foundation's weekday number (Sunday = 1).
    public var calendarWeekday: Int {
        switch self {
        case .sun: 1
        case .mon: 2
        case .tue: 3
        case .wed: 4
        case .thu: 5
        case .fri: 6
        case .sat: 7
        }
    }

    public init?(calendarWeekday: Int) {
        guard let day = Weekday.allCases.first(where: { $0.calendarWeekday == calendarWeekday }) else { return nil }
        self = day
    }
}
