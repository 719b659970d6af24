/// One attribute of an HTML start tag, with where it sits in the tag's text.
struct HTMLAttribute {
    /// Lower-cased name.
    var name: String
    /// The raw value without its quotes (entities not decoded); `nil` for a bare attribute.
    var value: Substring?
    /// The attribute and the whitespace before it, for removal.
    var range: Range<String.Index>

    /// The attributes of a start tag such as `<a href="…" class=x data-flag>`.
    /// A small scanner: quoted and unquoted values, bare attributes; no regular expressions
    /// (this runs for every link of every email).
    static func parse(_ tag: Substring) -> [HTMLAttribute] {
        // On the UTF-8 view: its indices are the string's, and every byte compared is ASCII, so
        // each stop falls between scalars (a CR LF pair is two spaces, not one character).
        var attributes: [HTMLAttribute] = []
        let bytes = tag.utf8
        var i = bytes.startIndex
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C }
        let open = UInt8(ascii: "<"), close = UInt8(ascii: ">"), slash = UInt8(ascii: "/"), equals = UInt8(ascii: "=")
        // Skip "<" and the tag name.
        if i < bytes.endIndex, bytes[i] == open { i = bytes.index(after: i) }
        while i < bytes.endIndex, !isSpace(bytes[i]), bytes[i] != close, bytes[i] != slash { i = bytes.index(after: i) }
        while i < bytes.endIndex {
            let start = i
            while i < bytes.endIndex, isSpace(bytes[i]) { i = bytes.index(after: i) }
            guard i < bytes.endIndex, bytes[i] != close else { break }
            if bytes[i] == slash { i = bytes.index(after: i); continue }
            let nameStart = i
            while i < bytes.endIndex, !isSpace(bytes[i]), bytes[i] != equals, bytes[i] != close, bytes[i] != slash { i = bytes.index(after: i) }
            let name = tag[nameStart..<i].lowercased()
            var j = i
            while j < bytes.endIndex, isSpace(bytes[j]) { j = bytes.index(after: j) }
            var value: Substring?
            if j < bytes.endIndex, bytes[j] == equals {
                j = bytes.index(after: j)
                while j < bytes.endIndex, isSpace(bytes[j]) { j = bytes.index(after: j) }
                if j < bytes.endIndex, bytes[j] == UInt8(ascii: "\"") || bytes[j] == UInt8(ascii: "'") {
                    let quote = bytes[j]
                    let valueStart = bytes.index(after: j)
                    var k = valueStart
                    while k < bytes.endIndex, bytes[k] != quote { k = bytes.index(after: k) }
                    value = tag[valueStart..<k]
                    i = k < bytes.endIndex ? bytes.index(after: k) : k
                } else {
                    var k = j
                    while k < bytes.endIndex, !isSpace(bytes[k]), bytes[k] != close { k = bytes.index(after: k) }
                    value = tag[j..<k]
                    i = k
                }
            }
            // A stray delimiter: skipped (an unterminated quote may have taken `i` to the end).
            if name.isEmpty {
                if i < bytes.endIndex { i = bytes.index(after: i) }
                continue
            }
            attributes.append(HTMLAttribute(name: name, value: value, range: start..<i))
        }
        return attributes
    }
}
