/// Text from outside (lead fields, tags, relay replies) made safe to print on a terminal:
/// control characters — escape sequences that could retitle the window, clear the screen or
/// move the cursor, NUL — are shown as `\u{…}` instead of acting. Line breaks and tabs stay.
func terminalSafe(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        if isUnsafe(scalar) {
            out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
        } else {
            out.append(scalar)
        }
    }
    return String(out)
}

private func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x0A, 0x09: false
    case 0x00...0x1F, 0x7F...0x9F: true
    case 0x202A...0x202E, 0x2066...0x2069: true // bidirectional overrides reorder what is shown
    default: false
    }
}
