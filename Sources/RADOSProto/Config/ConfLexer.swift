// The lexing layer of `ConfFile`: escapes, continuations and a line cursor.
// `src/common/ConfUtils.cc`: `text_char` is a backslash and any character but a newline
// (taken literally), or any character but a comment start or newline; the skipper drops
// `\\` + newline (continuation) and comments.

/// One character of a logical line, with whether a backslash made it literal.
struct ConfChar {
    var char: Character
    var escaped: Bool
}

/// Splits text into logical lines: backslash-newline joins lines, backslash-other escapes.
struct LogicalLines: Sequence, IteratorProtocol {
    private var chars: [Character]
    private var index = 0
    private var physicalLine = 1

    init(_ text: String) {
        // "\r\n" is one Character in Swift; normalise lone "\r" to a newline too.
        chars = text.map { $0 == "\r\n" || $0 == "\r" ? "\n" : $0 }
    }

    mutating func next() -> (chars: [ConfChar], line: Int)? {
        guard index < chars.count else { return nil }
        let start = physicalLine
        var out: [ConfChar] = []
        while index < chars.count {
            let c = chars[index]
            if c == "\n" {
                index += 1
                physicalLine += 1
                break
            }
            if c == "\\", index + 1 < chars.count {
                let n = chars[index + 1]
                index += 2
                if n == "\n" {
                    physicalLine += 1  // continuation
                } else {
                    out.append(ConfChar(char: n, escaped: true))
                }
                continue
            }
            out.append(ConfChar(char: c, escaped: false))
            index += 1
        }
        return (out, start)
    }
}

/// A cursor over one logical line.
struct LineReader {
    var chars: [ConfChar]
    var index = 0

    var peek: ConfChar? { index < chars.count ? chars[index] : nil }
    mutating func advance() { index += 1 }
    func peekIs(_ c: Character) -> Bool {
        guard let p = peek else { return false }
        return !p.escaped && p.char == c
    }
    mutating func skipBlanks() {
        while let p = peek, !p.escaped, p.char == " " || p.char == "\t" { index += 1 }
    }
    /// At the end of the line, or at an unescaped `#`/`;`.
    var atEndOrComment: Bool {
        guard let p = peek else { return true }
        return !p.escaped && (p.char == "#" || p.char == ";")
    }
}

extension String {
    /// Trims whitespace at both ends (Ceph trims values with `isspace`).
    func cephTrimmed() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
