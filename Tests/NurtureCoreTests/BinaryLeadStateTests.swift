import Foundation
@testable import NurtureCore
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
        var writer = BinaryWriter()
        writer.raw(BinaryLeadState.magic)
        writer.raw(BinaryLeadState.layout)
        writer.block { $0.appendRemaining(of: BinaryReader(record.bytes)) }
        let bytes = writer.bytes
        #expect(try coder.decode(LeadState.self, from: Data(bytes), version: 2) == state)
        #expect(try coder.decode(OutboxSend.Recipient.self, from: Data(bytes), version: 2).lead == state.lead)
    }

    @Test("a damaged state is an error, never a crash: every truncation and every flipped byte")
    func damagedStates() throws {
        let bytes = [UInt8](try coder.encode(Self.fullState(), as: .binary))
        for length in 0..<bytes.count {
            #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: Data(bytes[..<length]), version: 2) }
        }
        var generator = SeededGenerator(seed: 19)
        for _ in 0..<3_000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            // Decodes (a value changed) or throws; either way no trap.
            _ = try? coder.decode(LeadState.self, from: Data(damaged), version: 2)
            _ = try? coder.decode(OutboxSend.Recipient.self, from: Data(damaged), version: 2)
        }
        #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: Data("{\"lead\":1}".utf8), version: 2) }
        #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: Data(bytes), version: 1) }
        #expect(throws: StoredStateError.self) { try coder.decode(LeadState.self, from: Data(bytes + [0]), version: 2) }
    }

    @Test("a version this Nurture does not know is reported as newer, not misread")
    func newerVersion() throws {
        let bytes = try coder.encode(Self.fullState(), as: .binary)
        #expect(throws: StoredStateError.newerVersion(found: 3, known: 2)) { try coder.decode(LeadState.self, from: bytes, version: 3) }
        #expect(LeadStateFormat(version: 1) == .json && LeadStateFormat(version: 2) == .binary && LeadStateFormat(version: 0) == nil)
    }

    @Test("the setting's reading is trusted for maxAge, then read again; a clock set back reads again")
    func formatCache() {
        let cache = LeadStateFormatCache(maxAge: 10)
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(cache.current(now: t) == nil)
        cache.remember(.json, at: t)
        #expect(cache.current(now: t + 9.9) == .json)
        #expect(cache.current(now: t + 10) == nil)
        #expect(cache.current(now: t - 1) == nil)
        cache.forget()
        #expect(cache.current(now: t + 1) == nil)
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
