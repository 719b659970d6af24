import Foundation

/// Runs the engine for one lead on a virtual clock: scripted events and the engine's own
/// wake-ups, in time order, up to a horizon. Nothing is sent; the effects are the timeline.
///
/// This is how the dry-run (and the tests) exercise the scheduler's decisions: the same
/// ``NurtureEngine`` calls the scheduler makes, at the times it would make them.
public struct Simulation: Sendable {
    /// One moment of the timeline.
    public struct Entry: Sendable, Equatable {
        public var at: Date
        public var effect: Effect
        /// The scripted event that caused it, if any (`nil` for the passage of time).
        public var cause: Event?
        /// The lead as it was right after the engine call that had this effect (what a send's
        /// email is rendered with).
        public var lead: Lead?
        /// Which engine call had this effect (0 for the start, then one more per call), and the
        /// lead's score before that call: what outbound webhooks are worked out from.
        public var call: Int = 0
        public var scoreBefore: Int = 0
    }

    public let engine: NurtureEngine

    public init(engine: NurtureEngine) {
        self.engine = engine
    }

    /// Engine calls before a run is cut short (a guard against a workflow that never settles).
    public static let callLimit = 100_000

    /// A stage move scripted at a time (an operator or the CRM moving the lead).
    public struct StageMove: Sendable, Equatable {
        public var at: Date
        public var stage: String
        public init(at: Date, stage: String) {
            self.at = at
            self.stage = stage
        }
    }

    /// - Parameters:
    ///   - events: what-if events; each is handled at its own time (before wake-ups at the same time).
    ///   - moves: what-if stage moves, handled like events (the same reason as a manual move).
    /// - Returns: the lead's state at `until`, and every effect with its time.
    public func run(_ lead: Lead, from start: Date, until end: Date, events: [Event] = [], moves: [StageMove] = []) -> (LeadState, [Entry]) {
        var (state, startEffects) = engine.start(lead, now: start)
        var timeline: [Entry] = []
        var call = 0
        var scoreBefore = 0
        func record(_ effects: [Effect], at time: Date, cause: Event?) {
            for effect in effects {
                timeline.append(Entry(at: time, effect: effect, cause: cause, lead: state.lead, call: call, scoreBefore: scoreBefore))
            }
            call += 1
            scoreBefore = state.lead.score
        }
        record(startEffects, at: start, cause: nil)
        enum Input { case event(Event), move(StageMove) }
        func time(_ input: Input) -> Date {
            switch input {
            case .event(let event): event.at
            case .move(let move): move.at
            }
        }
        var pending = (events.map(Input.event) + moves.map(Input.move)).filter { time($0) <= end }
            .enumerated().sorted { (time($0.element), $0.offset) < (time($1.element), $1.offset) }.map(\.element)[...]
        var now = start
        for _ in 0..<Self.callLimit {
            let wake = engine.nextWake(state, after: now)
            if let input = pending.first, wake.map({ time(input) <= $0 }) ?? true {
                pending.removeFirst()
                now = max(now, time(input))
                switch input {
                case .event(let event):
                    record(engine.handle(event, state: &state, now: now), at: now, cause: event)
                case .move(let move):
                    let cause = Event("stage_moved", at: now, properties: ["stage": move.stage])
                    record(engine.moveToStage(move.stage, reason: "what-if: moved to \(move.stage)", state: &state, now: now), at: now, cause: cause)
                }
            } else if let wake, wake <= end {
                now = wake
                record(engine.tick(&state, now: now), at: now, cause: nil)
            } else {
                break
            }
        }
        return (state, timeline)
    }
}
