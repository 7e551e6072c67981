/// One address of a monitor, as `mon_host` (or a `[mon.X]` section's `mon_addr`) gives it.
///
/// Parsing follows Ceph's `parse_ip_port_vec` (`src/msg/msg_types.cc`) and
/// `MonMap::_add_ambiguous_addr` (`src/mon/MonMap.cc`, Pacific):
/// - monitors are separated by spaces, `;` or `,`; a bracketed list
///   `[v2:1.2.3.4:3300,v1:1.2.3.4:6789]` is one monitor with several addresses;
/// - an address is `[v1:|v2:|any:]host[:port]`, IPv6 hosts in brackets (`[::1]:6789`);
/// - an address without a prefix and without a port stands for both `v2:host:3300` and
///   `v1:host:6789`; without a prefix, port 6789 means v1 and 3300 means v2;
/// - a prefixed address without a port gets its kind's default port.
/// Host names are kept as written (Ceph resolves them with DNS; we do it at connect time).
package struct MonitorAddress: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable, Hashable {
        /// msgr v1 (`v1:`), legacy port 6789.
        case v1
        /// msgr v2 (`v2:`), IANA port 3300.
        case v2
        /// No prefix and an unusual port: either protocol.
        case any
    }

    package static let v1Port: UInt16 = 6789
    package static let v2Port: UInt16 = 3300

    package var kind: Kind
    /// An IPv4 or IPv6 literal (without brackets) or a host name.
    package var host: String
    package var port: UInt16

    package init(kind: Kind, host: String, port: UInt16) {
        self.kind = kind
        self.host = host
        self.port = port
    }

    /// `v2:1.2.3.4:3300`, `v1:[::1]:6789`.
    package var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(kind.rawValue):\(h):\(port)"
    }

    /// Parses a whole `mon_host` value into monitors, each with its addresses.
    package static func parseMonHost(_ text: String) throws(RADOSError) -> [[MonitorAddress]] {
        var monitors: [[MonitorAddress]] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == ";" || c == "," || c == "\n" {
                i += 1
                continue
            }
            if c == "[" && !looksLikeIPv6(chars, i) {
                // An address vector: [addr,addr,...]
                guard let close = closingBracket(chars, from: i) else {
                    throw bad(text, "missing ']'")
                }
                var vector: [MonitorAddress] = []
                for piece in splitTopLevel(chars[(i + 1)..<close]) where !piece.isEmpty {
                    let parsed = try parseOne(piece, whole: text)
                    vector.append(parsed.withDefaultPort())
                }
                guard !vector.isEmpty else { throw bad(text, "empty address list") }
                monitors.append(vector)
                i = close + 1
                continue
            }
            var end = i
            var depth = 0
            while end < chars.count {
                let e = chars[end]
                if e == "[" { depth += 1 }
                if e == "]" { depth -= 1 }
                if depth == 0 && (e == " " || e == "\t" || e == ";" || e == "," || e == "\n") { break }
                end += 1
            }
            let single = try parseOne(String(chars[i..<end]), whole: text)
            monitors.append(single.ambiguousExpansion())
            i = end
        }
        return monitors
    }

    // MARK: One address

    /// `[v1:|v2:|any:]host[:port]`; port 0 when absent.
    static func parseOne(_ text: String, whole: String) throws(RADOSError) -> MonitorAddress {
        var rest = Substring(text)
        var kind = Kind.any
        for (prefix, k) in [("v1:", Kind.v1), ("v2:", Kind.v2), ("any:", Kind.any)] where rest.hasPrefix(prefix) {
            kind = k
            rest = rest.dropFirst(prefix.count)
            break
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad(whole, "missing ']' after IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad(whole, "unexpected text after ']'") }
                portText = after.dropFirst()
            }
            guard isIPv6(host) else { throw bad(whole, "'\(host)' is not an IPv6 address") }
        } else {
            let colons = rest.filter { $0 == ":" }.count
            if colons == 1, let colon = rest.firstIndex(of: ":") {
                host = rest[..<colon]
                portText = rest[rest.index(after: colon)...]
            } else if colons == 0 {
                host = rest
            } else if isIPv6(rest) {
                host = rest  // bare IPv6 without port
            } else {
                throw bad(whole, "'\(rest)' is not an address")
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }) else {
                throw bad(whole, "'\(host)' is not a host name or address")
            }
        }
        var port: UInt16 = 0
        if let portText {
            guard let p = UInt16(portText), p > 0 else { throw bad(whole, "bad port '\(portText)'") }
            port = p
        }
        return MonitorAddress(kind: kind, host: String(host), port: port)
    }

    /// A prefixed address without a port gets its kind's default.
    func withDefaultPort() -> MonitorAddress {
        guard port == 0 else { return self }
        switch kind {
        case .v1: return MonitorAddress(kind: .v1, host: host, port: MonitorAddress.v1Port)
        case .v2, .any: return MonitorAddress(kind: .v2, host: host, port: MonitorAddress.v2Port)
        }
    }

    /// `MonMap::_add_ambiguous_addr` for a monitor given as one address.
    func ambiguousExpansion() -> [MonitorAddress] {
        switch kind {
        case .v1, .v2:
            return [withDefaultPort()]
        case .any:
            switch port {
            case 0:
                return [MonitorAddress(kind: .v2, host: host, port: MonitorAddress.v2Port),
                        MonitorAddress(kind: .v1, host: host, port: MonitorAddress.v1Port)]
            case MonitorAddress.v1Port:
                return [MonitorAddress(kind: .v1, host: host, port: port)]
            case MonitorAddress.v2Port:
                return [MonitorAddress(kind: .v2, host: host, port: port)]
            default:
                return [self]
            }
        }
    }

    // MARK: Helpers

    private static func bad(_ whole: String, _ what: String) -> RADOSError {
        RADOSError(.invalidConfiguration, "mon_host '\(whole)': \(what)")
    }

    /// A `[` that opens an IPv6 literal rather than an address vector.
    private static func looksLikeIPv6(_ chars: [Character], _ i: Int) -> Bool {
        guard let close = chars[(i + 1)...].firstIndex(of: "]") else { return false }
        return isIPv6(String(chars[(i + 1)..<close]))
    }

    private static func isIPv6(_ s: some StringProtocol) -> Bool {
        s.contains(":") && s.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" }
            && !s.hasPrefix("v1:") && !s.hasPrefix("v2:")
    }

    private static func closingBracket(_ chars: [Character], from open: Int) -> Int? {
        var depth = 0
        for j in open..<chars.count {
            if chars[j] == "[" { depth += 1 }
            if chars[j] == "]" {
                depth -= 1
                if depth == 0 { return j }
            }
        }
        return nil
    }

    private static func splitTopLevel(_ chars: ArraySlice<Character>) -> [String] {
        var pieces: [String] = []
        var current = ""
        var depth = 0
        for c in chars {
            if c == "[" { depth += 1 }
            if c == "]" { depth -= 1 }
            if c == "," && depth == 0 {
                pieces.append(current.cephTrimmed())
                current = ""
            } else {
                current.append(c)
            }
        }
        pieces.append(current.cephTrimmed())
        return pieces
    }
}
