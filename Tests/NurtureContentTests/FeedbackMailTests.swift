import Foundation
import NurtureContent
import Testing

@Suite("Bounce mailbox mail: DSNs (RFC 3464), complaints (ARF, RFC 5965), mailto unsubscribes")
struct FeedbackMailTests {
    func mail(_ text: String) -> FeedbackMail {
        FeedbackMail(raw: Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
    }

    /// A bounce as Postfix writes it: a quoted boundary with a slash, folded fields, the
    /// original's headers as text/rfc822-headers.
    static let postfixBounce = """
    Return-Path: <>
    Date: Thu, 26 Nov 2026 10:00:00 +0000 (UTC)
    From: MAILER-DAEMON@mx.acme.example (Mail Delivery System)
    Subject: Undelivered Mail Returned to Sender
    To: bounces@acme.example
    Auto-Submitted: auto-replied
    MIME-Version: 1.0
    Content-Type: multipart/report; report-type=delivery-status;
    \tboundary="4F0A21C0A1.1700000000/mx.acme.example"
    Message-Id: <20261126100000.4F0A21C0A1@mx.acme.example>

    This is a MIME-encapsulated message.

    --4F0A21C0A1.1700000000/mx.acme.example
    Content-Description: Notification
    Content-Type: text/plain; charset=us-ascii

    This is the mail system at host mx.acme.example.

    <ada@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1
        <ada@example.com>: Recipient address rejected: User unknown (in reply to
        RCPT TO command)

    --4F0A21C0A1.1700000000/mx.acme.example
    Content-Description: Delivery report
    Content-Type: message/delivery-status

    Reporting-MTA: dns; mx.acme.example
    X-Postfix-Queue-ID: 4F0A21C0A1
    X-Postfix-Sender: rfc822; bounces@acme.example
    Arrival-Date: Thu, 26 Nov 2026 09:59:58 +0000 (UTC)

    Final-Recipient: rfc822; ada@example.com
    Original-Recipient: rfc822;ada@example.com
    Action: failed
    Status: 5.1.1
    Remote-MTA: dns; mx.example.com
    Diagnostic-Code: smtp; 550 5.1.1 <ada@example.com>: Recipient address rejected:
        User unknown

    --4F0A21C0A1.1700000000/mx.acme.example
    Content-Description: Undelivered Message Headers
    Content-Type: text/rfc822-headers

    Return-Path: <bounces@acme.example>
    From: Acme <hello@acme.example>
    To: Ada <ada@example.com>
    Subject: Welcome
    Message-ID: <MESSAGE-ID@acme.example>

    --4F0A21C0A1.1700000000/mx.acme.example--
    """

    @Test("a Postfix DSN: the failed recipient, hard, with the status and diagnostic; the original's Message-ID; the report's own id")
    func postfix() {
        guard case .bounce(let bounces, let original, let report) = mail(Self.postfixBounce) else {
            Issue.record("not read as a bounce")
            return
        }
        #expect(bounces.count == 1)
        #expect(bounces.first?.recipient == "ada@example.com")
        #expect(bounces.first?.hard == true)
        #expect(bounces.first?.reason == "5.1.1 (smtp; 550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown)")
        #expect(original == "<MESSAGE-ID@acme.example>")
        #expect(report == "<20261126100000.4F0A21C0A1@mx.acme.example>")
    }

    @Test("several recipients: failed 5.x is hard, failed 4.x soft, delayed and delivered say nothing; a base64 original is read")
    func mixed() {
        let original = Data("From: hello@acme.example\r\nMessage-ID: <base64-original@acme.example>\r\nSubject: Hi\r\n\r\nHello\r\n".utf8).base64EncodedString()
        let text = """
        From: postmaster@mx.example.org
        Subject: Delivery Status Notification (Failure)
        Message-ID: <dsn-2@mx.example.org>
        Content-Type: multipart/report; report-type="delivery-status"; boundary=XYZ

        --XYZ
        Content-Type: text/plain

        Some of your messages could not be delivered.
        --XYZ
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.org

        Final-Recipient: rfc822; hard@example.org
        Action: failed
        Status: 5.2.1

        Final-Recipient: rfc822; <full@example.org>
        Action: failed
        Status: 4.2.2

        Final-Recipient: rfc822; later@example.org
        Action: delayed
        Status: 4.4.1

        Final-Recipient: rfc822; fine@example.org
        Action: delivered
        Status: 2.0.0
        --XYZ
        Content-Type: message/rfc822
        Content-Transfer-Encoding: base64

        \(original)
        --XYZ--
        """
        guard case .bounce(let bounces, let id, _) = mail(text) else {
            Issue.record("not read as a bounce")
            return
        }
        #expect(bounces.map(\.recipient) == ["hard@example.org", "full@example.org"])
        #expect(bounces.map(\.hard) == [true, false])
        #expect(id == "<base64-original@acme.example>")
    }

    @Test("the ARF example of RFC 5965: a complaint, by Original-Rcpt-To, with the original's Message-ID")
    func arf() {
        let text = """
        From: <abusedesk@example.com>
        Date: Thu, 8 Mar 2005 17:40:36 EDT
        Subject: FW: Earn money
        To: <abuse@example.net>
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=feedback-report;
             boundary="part1_13d.2e68ed54_boundary"
        Message-ID: <arf-1@example.com>

        --part1_13d.2e68ed54_boundary
        Content-Type: text/plain; charset="US-ASCII"
        Content-Transfer-Encoding: 7bit

        This is an email abuse report for an email message received from IP
        192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.

        --part1_13d.2e68ed54_boundary
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: SomeGenerator/1.0
        Version: 1
        Original-Mail-From: <somespammer@example.net>
        Original-Rcpt-To: <user@example.com>
        Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT
        Reporting-MTA: dns; mail.example.com
        Source-IP: 192.0.2.1
        Authentication-Results: mail.example.com;
                       spf=fail smtp.mail=somespammer@example.com
        Reported-Domain: example.net
        Removal-Recipient: user@example.com

        --part1_13d.2e68ed54_boundary
        Content-Type: message/rfc822
        Content-Disposition: inline

        From: <somespammer@example.net>
        To: <Undisclosed Recipients>
        Subject: Earn money
        MIME-Version: 1.0
        Content-Type: text/plain
        Message-ID: 8787KJKJ3K4J3K4J3K4J3.mail@example.net
        Date: Thu, 02 Sep 2004 12:31:03 -0500

        Spam Spam Spam
        --part1_13d.2e68ed54_boundary--
        """
        #expect(mail(text) == .complaint(recipient: "user@example.com", originalMessageID: "8787KJKJ3K4J3K4J3K4J3.mail@example.net", reportID: "<arf-1@example.com>"))
        // Without Original-Rcpt-To, the original's To names the complainer; a non-abuse report is not a complaint.
        let noRcpt = text.replacingOccurrences(of: "Original-Rcpt-To: <user@example.com>\n", with: "").replacingOccurrences(of: "To: <Undisclosed Recipients>", with: "To: Ada <ada@example.com>")
        #expect(mail(noRcpt) == .complaint(recipient: "ada@example.com", originalMessageID: "8787KJKJ3K4J3K4J3K4J3.mail@example.net", reportID: "<arf-1@example.com>"))
        #expect(mail(text.replacingOccurrences(of: "Feedback-Type: abuse", with: "Feedback-Type: not-spam")) == .other)
    }

    @Test("mailto unsubscribes: the token after unsubscribe-, replies and forwards too; anything else is for a person")
    func unsubscribeAndOther() {
        #expect(mail("From: ada@example.com\nSubject: unsubscribe-AbC_12-x.y\n\n") == .unsubscribe(token: "AbC_12-x.y"))
        #expect(mail("From: ada@example.com\nSubject: Re: RE: unsubscribe-tok3n\n\nplease") == .unsubscribe(token: "tok3n"))
        #expect(mail("From: ada@example.com\nSubject: Automatic reply: Welcome\n\nI am away") == .other)
        #expect(mail("From: ada@example.com\nSubject: unsubscribe-\n\n") == .other)
        #expect(mail("") == .other)
        #expect(mail("Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n--B--") == .other)
    }

    @Test("hostile structure costs little: deep nesting and many parts are cut off, not followed")
    func bounded() {
        var text = ""
        for level in 0..<50 { text += "Content-Type: multipart/mixed; boundary=b\(level)\n\n--b\(level)\n" }
        text += "Content-Type: text/plain\n\nhi\n"
        let entity = MIMEEntity(Array(text.utf8))
        #expect(entity.all.count <= MIMEEntity.maxDepth + 1)
        let many = "Content-Type: multipart/mixed; boundary=z\n\n" + String(repeating: "--z\nContent-Type: text/plain\n\nx\n", count: 5000) + "--z--\n"
        #expect(MIMEEntity(Array(many.utf8)).all.count <= MIMEEntity.maxParts + 1)
    }
}
