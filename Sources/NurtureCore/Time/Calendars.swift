import Foundation
import Synchronization

/// Time zones and Gregorian calendars by zone, built once and shared: Foundation's lookups
/// are costly on the scheduler's and the dry-run's hot paths.
enum Calendars {
    private static let zones = Mutex<[String: TimeZone?]>([:])
    private static let calendars = Mutex<[String: Calendar]>([:])

    /// The zone for an IANA identifier, `nil` when unknown.
    static func zone(_ identifier: String) -> TimeZone? {
        if let cached = zones.withLock({ $0[identifier] }) { return cached }
        let zone = TimeZone(identifier: identifier)
        zones.withLock { $0[identifier] = zone }
        return zone
    }

    /// A Gregorian calendar in `zone`.
    static func gregorian(in zone: TimeZone) -> Calendar {
        if let cached = calendars.withLock({ $0[zone.identifier] }) { return cached }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        calendars.withLock { $0[zone.identifier] = calendar }
        return calendar
    }
}
