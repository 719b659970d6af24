import Foundation
import NurtureContent
import NurtureCore

/// A realistic message for delivery tests, from the real composer.
func sampleMessage(to recipient: String = "ada@example.com", id: String = UUID().uuidString) -> OutgoingMessage {
    MessageComposer().compose(MessageComposer.Draft(
        from: try! EmailAddress("news@nurture.test", displayName: "Nurture Team"),
        to: [try! EmailAddress(recipient, displayName: "Ada Lovelace")],
        subject: "Welcome, Ada — your guide inside",
        text: "Hi Ada,\n\nThanks for signing up.\n.\nA line that starts with a dot.\n",
        html: "<p>Hi Ada,</p><p>Thanks for signing up.</p>",
        messageID: MessageComposer.messageID(unique: id, domain: "nurture.test"),
        date: 1_795_000_000,
        headers: [MessageHeader("List-Unsubscribe", "<https://t.nurture.test/u/abc>")]
    ))
}

/// A message whose raw bytes are given as is (to check the exact bytes a relay receives).
func rawMessage(_ raw: String, to recipient: String = "ada@example.com") -> OutgoingMessage {
    OutgoingMessage(
        envelopeSender: "bounces@nurture.test", recipients: [recipient], messageID: "<raw@nurture.test>",
        from: try! EmailAddress("news@nurture.test"), to: [try! EmailAddress(recipient)], subject: "raw",
        text: "raw", html: nil, rfc5322: Array(raw.utf8)
    )
}

func decodeBase64(_ value: Any?) -> [UInt8] {
    Array(Data(base64Encoded: value as? String ?? "") ?? Data())
}
