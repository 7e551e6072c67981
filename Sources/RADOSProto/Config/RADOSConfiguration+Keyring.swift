import Foundation

extension RADOSConfiguration {
    /// The files the `keyring` option names, after `$` expansion (separated by `,`, `;`,
    /// blanks), in order.
    package func keyringCandidates() throws(RADOSError) -> [String] {
        let list = try string("keyring") ?? ""
        return list.split(whereSeparator: { ",; \t".contains($0) }).map(String.init)
    }

    /// This entity's secret, as `KeyRing::from_ceph_context` finds it (Pacific): the
    /// first existing file of `keyring` is loaded; then `key` (base64) if set wins,
    /// else `keyfile` (a file holding the base64 key).
    ///
    /// - Throws: `.notFound` when there is no keyring and no key, or the keyring has no
    ///   entry for this entity; `.invalidConfiguration` naming the file and line for a
    ///   malformed keyring. No error ever contains the key.
    package func secret() throws(RADOSError) -> CryptoKey {
        if let key = try string("key"), !key.isEmpty {
            do {
                return try CryptoKey(keyringBase64: key)
            } catch {
                throw RADOSError(.invalidConfiguration, "option key: \(error.rawValue)")
            }
        }
        if let keyfile = try string("keyfile"), !keyfile.isEmpty {
            let bytes = try ConfigFileSearch.readBytes(keyfile, what: "key file")
            do {
                return try CryptoKey(keyringBase64: String(decoding: bytes, as: UTF8.self))
            } catch {
                throw RADOSError(.invalidConfiguration, "\(keyfile): \(error.rawValue)")
            }
        }
        let candidates = try keyringCandidates()
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw RADOSError(.notFound, "no keyring found in \(candidates.joined(separator: ", ")) and no key or keyfile set")
        }
        let keyring = try Keyring.parse(bytes: ConfigFileSearch.readBytes(path, what: "keyring"), origin: path)
        guard let secret = keyring[entity]?.secret else {
            throw RADOSError(.notFound, "keyring \(path) has no key for \(entity)")
        }
        return secret
    }

    /// A warning for each file holding this entity's secret (the keyring or keyfile
    /// ``secret()`` reads) that other users can read or write, as ssh warns of an open
    /// private key: `keyring /etc/ceph/x.keyring can be read by other users (mode 0644);
    /// chmod 600 it`. Empty when the key comes from the `key` option or files are private.
    package func secretFileWarnings() -> [String] {
        if let key = try? string("key"), !key.isEmpty { return [] }
        let path: String
        let what: String
        if let keyfile = try? string("keyfile"), !keyfile.isEmpty {
            (path, what) = (keyfile, "key file")
        } else if let found = (try? keyringCandidates())?.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            (path, what) = (found, "keyring")
        } else {
            return []
        }
        guard let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
              mode & 0o077 != 0 else { return [] }
        let access = mode & 0o044 != 0 ? "read" : "written"
        return ["\(what) \(path) can be \(access) by other users (mode \(String(mode & 0o777, radix: 8).leftPadded(to: 4))); chmod 600 it"]
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
