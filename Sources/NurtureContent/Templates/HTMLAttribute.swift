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
        var attributes: [HTMLAttribute] = []
        var i = tag.startIndex
        func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" }
        // Skip "<" and the tag name.
        if i < tag.endIndex, tag[i] == "<" { i = tag.index(after: i) }
        while i < tag.endIndex, !isSpace(tag[i]), tag[i] != ">", tag[i] != "/" { i = tag.index(after: i) }
        while i < tag.endIndex {
            let start = i
            while i < tag.endIndex, isSpace(tag[i]) { i = tag.index(after: i) }
            guard i < tag.endIndex, tag[i] != ">" else { break }
            if tag[i] == "/" { i = tag.index(after: i); continue }
            let nameStart = i
            while i < tag.endIndex, !isSpace(tag[i]), tag[i] != "=", tag[i] != ">", tag[i] != "/" { i = tag.index(after: i) }
            let name = tag[nameStart..<i].lowercased()
            var j = i
            while j < tag.endIndex, isSpace(tag[j]) { j = tag.index(after: j) }
            var value: Substring?
            if j < tag.endIndex, tag[j] == "=" {
                j = tag.index(after: j)
                while j < tag.endIndex, isSpace(tag[j]) { j = tag.index(after: j) }
                if j < tag.endIndex, tag[j] == "\"" || tag[j] == "'" {
                    let quote = tag[j]
                    let valueStart = tag.index(after: j)
                    var k = valueStart
                    while k < tag.endIndex, tag[k] != quote { k = tag.index(after: k) }
                    value = tag[valueStart..<k]
                    i = k < tag.endIndex ? tag.index(after: k) : k
                } else {
                    var k = j
                    while k < tag.endIndex, !isSpace(tag[k]), tag[k] != ">" { k = tag.index(after: k) }
                    value = tag[j..<k]
                    i = k
                }
            }
            if name.isEmpty { i = tag.index(after: i); continue }
            attributes.append(HTMLAttribute(name: name, value: value, range: start..<i))
        }
        return attributes
    }
}
