/// A parsed `ceph.conf` (or plain-text keyring): sections of `key = value` lines.
///
/// The grammar follows Ceph's `src/common/ConfUtils.cc` (Pacific), checked against
/// `ceph-conf` 16.2:
/// - `[heading]` opens a section; the heading is taken verbatim (`[ client.a ]` is the
///   section " client.a ", which no daemon or client ever reads). Repeated headings merge.
/// - `key = value`; a key is words separated by blanks, normalised by trimming and turning
///   each run of whitespace into one `_` (`rbd cache size` is `rbd_cache_size`). Dashes are
///   *not* folded in files: `rbd-cache = false` sets nothing (only the command line folds them).
/// - `#` and `;` start a comment, also after a value; a comment character cannot appear in a
///   value, not even quoted, unless escaped with a backslash.
/// - A value may be quoted with `"` or `'`; an unquoted value is trimmed.
/// - A backslash before any character takes that character literally; a backslash at the
///   end of a line joins the next line (continuation).
/// - The last of several lines with the same key in a section wins.
/// - A `key = value` line before the first heading is accepted only when it is the whole file.
/// - Invalid UTF-8 is an error.
///
/// One difference on purpose: Ceph rejects a file whose last line lacks its newline;
/// we accept it.
package struct ConfFile: Sendable, Hashable {
    /// One value with the line it came from (for error messages).
    package struct Entry: Sendable, Hashable {
        package var value: String
        package var line: Int
    }

    /// Section heading → normalised key → entry.
    package private(set) var sections: [String: [String: Entry]] = [:]
    /// Headings in the order they first appeared.
    package private(set) var sectionOrder: [String] = []
    /// The line of each heading's first appearance.
    package private(set) var sectionLines: [String: Int] = [:]
    /// The file the text came from, for messages (`"<string>"` when parsed from memory).
    package let origin: String

    package init(origin: String = "<string>") {
        self.origin = origin
    }

    /// The entry of `key` (any spelling with blanks or underscores) in `section`.
    package func entry(section: String, key: String) -> Entry? {
        sections[section]?[ConfFile.normalizeKey(key)]
    }

    /// The value of `key` in `section`.
    package func value(section: String, key: String) -> String? {
        entry(section: section, key: key)?.value
    }

    /// Ceph's `ConfFile::normalize_key_name`: trim whitespace, turn inner runs into one `_`.
    package static func normalizeKey(_ key: some StringProtocol) -> String {
        var out = ""
        var pendingGap = false
        for ch in key {
            if ch.isWhitespace {
                pendingGap = !out.isEmpty
            } else {
                if pendingGap { out.append("_") }
                pendingGap = false
                out.append(ch)
            }
        }
        return out
    }

    // MARK: Parsing

    /// Parses `bytes` (the whole file). Errors name the origin and line, never a value.
    package static func parse(bytes: some Collection<UInt8>, origin: String = "<string>") throws(RADOSError) -> ConfFile {
        let array = Array(bytes)
        guard let text = String(validating: array, as: UTF8.self) else {
            // Name the first line that does not decode (a newline never sits inside a sequence).
            var line = 1
            for piece in array.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                if String(validating: piece, as: UTF8.self) == nil { break }
                line += 1
            }
            throw RADOSError(.invalidConfiguration, "\(origin):\(line): invalid UTF-8")
        }
        return try parse(text, origin: origin)
    }

    /// Parses `text`. Errors name the origin and line, never a value.
    package static func parse(_ text: String, origin: String = "<string>") throws(RADOSError) -> ConfFile {
        var file = ConfFile(origin: origin)
        var current: String?
        var looseEntries: [(String, Entry)] = []
        var sawOther = false
        for logical in LogicalLines(text) {
            var reader = LineReader(chars: logical.chars)
            reader.skipBlanks()
            if reader.atEndOrComment { continue }
            let line = logical.line
            func fail(_ what: String) -> RADOSError {
                RADOSError(.invalidConfiguration, "\(origin):\(line): \(what)")
            }
            if reader.peekIs("[") {
                reader.advance()
                var heading = ""
                while let c = reader.peek, !(c.char == "]" && !c.escaped) {
                    if !c.escaped && (c.char == "#" || c.char == ";") { throw fail("expected ']' to close the section name") }
                    heading.append(c.char)
                    reader.advance()
                }
                guard reader.peekIs("]") else { throw fail("expected ']' to close the section name") }
                reader.advance()
                guard !heading.isEmpty else { throw fail("empty section name") }
                reader.skipBlanks()
                guard reader.atEndOrComment else { throw fail("unexpected text after the section name") }
                if file.sections[heading] == nil {
                    file.sections[heading] = [:]
                    file.sectionOrder.append(heading)
                    file.sectionLines[heading] = line
                }
                current = heading
                sawOther = true
                continue
            }
            // key = value
            var rawKey = ""
            while let c = reader.peek, !(c.char == "=" && !c.escaped) {
                if !c.escaped && (c.char == "#" || c.char == ";" || c.char == "[") {
                    throw fail("expected '=' after the option name")
                }
                rawKey.append(c.char)
                reader.advance()
            }
            guard reader.peekIs("=") else { throw fail("expected '=' after the option name") }
            reader.advance()
            let key = normalizeKey(rawKey)
            guard !key.isEmpty else { throw fail("empty option name") }
            reader.skipBlanks()
            var value = ""
            if let q = reader.peek, !q.escaped, q.char == "\"" || q.char == "'" {
                reader.advance()
                var closed = false
                while let c = reader.peek {
                    if !c.escaped && c.char == q.char {
                        closed = true
                        reader.advance()
                        break
                    }
                    if !c.escaped && (c.char == "#" || c.char == ";") { break }
                    value.append(c.char)
                    reader.advance()
                }
                guard closed else { throw fail("expected a closing \(q.char) quote for the value of '\(key)'") }
                reader.skipBlanks()
                guard reader.atEndOrComment else { throw fail("unexpected text after the quoted value of '\(key)'") }
                value = value.cephTrimmed()
            } else {
                while let c = reader.peek, !( !c.escaped && (c.char == "#" || c.char == ";")) {
                    value.append(c.char)
                    reader.advance()
                }
                value = value.cephTrimmed()
            }
            let entry = Entry(value: value, line: line)
            guard let section = current else {
                looseEntries.append((key, entry))
                continue
            }
            file.sections[section, default: [:]][key] = entry
        }
        if !looseEntries.isEmpty {
            // Ceph accepts a lone `key = value` as a whole file (into [global]); anything
            // else before the first heading is a parse error.
            guard looseEntries.count == 1, !sawOther else {
                throw RADOSError(.invalidConfiguration, "\(origin):\(looseEntries[looseEntries.count > 1 ? 1 : 0].1.line): option outside of any [section]")
            }
            file.sections["global", default: [:]][looseEntries[0].0] = looseEntries[0].1
            if !file.sectionOrder.contains("global") { file.sectionOrder.append("global") }
        }
        return file
    }
}
