import Foundation

/// A received message or one of its parts, as far as reading reports needs: header fields
/// (unfolded, names case-insensitive), the body with its transfer encoding undone, and the
/// parts of a multipart body (RFC 2045, RFC 2046).
///
/// Bounded: at most ``maxDepth`` levels of nesting and ``maxParts`` parts in all, so a hostile
/// message costs little. What cannot be read is kept as it is (an unknown transfer encoding
/// leaves the body raw).
public struct MIMEEntity: Sendable {
    public var headers: [(name: String, value: String)]
    /// The body, decoded from base64 or quoted-printable.
    public var body: [UInt8]
    public var parts: [MIMEEntity]

    public static let maxDepth = 8
    public static let maxParts = 200

    public init(_ raw: [UInt8]) {
        var budget = Self.maxParts
        self = Self.parse(raw[...], depth: 0, budget: &budget)
    }

    /// The first field called `name`, unfolded and trimmed.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// `type/subtype`, lower-cased (`text/plain` when absent).
    public var contentType: String {
        guard let value = header("Content-Type") else { return "text/plain" }
        return value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? "text/plain"
    }

    /// A parameter of `Content-Type` (`boundary`, `report-type`), unquoted.
    public func contentTypeParameter(_ name: String) -> String? {
        guard let value = header("Content-Type") else { return nil }
        for parameter in value.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name.lowercased() else { continue }
            var text = pair[1].trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
            return text
        }
        return nil
    }

    /// The body as text (UTF-8, invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Every entity in the tree, this one first, depth first.
    public var all: [MIMEEntity] { [self] + parts.flatMap(\.all) }

    /// The message carried by a `message/rfc822` part, or the headers of a
    /// `text/rfc822-headers` part, as an entity.
    public var enclosed: MIMEEntity? {
        guard contentType == "message/rfc822" || contentType == "text/rfc822-headers" || contentType == "message/rfc822-headers" else { return nil }
        if let inner = parts.first { return inner }
        var budget = 1
        return Self.parse(body[...], depth: Self.maxDepth, budget: &budget)
    }

    /// Header blocks in a body (`message/delivery-status`, `message/feedback-report`): groups of
    /// fields separated by blank lines.
    public var fieldGroups: [[(name: String, value: String)]] {
        text.replacingOccurrences(of: "\r\n", with: "\n")
            .components(separatedBy: "\n\n")
            .map { Self.fields(Array($0.utf8)[...]) }
            .filter { !$0.isEmpty }
    }

    // MARK: Parsing

    private static func parse(_ raw: ArraySlice<UInt8>, depth: Int, budget: inout Int) -> MIMEEntity {
        let (head, bodyStart) = splitHead(raw)
        let headers = fields(head)
        var entity = MIMEEntity(headers: headers, body: Array(raw[bodyStart...]), parts: [])
        entity.body = decode(entity.body, encoding: entity.header("Content-Transfer-Encoding"))
        guard depth < maxDepth, budget > 0 else { return entity }
        let type = entity.contentType
        if type.hasPrefix("multipart/"), let boundary = entity.contentTypeParameter("boundary"), !boundary.isEmpty {
            for part in split(entity.body[...], boundary: boundary) {
                guard budget > 0 else { break }
                budget -= 1
                entity.parts.append(parse(part, depth: depth + 1, budget: &budget))
            }
        } else if type == "message/rfc822" || type == "message/global" {
            budget -= 1
            entity.parts = [parse(entity.body[...], depth: depth + 1, budget: &budget)]
        }
        return entity
    }

    private init(headers: [(name: String, value: String)], body: [UInt8], parts: [MIMEEntity]) {
        self.headers = headers
        self.body = body
        self.parts = parts
    }

    /// The header block and where the body starts (after the first empty line).
    private static func splitHead(_ raw: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, Int) {
        var index = raw.startIndex
        var lineStart = index
        while index < raw.endIndex {
            if raw[index] == UInt8(ascii: "\n") {
                let line = raw[lineStart..<index]
                if line.isEmpty || line == [UInt8(ascii: "\r")] { return (raw[raw.startIndex..<lineStart], index + 1) }
                lineStart = index + 1
            }
            index += 1
        }
        // No blank line: all head (a text/rfc822-headers part), no body.
        return (raw, raw.endIndex)
    }

    /// Header fields, unfolded (RFC 5322 §2.2.3).
    private static func fields(_ head: ArraySlice<UInt8>) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for line in String(decoding: head, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: true) {
            if let first = line.first, first == " " || first == "\t" {
                if !result.isEmpty { result[result.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces) }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains(" ") else { continue }
            result.append((name, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return result
    }

    /// The parts between `--boundary` lines, up to `--boundary--`.
    private static func split(_ body: ArraySlice<UInt8>, boundary: String) -> [ArraySlice<UInt8>] {
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [ArraySlice<UInt8>] = []
        var current: Int?
        var lineStart = body.startIndex
        var index = body.startIndex
        while lineStart < body.endIndex {
            while index < body.endIndex, body[index] != UInt8(ascii: "\n") { index += 1 }
            var line = body[lineStart..<index]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            let rest = line.dropFirst(delimiter.count)
            // A delimiter line is the boundary alone (transport padding allowed) or its close:
            // `--b1` must not match `--b10`.
            let isClose = rest.starts(with: Array("--".utf8))
            if line.starts(with: delimiter), isClose || rest.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                if let start = current {
                    // The line break before the delimiter belongs to it.
                    var end = lineStart
                    if end > start, body[end - 1] == UInt8(ascii: "\n") { end -= 1 }
                    if end > start, body[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                    parts.append(body[start..<max(start, end)])
                }
                if isClose { return parts }
                current = index < body.endIndex ? index + 1 : body.endIndex
            }
            index += 1
            lineStart = index
        }
        if let start = current, start < body.endIndex { parts.append(body[start...]) }
        return parts
    }

    private static func decode(_ body: [UInt8], encoding: String?) -> [UInt8] {
        switch encoding?.lowercased().trimmingCharacters(in: .whitespaces) {
        case "base64":
            let text = String(decoding: body, as: UTF8.self).filter { !$0.isWhitespace }
            return Data(base64Encoded: text, options: .ignoreUnknownCharacters).map { Array($0) } ?? body
        case "quoted-printable":
            return quotedPrintableDecoded(body)
        default:
            return body
        }
    }

    /// RFC 2045 §6.7: `=XX` bytes, soft line breaks (`=` at the end of a line).
    private static func quotedPrintableDecoded(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        while i < body.count {
            let byte = body[i]
            if byte == UInt8(ascii: "="), i + 1 < body.count {
                if body[i + 1] == UInt8(ascii: "\n") { i += 2; continue }
                if body[i + 1] == UInt8(ascii: "\r"), i + 2 < body.count, body[i + 2] == UInt8(ascii: "\n") { i += 3; continue }
                if i + 2 < body.count, let high = hex(body[i + 1]), let low = hex(body[i + 2]) {
                    out.append(high << 4 | low)
                    i += 3
                    continue
                }
            }
            out.append(byte)
            i += 1
        }
        return out
    }
}
