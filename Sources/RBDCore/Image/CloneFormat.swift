import Foundation
import NIOCore
import RADOSProto

/// How a clone is recorded (`rbd_default_clone_format`, `--rbd-default-clone-format`).
///
/// Format 1 lists the clone in `rbd_children` of its pool and needs the parent snapshot
/// protected; format 2 lists it on the parent's header, needs no protection, lets the
/// parent snapshot be removed while clones use it (it waits in the trash namespace) and
/// allows clones across namespaces, but only clients since Mimic understand it. `auto`
/// picks format 2 when the cluster requires Mimic clients or newer, as librbd does
/// (`src/librbd/image/CloneRequest.cc`, `validate_options`).
public enum CloneFormat: String, Sendable, Hashable, CaseIterable {
    case v1 = "1"
    case v2 = "2"
    case auto

    /// Parses the option's value ("1", "2" or "auto").
    public init?(parsing text: String) {
        self.init(rawValue: text.trimmingCharacters(in: .whitespaces))
    }

    /// Ceph release numbers (`ceph_release_t`, `src/common/ceph_releases.h`) by name.
    static let releases: [String: Int] = [
        "argonaut": 1, "bobtail": 2, "cuttlefish": 3, "dumpling": 4, "emperor": 5, "firefly": 6,
        "giant": 7, "hammer": 8, "infernalis": 9, "jewel": 10, "kraken": 11, "luminous": 12,
        "mimic": 13, "nautilus": 14, "octopus": 15, "pacific": 16, "quincy": 17, "reef": 18,
        "squid": 19, "tentacle": 20,
    ]

    /// The format `auto` means for a cluster whose OSDMap says these clients at least
    /// (`min_compat_client`, `require_min_compat_client`, release names as `ceph osd dump`
    /// prints them): 2 when the newer of the two is Mimic or later, else 1. An unknown
    /// name counts as older.
    static func automatic(minCompatClient: String?, requireMinCompatClient: String?) -> CloneFormat {
        let newest = [minCompatClient, requireMinCompatClient].compactMap { $0.flatMap { releases[$0.lowercased()] } }.max() ?? 0
        return newest >= releases["mimic", default: 13] ? .v2 : .v1
    }

    /// The format to use: itself, or for `auto` what the cluster allows (read with `ceph
    /// osd dump`, whose JSON names both releases).
    func resolved(_ io: IOContext) async throws(RADOSError) -> CloneFormat {
        guard self == .auto else { return self }
        let output = try await io.monCommand(#"{"prefix": "osd dump", "format": "json"}"#)
        let object = (try? JSONSerialization.jsonObject(with: Data(output.readableBytesView))) as? [String: Any]
        guard let object else { throw RADOSError(.malformedData, "the monitor's osd dump is not JSON") }
        return Self.automatic(minCompatClient: object["min_compat_client"] as? String, requireMinCompatClient: object["require_min_compat_client"] as? String)
    }
}

extension RADOSConfiguration {
    /// `rbd_default_clone_format` ("auto" when unset).
    ///
    /// - Throws: ``RADOSError`` `.invalidConfiguration` for a value other than 1, 2 or auto.
    public func cloneFormat() throws(RADOSError) -> CloneFormat {
        guard let text = try string("rbd_default_clone_format") else { return .auto }
        guard let format = CloneFormat(parsing: text) else {
            throw RADOSError(.invalidConfiguration, "rbd_default_clone_format must be 1, 2 or auto, not '\(text)'")
        }
        return format
    }
}
