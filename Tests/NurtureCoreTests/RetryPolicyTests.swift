import Foundation
import NurtureCore
import Testing

@Suite("Retry policy: what a failed attempt leads to")
struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 4, firstDelay: .minutes(1), maxDelay: .minutes(5))
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("transient failures back off exponentially, capped, with jitter, then give up")
    func backoff() {
        let failure = DeliveryFailure(phase: .recipient, code: 451, reply: "451 try later")
        #expect(policy.decide(failure, permanent: false, attemptsBefore: 0, now: now, jitter: 1) == .retry(at: now + 60, reply: failure.description))
        #expect(policy.decide(failure, permanent: false, attemptsBefore: 1, now: now, jitter: 1) == .retry(at: now + 120, reply: failure.description))
        #expect(policy.decide(failure, permanent: false, attemptsBefore: 2, now: now, jitter: 0.5) == .retry(at: now + 120, reply: failure.description))
        #expect(policy.decide(failure, permanent: false, attemptsBefore: 3, now: now, jitter: 1) == .fail(reply: "gave up after 4 attempts: 451 try later"))
        let capped = RetryPolicy(maxAttempts: 50, firstDelay: .minutes(1), maxDelay: .minutes(5))
        #expect(capped.decide(failure, permanent: false, attemptsBefore: 30, now: now, jitter: 1) == .retry(at: now + 300, reply: failure.description))
    }

    @Test("a relay's Retry-After is honoured when longer")
    func retryAfter() {
        let failure = DeliveryFailure(phase: .content, code: 429, reply: "429 slow down", retryAfter: .seconds(900))
        #expect(policy.decide(failure, permanent: false, attemptsBefore: 0, now: now, jitter: 1) == .retry(at: now + 900, reply: failure.description))
    }

    @Test("an unreachable relay never fails a message for good; a refusing one is a configuration problem")
    func outages() {
        let down = DeliveryFailure(phase: .connection, reply: "connection refused")
        if case .fail = policy.decide(down, permanent: false, attemptsBefore: 100, now: now, jitter: 1) { Issue.record("an outage failed a message") }
        let auth = DeliveryFailure(phase: .authentication, code: 535, reply: "535 bad credentials")
        guard case .misconfigured = policy.decide(auth, permanent: true, attemptsBefore: 100, now: now, jitter: 1) else {
            Issue.record("refused credentials are the configuration's fault")
            return
        }
    }

    @Test("a permanent refusal of the recipient is a hard bounce; of the message, a final failure")
    func permanent() {
        let unknown = DeliveryFailure(phase: .recipient, code: 550, reply: "550 5.1.1 unknown")
        #expect(policy.decide(unknown, permanent: true, attemptsBefore: 0, now: now, jitter: 1) == .hardBounce(reply: "550 5.1.1 unknown"))
        let spam = DeliveryFailure(phase: .content, code: 554, reply: "554 spam")
        #expect(policy.decide(spam, permanent: true, attemptsBefore: 0, now: now, jitter: 1) == .fail(reply: "554 spam"))
    }
}
