import Synchronization
import ArgumentParser
import Foundation
import NurtureContent
import NurtureCore
import NurtureDelivery

/// Messages per second that the SMTP transport hands to a relay (e.g. Postfix's smtp-sink).
struct SMTPThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtp",
        abstract: "Send N composed messages through the SMTP transport and print msgs/s."
    )

    @Option(help: "The relay, e.g. smtp://127.0.0.1:2525.")
    var url: String

    @Option(help: "How many messages.")
    var count = 2000

    @Option(help: "Parallel connections (each reused for many messages).")
    var connections = 1

    @Flag(help: "Print only the size in bytes of one benchmark message and exit.")
    var printMessageSize = false

    func run() async throws {
        let messages = (0..<count).map(Self.message)
        if printMessageSize {
            print(messages[0].rfc5322.count)
            return
        }
        let transport = SMTPTransport(configuration: SMTPConfiguration(
            url: url, starttls: .off, timeout: .seconds(30), connections: connections))
        // Warm-up: open the connections outside the timed run, as a running service would have them.
        _ = await withTaskGroup(of: Void.self) { group in
            for i in 0..<connections { group.addTask { _ = await transport.deliver(messages[i % messages.count]) } }
        }

        let clock = ContinuousClock()
        let next = NextIndex()
        var failures = 0
        let elapsed = await clock.measure {
            failures = await withTaskGroup(of: Int.self) { group in
                for _ in 0..<connections {
                    group.addTask {
                        var failed = 0
                        while let i = next.take(below: messages.count) {
                            if !(await transport.deliver(messages[i])).isAccepted { failed += 1 }
                        }
                        return failed
                    }
                }
                return await group.reduce(0, +)
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "%d messages over %d connection(s) in %.3f s: %.0f msgs/s, %d failed",
                     count, connections, seconds, Double(count) / seconds, failures))
        if failures > 0 { throw ExitCode.failure }
    }

    /// A typical nurture email: both parts, a tracked link, List-Unsubscribe.
    static func message(_ index: Int) -> OutgoingMessage {
        let html = """
        <html><body><p>Hi Lead \(index),</p>
        <p>Teams like yours cut onboarding time in half with our playbook. Here is the case study
        we promised, with the numbers, the timeline and what we would do differently.</p>
        <p><a href="https://t.nurture.example/c/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789">Read the case study</a></p>
        <p>Best,<br>The Nurture team</p>
        <img src="https://t.nurture.example/o/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789" width="1" height="1" alt="">
        </body></html>
        """
        let text = """
        Hi Lead \(index),

        Teams like yours cut onboarding time in half with our playbook. Here is the case study
        we promised, with the numbers, the timeline and what we would do differently.

        Read the case study: https://t.nurture.example/c/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789

        Best,
        The Nurture team
        """
        return MessageComposer().compose(MessageComposer.Draft(
            from: try! EmailAddress("news@nurture.example", displayName: "Nurture"),
            to: [try! EmailAddress("lead\(index)@example.com", displayName: "Lead \(index)")],
            subject: "The case study you asked for", text: text, html: html,
            messageID: MessageComposer.messageID(unique: "bench-\(index)", domain: "nurture.example"),
            date: 1_795_000_000,
            headers: [
                MessageHeader("List-Unsubscribe", "<https://t.nurture.example/u/AbCdEfGhIjKlMnOp>"),
                MessageHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]))
    }
}

/// Hands out 0, 1, 2, … to concurrent senders.
private final class NextIndex: Sendable {
    private let value = Mutex(0)
    func take(below limit: Int) -> Int? {
        value.withLock { current in
            guard current < limit else { return nil }
            defer { current += 1 }
            return current
        }
    }
}
