import Foundation

/// String tests for the rendering path, which runs for every lead field, link and header of
/// every email, without going through `NSString`: `trimmingCharacters(in:)` and
/// `contains(_:)` with a string argument bridge on every call.
extension String {
    /// Whether the UTF-8 bytes hold `needle`'s bytes: a literal search, for ASCII needles.
    func containsBytes(_ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard n > 0 else { return true }
        return needle.withUTF8Buffer { needle in
            let bytes = utf8
            var i = bytes.startIndex
            var remaining = bytes.count
            while remaining >= n {
                if bytes[i] == needle[0] {
                    var j = bytes.index(after: i), k = 1
                    while k < n, bytes[j] == needle[k] {
                        j = bytes.index(after: j)
                        k += 1
                    }
                    if k == n { return true }
                }
                i = bytes.index(after: i)
                remaining -= 1
            }
            return false
        }
    }

    /// `trimmingCharacters(in:)` by Unicode scalar, with the same result.
    /// - Parameter set: a set of whitespace: its fast path takes a string that starts and ends
    ///   with visible ASCII as untrimmable, which holds for `.whitespaces` and
    ///   `.whitespacesAndNewlines`, not for a set holding visible ASCII characters.
    /// - Returns: the string without leading and trailing scalars of `set` (by default spaces
    ///   and tabs, `CharacterSet.whitespaces`).
    func trimmed(_ set: CharacterSet = .whitespaces) -> String {
        // Most values start and end with a visible ASCII character: nothing to trim.
        if let first = utf8.first, let last = utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return String(self)
        }
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !set.contains($0) }) else { return "" }
        let end = scalars.lastIndex(where: { !set.contains($0) })!
        return String(scalars[start...end])
    }

    /// Whether the string holds nothing but scalars of `set` (by default spaces and tabs).
    func isBlank(_ set: CharacterSet = .whitespaces) -> Bool {
        unicodeScalars.allSatisfy { set.contains($0) }
    }
}
