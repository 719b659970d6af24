import Foundation

/// A length of time written the way marketers write it: `30m`, `36h`, `2d`, `1w`, `2d3h`.
public struct TimeSpan: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var seconds: Int

    public init(seconds: Int) { self.seconds = seconds }
    public static func minutes(_ n: Int) -> TimeSpan { TimeSpan(seconds: n * 60) }
    public static func hours(_ n: Int) -> TimeSpan { TimeSpan(seconds: n * 3600) }
    public static func days(_ n: Int) -> TimeSpan { TimeSpan(seconds: n * 86_400) }

    /// Parses `<number><unit>` groups, units `s`, `m`, `h`, `d`, `w`; e.g. `2d3h`.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty else { return nil }
        var total = 0
        var number = ""
        for c in trimmed {
            if c.isASCII, c.isNumber {
                number.append(c)
                continue
            }
            let unit: Int
            switch c {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            case "w": unit = 604_800
            default: return nil
            }
            guard let n = Int(number), n <= 100_000 else { return nil }
            total += n * unit
            number = ""
        }
        guard number.isEmpty, total > 0 else { return nil }
        seconds = total
    }

    public var timeInterval: TimeInterval { TimeInterval(seconds) }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.seconds < b.seconds }

    /// The shortest exact form: `2d3h`, `90m` → `1h30m`.
    public var description: String {
        var rest = seconds
        var out = ""
        for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            if unit == "w" && rest % size != 0 { continue } // 30d, not 4w2d
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out.isEmpty ? "0s" : out
    }
}

extension Date {
    public static func + (date: Date, span: TimeSpan) -> Date { date.addingTimeInterval(span.timeInterval) }
    public static func - (date: Date, span: TimeSpan) -> Date { date.addingTimeInterval(-span.timeInterval) }
}
