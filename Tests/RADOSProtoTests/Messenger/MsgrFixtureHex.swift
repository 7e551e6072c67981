import NIOCore

/// Hex helpers for the messenger tests' byte fixtures (names prefixed to stay out of other suites' way).
/// Parses annotated fixtures: on each line, whitespace-separated even-length hex tokens up
/// to the first token that is not one (the comment).
func msgrFixtureBytes(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    for line in text.split(separator: "\n") {
        for token in line.split(separator: " ") {
            guard token.count % 2 == 0, token.allSatisfy(\.isHexDigit) else { break }
            let chars = Array(token)
            for i in stride(from: 0, to: chars.count, by: 2) {
                out.append(UInt8(String(chars[i...i + 1]), radix: 16) ?? 0)
            }
        }
    }
    return out
}

func msgrFixtureBuffer(_ text: String) -> ByteBuffer { ByteBuffer(bytes: msgrFixtureBytes(text)) }

extension ByteBuffer {
    var msgrHex: String { (getBytes(at: readerIndex, length: readableBytes) ?? []).map { String(format: "%02x", $0) }.joined() }
}
