import RADOSProto

extension ImageSpec {
    /// Parses `rbd:pool/[ns/]image[@snap][:k=v...]`, or the plain `[pool/[ns/]]image[@snap]`.
    ///
    /// - Throws: ``RADOSError`` `.invalidArgument` (EINVAL) with a one-line message
    ///   naming what is wrong.
    public static func parse(_ text: String) throws(RADOSError) -> ImageSpec {
        if text.hasPrefix("rbd:") {
            return try parseQEMU(Substring(text.dropFirst(4)))
        }
        return try parsePlain(Substring(text))
    }

    /// The `rbd:` form without its prefix.
    private static func parseQEMU(_ body: Substring) throws(RADOSError) -> ImageSpec {
        let tokens = try SpecTokens(body)
        // Options start at the first unescaped ':'.
        let parts = tokens.split(on: ":")
        let name = parts[0]
        var spec = try parseName(name, requirePool: true)
        for raw in parts.dropFirst() {
            if raw.isEmpty { throw invalid("empty option (a ':' with nothing after it)") }
            let keyValue = raw.split(on: "=", maxSplits: 1)
            guard keyValue.count == 2 else {
                throw invalid("option '\(raw.text)' has no '=value'")
            }
            let key = keyValue[0].text
            guard !key.isEmpty else { throw invalid("option '\(raw.text)' has an empty key") }
            spec.options.append(Option(key: key, value: keyValue[1].text))
        }
        return spec
    }

    private static func parsePlain(_ body: Substring) throws(RADOSError) -> ImageSpec {
        try parseName(SpecTokens(body), requirePool: false)
    }

    /// `pool/[ns/]image[@snap]` (the pool optional when `requirePool` is false).
    private static func parseName(_ name: SpecTokens, requirePool: Bool) throws(RADOSError) -> ImageSpec {
        let at = name.split(on: "@")
        guard at.count <= 2 else { throw invalid("more than one '@' (escape it as '\\@' inside a name)") }
        var snapshot: String?
        if at.count == 2 {
            snapshot = at[1].text
            guard snapshot?.isEmpty == false else { throw invalid("empty snapshot name after '@'") }
        }
        let path = at[0].split(on: "/")
        var pool = ImageSpec.defaultPool, namespace = "", image: String
        switch path.count {
        case 1:
            if requirePool { throw invalid("missing pool: expected rbd:pool/image") }
            image = path[0].text
        case 2:
            pool = path[0].text
            image = path[1].text
        case 3:
            pool = path[0].text
            namespace = path[1].text
            image = path[2].text
            if namespace.isEmpty { throw invalid("empty namespace name") }
        default:
            throw invalid("too many '/' (expected pool/[namespace/]image; escape '/' as '\\/')")
        }
        if pool.isEmpty { throw invalid("empty pool name") }
        if image.isEmpty { throw invalid("empty image name") }
        return ImageSpec(pool: pool, namespace: namespace, image: image, snapshot: snapshot)
    }

    private static func invalid(_ what: String) -> RADOSError {
        RADOSError(.invalidArgument, "invalid image spec: \(what)")
    }
}

/// A spec's characters with escapes resolved: each knows whether a backslash made it literal.
struct SpecTokens {
    var chars: [(char: Character, escaped: Bool)]

    init(chars: [(char: Character, escaped: Bool)]) {
        self.chars = chars
    }

    init(_ text: Substring) throws(RADOSError) {
        var out: [(char: Character, escaped: Bool)] = []
        var iterator = text.makeIterator()
        while let c = iterator.next() {
            if c == "\\" {
                guard let next = iterator.next() else {
                    throw RADOSError(.invalidArgument, "invalid image spec: dangling '\\' at the end")
                }
                out.append((next, true))
            } else {
                out.append((c, false))
            }
        }
        chars = out
    }

    var isEmpty: Bool { chars.isEmpty }
    var text: String { String(chars.map(\.char)) }

    /// Splits on unescaped `separator`, keeping empty pieces.
    func split(on separator: Character, maxSplits: Int = .max) -> [SpecTokens] {
        var pieces: [SpecTokens] = []
        var current: [(char: Character, escaped: Bool)] = []
        for c in chars {
            if c.char == separator, !c.escaped, pieces.count < maxSplits {
                pieces.append(SpecTokens(chars: current))
                current = []
            } else {
                current.append(c)
            }
        }
        pieces.append(SpecTokens(chars: current))
        return pieces
    }
}
