/// One reply of an SMTP dialog, as the server worded it.
///
/// libcurl hands every reply line of the dialog to the header callback; a reply is one
/// or more lines `NNN-text` ending with `NNN text`.
struct SMTPReply: Equatable {
    var code: Int
    var text: String

    /// The complete replies in `lines`, in order; lines that are not replies are skipped.
    static func all(in lines: [String]) -> [SMTPReply] {
        var current: [Substring] = []
        var replies: [SMTPReply] = []
        for line in lines {
            let utf8 = Array(line.utf8.prefix(4))
            guard utf8.count >= 3, utf8[0...2].allSatisfy({ (0x30...0x39).contains($0) }),
                  let code = Int(line.prefix(3))
            else { continue }
            let isContinuation = utf8.count == 4 && utf8[3] == UInt8(ascii: "-")
            current.append(line.dropFirst(4))
            if !isContinuation {
                replies.append(SMTPReply(code: code, text: "\(code) " + current.joined(separator: " ")))
                current = []
            }
        }
        return replies
    }
}
