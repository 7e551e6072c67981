/// A plain-text Ceph keyring: entity sections with a `key` and `caps …` lines.
///
/// ```
/// [client.admin]
///     key = AQD…==
///     caps mon = "allow *"
/// ```
/// Ceph parses keyrings with the `ceph.conf` grammar (`src/auth/KeyRing.cc`,
/// `KeyRing::decode_plaintext`): a section heading must be an entity name; inside it
/// `key` is the base64 `CryptoKey`, `caps <service>` a capability string, `auid` is
/// ignored, and anything else is an error. Errors name the file and line, never the key.
/// Binary keyrings (`keyring.bin`) are not supported.
package struct Keyring: Sendable {
    package struct Entry: Sendable {
        package var secret: CryptoKey?
        /// Service (`mon`, `osd`, …) → capability string.
        package var caps: [String: String]
    }

    package private(set) var entries: [ConfEntityName: Entry] = [:]

    package init() {}

    package subscript(name: ConfEntityName) -> Entry? { entries[name] }

    package mutating func add(_ name: ConfEntityName, secret: CryptoKey) {
        entries[name, default: Entry(secret: nil, caps: [:])].secret = secret
    }

    /// Parses keyring text; `origin` names the file in errors.
    package static func parse(_ text: String, origin: String) throws(RADOSError) -> Keyring {
        let file = try ConfFile.parse(text, origin: origin)
        return try Keyring(file: file)
    }

    package static func parse(bytes: [UInt8], origin: String) throws(RADOSError) -> Keyring {
        if let first = bytes.first, first < 0x09 {
            throw RADOSError(.unsupported, "\(origin): binary keyrings are not supported; use a plain-text keyring")
        }
        return try Keyring(file: ConfFile.parse(bytes: bytes, origin: origin))
    }

    init(file: ConfFile) throws(RADOSError) {
        for heading in file.sectionOrder {
            guard let lines = file.sections[heading] else { continue }
            let firstLine = file.sectionLines[heading] ?? 1
            guard let name = ConfEntityName(parsing: heading) else {
                throw RADOSError(.invalidConfiguration, "\(file.origin):\(firstLine): '\(heading)' is not an entity name (e.g. client.admin)")
            }
            var entry = entries[name] ?? Entry(secret: nil, caps: [:])
            for (key, item) in lines.sorted(by: { $0.value.line < $1.value.line }) {
                if key == "key" {
                    do {
                        entry.secret = try CryptoKey(keyringBase64: item.value)
                    } catch {
                        throw RADOSError(.invalidConfiguration, "\(file.origin):\(item.line): key of \(name): \(error.rawValue)")
                    }
                } else if key.hasPrefix("caps_"), key.count > 5 {
                    entry.caps[String(key.dropFirst(5))] = item.value
                } else if key == "auid" {
                    continue
                } else {
                    throw RADOSError(.invalidConfiguration, "\(file.origin):\(item.line): unknown keyring field '\(key)' for \(name)")
                }
            }
            entries[name] = entry
        }
    }
}
