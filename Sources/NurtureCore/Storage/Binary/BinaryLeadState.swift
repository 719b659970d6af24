import Foundation

/// The binary layout of a ``LeadState`` (``LeadStateFormat/binary``, state version 2).
///
/// Two header bytes (`N`, layout 1), the state's record as one block, then a CRC-32C of all
/// that: a state cut short or with a damaged byte is an error, never misread. A record is a run of fields,
/// each a tag (its number and ``BinaryWire`` type) and its value; a field with no value (a
/// `nil` optional) is left out. Nested records and collections are blocks with a 4-byte
/// length, so a reader skips what it does not know.
///
/// **Changing it.** Like the JSON before it: a new field takes a new number and reads as
/// absent (`nil`, empty or its default) in states written before it; an older Nurture skips
/// it (and, like JSON's unknown keys, drops it when it writes the state again). Never reuse a
/// number, change a field's type or stop writing a required one — give it a new number
/// instead; a change an older reader must not skip bumps the state version
/// (``LeadStateFormat``). A field may appear once per record. Every field is covered by the
/// round-trip test of a state with every value set (`BinaryLeadStateTests`).
enum BinaryLeadState {
    static let magic: UInt8 = 0x4E // "N"
    static let layout: UInt8 = 1

    static func encode(_ state: LeadState) -> [UInt8] {
        var writer = BinaryWriter(capacity: 768)
        writer.raw(magic)
        writer.raw(layout)
        writer.block { state.write(to: &$0) }
        writer.fixed32(CRC32C.checksum(writer.bytes[...]))
        return writer.bytes
    }

    /// A reader positioned on the state's record, after checking the header and the checksum.
    static func reader(_ bytes: [UInt8]) throws(BinaryStateError) -> BinaryReader {
        guard bytes.count >= 10 else { throw BinaryStateError(detail: "\(bytes.count) bytes: too short for a binary lead state") }
        let body = bytes.count - 4
        let stored = UInt32(bytes[body]) | UInt32(bytes[body + 1]) << 8 | UInt32(bytes[body + 2]) << 16 | UInt32(bytes[body + 3]) << 24
        guard CRC32C.checksum(bytes[..<body]) == stored else { throw BinaryStateError(detail: "the checksum does not match: the state is damaged") }
        var reader = BinaryReader(Array(bytes[..<body]))
        let magic = try reader.byte()
        let layout = try reader.byte()
        guard magic == Self.magic else { throw reader.failure("not a binary lead state (first byte \(magic))") }
        guard layout == Self.layout else { throw reader.failure("binary layout \(layout) is not one this Nurture reads (\(Self.layout))") }
        let record = try reader.block()
        guard reader.isAtEnd else { throw reader.failure("bytes after the state") }
        return record
    }

    static func decode(_ bytes: [UInt8]) throws(BinaryStateError) -> LeadState {
        var reader = try reader(bytes)
        return try LeadState(reading: &reader)
    }
}

/// The fields a record must have (numbers below 64), by name for the error.
private struct RequiredFields: Sendable {
    let record: String
    let names: [(field: Int, name: String)]
    let mask: UInt64

    init(_ record: String, _ names: [(field: Int, name: String)]) {
        self.record = record
        self.names = names
        mask = names.reduce(0) { $0 | 1 << UInt64($1.field) }
    }
}

/// Which fields a record had: each at most once, the required ones present.
private struct SeenFields {
    private var bits: UInt64 = 0

    mutating func insert(_ field: Int, reader: BinaryReader) throws(BinaryStateError) {
        guard field < 64 else { return }
        guard bits & (1 << UInt64(field)) == 0 else { throw reader.failure("field \(field) twice in one record") }
        bits |= 1 << UInt64(field)
    }

    func require(_ required: RequiredFields, reader: BinaryReader) throws(BinaryStateError) {
        guard bits & required.mask != required.mask else { return }
        for (field, name) in required.names where bits & (1 << UInt64(field)) == 0 {
            throw reader.failure("\(required.record) has no \(name) (field \(field))")
        }
    }
}

// MARK: - LeadState

extension LeadState {
    fileprivate static let requiredFields = RequiredFields("the lead state", [
        (1, "lead"), (2, "score"), (3, "milestones"), (8, "pastEnrollments"), (9, "stageHistory"), (10, "enteredStageAt"), (11, "recentSends"),
    ])

    func write(to writer: inout BinaryWriter) {
        writer.field(1) { lead.write(to: &$0) }
        writer.field(2) { score.write(to: &$0) }
        writer.field(3, each: milestones) { $0.string($1) }
        if let enrollment { writer.field(4) { enrollment.write(to: &$0) } }
        if let pausedEnrollment { writer.field(5) { pausedEnrollment.write(to: &$0) } }
        writer.field(6, date: pausedAt)
        if let eventLog {
            writer.field(7, map: eventLog) { writer, dates in
                writer.varint(UInt64(dates.count))
                for date in dates { writer.date(date) }
            }
        }
        writer.field(8, map: pastEnrollments) { writer, past in writer.block { past.write(to: &$0) } }
        writer.field(9, each: stageHistory) { writer, change in writer.block { change.write(to: &$0) } }
        writer.field(10, date: enteredStageAt)
        writer.field(11, each: recentSends) { $0.date($1) }
        writer.field(12, string: suppression?.rawValue)
        if awaitingReengagement { writer.field(13, bool: true) }
        writer.field(14, string: fitRules)
    }

    init(reading reader: inout BinaryReader) throws(BinaryStateError) {
        let record = "the lead state"
        var lead: Lead?
        var enteredStageAt: Date?
        var state = LeadState(lead: Lead(id: "", email: ""), now: Date(timeIntervalSinceReferenceDate: 0))
        var seen = SeenFields()
        while let (field, wire) = try reader.nextField() {
            try seen.insert(field, reader: reader)
            switch field {
            case 1:
                var block = try reader.block(wire, field: field, in: record)
                lead = try Lead(reading: &block)
            case 2:
                var block = try reader.block(wire, field: field, in: record)
                state.score = try ScoreState(reading: &block)
            case 3:
                try reader.each(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in state.milestones.insert(try r.string()) }
            case 4:
                var block = try reader.block(wire, field: field, in: record)
                state.enrollment = try Enrollment(reading: &block)
            case 5:
                var block = try reader.block(wire, field: field, in: record)
                state.pausedEnrollment = try Enrollment(reading: &block)
            case 6:
                state.pausedAt = try reader.date(wire, field: field, in: record)
            case 7:
                state.eventLog = try reader.map(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in
                    let count = try r.count()
                    var dates: [Date] = []
                    dates.reserveCapacity(count)
                    for _ in 0..<count { dates.append(try r.date()) }
                    return dates
                }
            case 8:
                state.pastEnrollments = try reader.map(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in
                    var block = try r.block()
                    return try PastEnrollments(reading: &block)
                }
            case 9:
                try reader.each(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in
                    var block = try r.block()
                    state.stageHistory.append(try StageChange(reading: &block))
                }
            case 10:
                enteredStageAt = try reader.date(wire, field: field, in: record)
            case 11:
                try reader.each(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in state.recentSends.append(try r.date()) }
            case 12:
                state.suppression = try Suppression(reading: reader.string(wire, field: field, in: record), reader: reader)
            case 13:
                state.awaitingReengagement = try reader.bool(wire, field: field, in: record)
            case 14:
                state.fitRules = try reader.string(wire, field: field, in: record)
            default:
                try reader.skip(wire)
            }
        }
        try seen.require(Self.requiredFields, reader: reader)
        guard let lead else { throw reader.failure("\(record) has no lead (field 1)") }
        guard let enteredStageAt else { throw reader.failure("\(record) has no enteredStageAt (field 10)") }
        state.lead = lead
        state.enteredStageAt = enteredStageAt
        self = state
    }
}

extension Suppression {
    init(reading raw: String, reader: BinaryReader) throws(BinaryStateError) {
        guard let value = Suppression(rawValue: raw) else { throw reader.failure("an unknown suppression \"\(raw)\"") }
        self = value
    }
}

extension OutboxSend.Recipient {
    /// Reads the lead and its suppression, skipping the rest of the state.
    init(readingState reader: inout BinaryReader) throws(BinaryStateError) {
        let record = "the lead state"
        var lead: Lead?
        var suppression: Suppression?
        var seen = SeenFields()
        while let (field, wire) = try reader.nextField() {
            try seen.insert(field, reader: reader)
            switch field {
            case 1:
                var block = try reader.block(wire, field: field, in: record)
                lead = try Lead(reading: &block)
            case 12:
                suppression = try Suppression(reading: reader.string(wire, field: field, in: record), reader: reader)
            default:
                try reader.skip(wire)
            }
        }
        guard let lead else { throw reader.failure("\(record) has no lead (field 1)") }
        self.init(lead: lead, suppression: suppression)
    }
}

// MARK: - Lead

extension Lead {
    fileprivate static let requiredFields = RequiredFields("the lead", [(1, "id"), (2, "email"), (3, "fields"), (5, "stage"), (6, "fitScore"), (7, "engagementScore"), (8, "tags")])

    func write(to writer: inout BinaryWriter) {
        writer.field(1, string: id)
        writer.field(2, string: email)
        writer.field(3, map: fields) { $0.string($1) }
        writer.field(4, string: timeZone)
        writer.field(5, string: stage)
        writer.field(6, int: fitScore)
        writer.field(7, int: engagementScore)
        writer.field(8, each: tags) { $0.string($1) }
    }

    init(reading reader: inout BinaryReader) throws(BinaryStateError) {
        let record = "the lead"
        self.init(id: "", email: "")
        var seen = SeenFields()
        while let (field, wire) = try reader.nextField() {
            try seen.insert(field, reader: reader)
            switch field {
            case 1: id = try reader.string(wire, field: field, in: record)
            case 2: email = try reader.string(wire, field: field, in: record)
            case 3: fields = try reader.map(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in try r.string() }
            case 4: timeZone = try reader.string(wire, field: field, in: record)
            case 5: stage = try reader.string(wire, field: field, in: record)
            case 6: fitScore = try reader.int(wire, field: field, in: record)
            case 7: engagementScore = try reader.int(wire, field: field, in: record)
            case 8:
                var tags: Set<String> = []
                try reader.each(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in tags.insert(try r.string()) }
                self.tags = tags
            default: try reader.skip(wire)
            }
        }
        try seen.require(Self.requiredFields, reader: reader)
    }
}

// MARK: - ScoreState

extension ScoreState {
    fileprivate static let requiredFields = RequiredFields("the score", [(1, "fit"), (2, "decaying"), (4, "fixed"), (5, "awarded")])

    func write(to writer: inout BinaryWriter) {
        writer.field(1, int: fit)
        writer.field(2, double: decaying)
        writer.field(3, date: asOf)
        writer.field(4, int: fixed)
        writer.field(5, map: awarded) { $0.int($1) }
        writer.field(6, date: lastEngagement)
    }

    init(reading reader: inout BinaryReader) throws(BinaryStateError) {
        let record = "the score"
        self.init()
        var seen = SeenFields()
        while let (field, wire) = try reader.nextField() {
            try seen.insert(field, reader: reader)
            switch field {
            case 1: fit = try reader.int(wire, field: field, in: record)
            case 2: decaying = try reader.double(wire, field: field, in: record)
            case 3: asOf = try reader.date(wire, field: field, in: record)
            case 4: fixed = try reader.int(wire, field: field, in: record)
            case 5: awarded = try reader.map(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in try r.int() }
            case 6: lastEngagement = try reader.date(wire, field: field, in: record)
            default: try reader.skip(wire)
            }
        }
        try seen.require(Self.requiredFields, reader: reader)
    }
}

// MARK: - Enrollment

extension Enrollment {
    fileprivate static let requiredFields = RequiredFields("an enrollment", [
        (1, "sequence"), (2, "number"), (3, "startedAt"), (4, "position"), (5, "stepEnteredAt"), (7, "sent"), (9, "engagement"), (10, "activeGoals"),
    ])

    func write(to writer: inout BinaryWriter) {
        writer.field(1, string: sequence)
        writer.field(2, int: number)
        writer.field(3, date: startedAt)
        writer.field(4, int: position)
        writer.field(5, date: stepEnteredAt)
        writer.field(6, date: resumeAt)
        writer.field(7, map: sent) { $0.date($1) }
        if let occurrences { writer.field(8, map: occurrences) { $0.int($1) } }
        writer.field(9, map: engagement) { writer, record in writer.block { record.write(to: &$0) } }
        writer.field(10, each: activeGoals) { $0.int($1) }
    }

    init(reading reader: inout BinaryReader) throws(BinaryStateError) {
        let record = "an enrollment"
        self.init(sequence: "", number: 0, startedAt: Date(timeIntervalSinceReferenceDate: 0))
        var seen = SeenFields()
        while let (field, wire) = try reader.nextField() {
            try seen.insert(field, reader: reader)
            switch field {
            case 1: sequence = try reader.string(wire, field: field, in: record)
            case 2: number = try reader.int(wire, field: field, in: record)
            case 3: startedAt = try reader.date(wire, field: field, in: record)
            case 4: position = try reader.int(wire, field: field, in: record)
            case 5: stepEnteredAt = try reader.date(wire, field: field, in: record)
            case 6: resumeAt = try reader.date(wire, field: field, in: record)
            case 7: sent = try reader.map(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in try r.date() }
            case 8: occurrences = try reader.map(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in try r.int() }
            case 9:
                engagement = try reader.map(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in
                    var block = try r.block()
                    return try EngagementRecord(reading: &block)
                }
            case 10:
                var goals: [Int] = []
                try reader.each(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in goals.append(try r.int()) }
                activeGoals = goals
            default: try reader.skip(wire)
            }
        }
        try seen.require(Self.requiredFields, reader: reader)
    }
}

extension EngagementRecord {
    func write(to writer: inout BinaryWriter) {
        writer.field(1, date: opened)
        writer.field(2, date: clicked)
        writer.field(3, date: replied)
        if let links { writer.field(4, map: links) { $0.date($1) } }
    }

    init(reading reader: inout BinaryReader) throws(BinaryStateError) {
        let record = "an engagement record"
        self.init()
        var seen = SeenFields()
        while let (field, wire) = try reader.nextField() {
            try seen.insert(field, reader: reader)
            switch field {
            case 1: opened = try reader.date(wire, field: field, in: record)
            case 2: clicked = try reader.date(wire, field: field, in: record)
            case 3: replied = try reader.date(wire, field: field, in: record)
            case 4: links = try reader.map(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in try r.date() }
            default: try reader.skip(wire)
            }
        }
    }
}

extension PastEnrollments {
    func write(to writer: inout BinaryWriter) {
        writer.field(1, int: count)
        writer.field(2, date: lastEndedAt)
    }

    init(reading reader: inout BinaryReader) throws(BinaryStateError) {
        let record = "a past enrollment"
        var count: Int?
        var lastEndedAt: Date?
        var seen = SeenFields()
        while let (field, wire) = try reader.nextField() {
            try seen.insert(field, reader: reader)
            switch field {
            case 1: count = try reader.int(wire, field: field, in: record)
            case 2: lastEndedAt = try reader.date(wire, field: field, in: record)
            default: try reader.skip(wire)
            }
        }
        guard let count, let lastEndedAt else { throw reader.failure("\(record) lacks its count or end (fields 1, 2)") }
        self.init(count: count, lastEndedAt: lastEndedAt)
    }
}

// MARK: - StageChange

extension StageChange {
    fileprivate static let requiredFields = RequiredFields("a stage change", [(1, "from"), (2, "to"), (3, "at"), (4, "reason")])

    func write(to writer: inout BinaryWriter) {
        writer.field(1, string: from)
        writer.field(2, string: to)
        writer.field(3, date: at)
        writer.field(4, string: reason)
    }

    init(reading reader: inout BinaryReader) throws(BinaryStateError) {
        let record = "a stage change"
        self.init(from: "", to: "", at: Date(timeIntervalSinceReferenceDate: 0), reason: "")
        var seen = SeenFields()
        while let (field, wire) = try reader.nextField() {
            try seen.insert(field, reader: reader)
            switch field {
            case 1: from = try reader.string(wire, field: field, in: record)
            case 2: to = try reader.string(wire, field: field, in: record)
            case 3: at = try reader.date(wire, field: field, in: record)
            case 4: reason = try reader.string(wire, field: field, in: record)
            default: try reader.skip(wire)
            }
        }
        try seen.require(Self.requiredFields, reader: reader)
    }
}
