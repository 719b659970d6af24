/// "Did you mean" for names a marketer types: stages, templates, steps, keys.
public enum Spelling {
    /// Levenshtein distance (insertions, deletions and substitutions of one character each).
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The known name closest to `name`, when it is close enough to be a slip (at most 2
    /// edits, or a third of the name's length): `sqll` → `sql`. Names over 64 characters get
    /// no suggestion (the distance costs the product of the lengths).
    public static func suggestion(for name: String, among known: [String]) -> String? {
        guard name.count <= 64 else { return nil }
        let lowered = name.lowercased()
        if let same = known.first(where: { $0.lowercased() == lowered }) { return same }
        let best = known.filter { $0.count <= 64 }.map { ($0, editDistance($0, name)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, name.count / 3) else { return nil }
        return best.0
    }

    /// `; did you mean 'x'?` when there is a close name, else an empty string.
    public static func hint(for name: String, among known: [String]) -> String {
        suggestion(for: name, among: known).map { "; did you mean '\($0)'?" } ?? ""
    }
}
