import Foundation
@testable import NurtureCore
import Synchronization
import Testing

@Suite("Binary lead state")
struct BinaryLeadStateTests {
    let coder = LeadStateCoder()

    /// A state with every field set, none to its default, and awkward values (edge numbers,
    /// non-ASCII, empty strings inside collections, fractional dates).
    static func fullState() -> LeadState {
        let t = Date(timeIntervalSince1970: 1_800_000_000.123_456_7)
        var enrollment = Enrollment(sequence: "mql-nurture", number: 2, startedAt: t)
        enrollment.position = 3
        enrollment.stepEnteredAt = t + 60
        enrollment.resumeAt = t + 86_400.5
        enrollment.sent = ["welcome": t + 1, "case-study": t + 2]
        enrollment.occurrences = ["case-study": 3]
        var engagement = EngagementRecord()
        engagement.opened = t + 10
        engagement.clicked = t + 11
        engagement.replied = t + 12
        engagement.links = ["https://example.com/é?a=1&b=2": t + 11, "": t + 13]
        enrollment.engagement = ["welcome": engagement, "case-study": engagement]
        enrollment.activeGoals = [4, -1, Int.max, Int.min]
        var paused = enrollment
        paused.sequence = "webinar"
        paused.number = 1

        var state = LeadState(
            lead: Lead(
                id: "9223372036854775807", email: "zoë@exämple.com",
                fields: ["first_name": "Zoë", "company": "Ünïcode & <Co>", "empty": "", "emoji": "👩‍💻"],
                timeZone: "Europe/Paris", stage: "mql", fitScore: -20, engagementScore: 135, tags: ["vip", "webinar-2026", ""]),
            now: t)
        state.score.fit = 25
        state.score.decaying = 17.249_999_999_999_998
        state.score.asOf = t + 3
        state.score.fixed = -40
        state.score.awarded = ["opened": 15, "unsubscribed": -100]
        state.score.lastEngagement = t + 4
        state.milestones = ["visited pricing", "downloaded the guide"]
        state.enrollment = enrollment
        state.pausedEnrollment = paused
        state.pausedAt = t + 7
        state.eventLog = ["email_opened": [t, t + 1], "page_visited": [t - 9]]
        state.pastEnrollments = ["welcome": PastEnrollments(count: 2, lastEndedAt: t - 100)]
        state.stageHistory = [StageChange(from: "lead", to: "mql", at: t - 50, reason: "score 52 ≥ 50")]
        state.enteredStageAt = t - 50
        state.recentSends = [t - 3_600, t - 60]
        state.suppression = .complained
        state.awaitingReengagement = true
        state.fitRules = "3f2a9c"
        return state
    }

    @Test("every field of a full state reads back equal, in both formats")
    func roundTrip() throws {
        let state = Self.fullState()
        Self.expectNoDefaultField(state)
        for format in LeadStateFormat.allCases {
            let bytes = try coder.encode(state, as: format)
            #expect(try coder.decode(LeadState.self, from: bytes, version: format.version) == state, "\(format)")
        }
        // JSON keeps dates as seconds since 1970 (a rounding of the stored double); binary keeps
        // them exactly, so a state read from JSON and written binary reads back the same.
        let fromJSON = try coder.decode(LeadState.self, from: try coder.encode(state, as: .json), version: 1)
        #expect(try coder.decode(LeadState.self, from: try coder.encode(fromJSON, as: .binary), version: 2) == fromJSON)
    }

    @Test("a new lead's state, and absent versus empty optionals, read back as written")
    func minimalAndEmpty() throws {
        var state = LeadState(lead: Lead(id: "1", email: "a@example.com"), now: Date(timeIntervalSince1970: 0))
        #expect(try coder.decode(LeadState.self, from: try coder.encode(state, as: .binary), version: 2) == state)
        state.eventLog = [:]
        var enrollment = Enrollment(sequence: "s", number: 1, startedAt: Date(timeIntervalSince1970: 0))
        enrollment.occurrences = [:]
        var record = EngagementRecord()
        record.links = [:]
        enrollment.engagement = ["x": record]
        state.enrollment = enrollment
        let read = try coder.decode(LeadState.self, from: try coder.encode(state, as: .binary), version: 2)
        #expect(read == state)
        #expect(read.eventLog == [:] && read.enrollment?.occurrences == [:] && read.enrollment?.engagement["x"]?.links == [:])
    }

    @Test("a claim's part (the lead and its suppression) reads from either format")
    func recipientPart() throws {
        let state = Self.fullState()
        for format in LeadStateFormat.allCases {
            let recipient = try coder.decode(OutboxSend.Recipient.self, from: try coder.encode(state, as: format), version: format.version)
            #expect(recipient == OutboxSend.Recipient(lead: state.lead, suppression: .complained), "\(format)")
        }
    }

    @Test("fields a newer Nurture added are skipped, at the top and inside nested records")
    func unknownFieldsSkipped() throws {
        let state = Self.fullState()
        // The state's own fields, the lead (field 1) written with an extra field of its own,
        // and fields of every wire type this version does not know.
        var record = BinaryWriter()
        record.field(90, int: -7)
        record.field(91, double: 1.5)
        record.field(92, string: "from the future")
        record.field(1) { lead in
            state.lead.write(to: &lead)
            lead.field(63, block: { $0.field(1, string: "nested") })
        }
        var rest = BinaryWriter()
        state.write(to: &rest)
        var reader = BinaryReader(rest.bytes)
        while let (field, wire) = try reader.nextField() {
            if field == 1 { _ = try reader.block(); continue }
            record.tag(field, wire)
            switch wire {
            case .varint: record.varint(try reader.varint())
            case .fixed64: record.double(try reader.double())
            case .string: record.string(try reader.string())
            case .block:
                let nested = try reader.block()
                record.block { $0.appendRemaining(of: nested) }
            }
        }
        record.field(99, each: [1, 2, 3]) { $0.int($1) }
        let bytes = Self.framed(record.bytes)
        #expect(try coder.decode(LeadState.self, from: Data(bytes), version: 2) == state)
        #expect(try coder.decode(OutboxSend.Recipient.self, from: Data(bytes), version: 2).lead == state.lead)
    }

    /// `record` as a whole binary state: the header, the record's block, the checksum.
    static func framed(_ record: [UInt8]) -> [UInt8] {
        var writer = BinaryWriter()
        writer.raw(BinaryLeadState.magic)
        writer.raw(BinaryLeadState.layout)
        writer.block { $0.appendRemaining(of: BinaryReader(record)) }
        writer.fixed32(CRC32C.checksum(writer.bytes[...]))
        return writer.bytes
    }

    @Test("a damaged state is an error, never a crash or a misread: every truncation, every flipped byte")
    func damagedStates() throws {
        let bytes = [UInt8](try coder.encode(Self.fullState(), as: .binary))
        for length in 0..<bytes.count {
            #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: Data(bytes[..<length]), version: 2) }
        }
        var generator = SeededGenerator(seed: 19)
        for _ in 0..<3_000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0..<damaged.count, using: &generator)
                damaged[index] ^= UInt8.random(in: 1...255, using: &generator)
            }
            #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: Data(damaged), version: 2) }
            #expect(throws: StoredStateError.self) { try coder.decode(OutboxSend.Recipient.self, from: Data(damaged), version: 2) }
        }
        #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: Data("{\"lead\":1}".utf8), version: 2) }
        #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: Data(bytes), version: 1) }
        #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: Data(bytes + [0]), version: 2) }
    }

    @Test("behind a valid checksum, values no store could write back, a field twice or a required one missing are errors", arguments: [
        "infinite", "NaN", "far date", "not UTF-8", "twice", "no score", "no email",
    ])
    func invalidValues(_ case: String) throws {
        let state = Self.fullState()
        var record = BinaryWriter()
        var lead = state.lead
        func writeLead(_ record: inout BinaryWriter) { record.field(1) { lead.write(to: &$0) } }
        switch `case` {
        case "infinite":
            var score = state.score
            score.decaying = .infinity
            writeLead(&record)
            record.field(2) { score.write(to: &$0) }
        case "NaN":
            var score = state.score
            score.decaying = .nan
            writeLead(&record)
            record.field(2) { score.write(to: &$0) }
        case "far date":
            writeLead(&record)
            record.field(2) { state.score.write(to: &$0) }
            record.field(6, date: Date(timeIntervalSinceReferenceDate: 1e12))
        case "not UTF-8":
            lead.timeZone = nil
            record.field(1) { writer in
                lead.write(to: &writer)
                writer.tag(4, .string)
                writer.varint(2)
                writer.raw(0xC3)
                writer.raw(0x28)
            }
            record.field(2) { state.score.write(to: &$0) }
        case "twice":
            writeLead(&record)
            writeLead(&record)
            record.field(2) { state.score.write(to: &$0) }
        case "no score":
            writeLead(&record)
        default:
            lead.email = ""
            record.field(1) { writer in
                var without = BinaryWriter()
                lead.write(to: &without)
                var reader = BinaryReader(without.bytes)
                while let (field, wire) = try? reader.nextField() {
                    if field == 2 { try? reader.skip(wire); continue }
                    writer.tag(field, wire)
                    switch wire {
                    case .varint: writer.varint((try? reader.varint()) ?? 0)
                    case .fixed64: writer.double((try? reader.double()) ?? 0)
                    case .string: writer.string((try? reader.string()) ?? "")
                    case .block:
                        let nested = try? reader.block()
                        writer.block { if let nested { $0.appendRemaining(of: nested) } }
                    }
                }
            }
            record.field(2) { state.score.write(to: &$0) }
        }
        for field in [3, 8, 9, 11] { record.field(field, each: [String]()) { $0.string($1) } }
        record.field(10, date: state.enteredStageAt)
        let bytes = Data(Self.framed(record.bytes))
        let error = #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: bytes, version: 2) }
        let reason = ["infinite": "not finite", "NaN": "not finite", "far date": "a date", "not UTF-8": "not UTF-8",
                      "twice": "twice in one record", "no score": "has no score", "no email": "has no email"][`case`] ?? "?"
        #expect(error.map { "\($0)" }?.contains(reason) == true, "\(error.map { "\($0)" } ?? "no error")")
    }

    @Test("the record these error cases start from reads (the cases above fail for their own reason)")
    func validBaseRecord() throws {
        let state = Self.fullState()
        var record = BinaryWriter()
        record.field(1) { state.lead.write(to: &$0) }
        record.field(2) { state.score.write(to: &$0) }
        for field in [3, 8, 9, 11] { record.field(field, each: [String]()) { $0.string($1) } }
        record.field(10, date: state.enteredStageAt)
        let read = try coder.decode(LeadState.self, from: Data(Self.framed(record.bytes)), version: 2)
        #expect(read.lead == state.lead && read.score == state.score)
    }

    @Test("a version this Nurture does not know is reported as newer, not misread")
    func newerVersion() throws {
        let bytes = try coder.encode(Self.fullState(), as: .binary)
        #expect(throws: StoredStateError.newerVersion(found: 3, known: 2)) { try coder.decode(LeadState.self, from: bytes, version: 3) }
        #expect(LeadStateFormat(version: 1) == .json && LeadStateFormat(version: 2) == .binary && LeadStateFormat(version: 0) == nil)
    }

    @Test("the setting's reading is trusted for maxAge on the cache's own monotonic clock, then read again")
    func formatCache() {
        let elapsed = Mutex<Duration>(.seconds(100))
        let cache = LeadStateFormatCache(maxAge: .seconds(10), elapsed: { elapsed.withLock { $0 } })
        #expect(cache.current() == nil)
        cache.remember(.json)
        elapsed.withLock { $0 += .milliseconds(9_900) }
        #expect(cache.current() == .json)
        elapsed.withLock { $0 += .milliseconds(100) }
        #expect(cache.current() == nil)
        cache.remember(.binary)
        #expect(cache.current() == .binary)
        cache.forget()
        #expect(cache.current() == nil)
    }

    /// Fails for any stored property, at any depth (inside collections too), left `nil`, empty,
    /// zero or false: a field added to the state must be set here, so the round trip covers it.
    static func expectNoDefaultField(_ value: Any, path: String = "state", sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let child = mirror.children.first else {
                Issue.record("\(path) is nil in the full state", sourceLocation: sourceLocation)
                return
            }
            expectNoDefaultField(child.value, path: path, sourceLocation: sourceLocation)
            return
        }
        switch value {
        case let value as Bool where !value: Issue.record("\(path) is false", sourceLocation: sourceLocation)
        case let value as Int where value == 0: Issue.record("\(path) is 0", sourceLocation: sourceLocation)
        case let value as Double where value == 0: Issue.record("\(path) is 0", sourceLocation: sourceLocation)
        case is String, is Date, is Bool, is Int, is Double, is Suppression: return
        default: break
        }
        if mirror.displayStyle == .collection || mirror.displayStyle == .dictionary || mirror.displayStyle == .set, mirror.children.isEmpty {
            Issue.record("\(path) is empty", sourceLocation: sourceLocation)
        }
        for child in mirror.children {
            expectNoDefaultField(child.value, path: "\(path).\(child.label ?? "?")", sourceLocation: sourceLocation)
        }
    }
}

extension BinaryWriter {
    /// Copies what is left in `reader` (a test helper for re-framing records).
    mutating func appendRemaining(of reader: BinaryReader) {
        var reader = reader
        while !reader.isAtEnd, let byte = try? reader.byte() { raw(byte) }
    }
}

@Suite("CRC-32C")
struct CRC32CTests {
    @Test("the standard check value, and the same as byte-at-a-time for every length and offset")
    func checkValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)[...]) == 0xE306_9283)
        #expect(CRC32C.checksum([][...]) == 0)
        var generator = SeededGenerator(seed: 7)
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        func bytewise(_ slice: ArraySlice<UInt8>) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in slice {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            return ~crc
        }
        for start in 0..<9 {
            for end in stride(from: start, through: bytes.count, by: 7) {
                #expect(CRC32C.checksum(bytes[start..<end]) == bytewise(bytes[start..<end]))
            }
        }
    }
}
