import Foundation

/// RBD image feature bits (`RBD_FEATURE_*`, ceph/ceph `src/include/rbd/features.h`).
public struct RBDFeatures: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let layering = RBDFeatures(rawValue: 1 << 0)
    public static let stripingV2 = RBDFeatures(rawValue: 1 << 1)
    public static let exclusiveLock = RBDFeatures(rawValue: 1 << 2)
    public static let objectMap = RBDFeatures(rawValue: 1 << 3)
    public static let fastDiff = RBDFeatures(rawValue: 1 << 4)
    public static let deepFlatten = RBDFeatures(rawValue: 1 << 5)
    public static let journaling = RBDFeatures(rawValue: 1 << 6)
    public static let dataPool = RBDFeatures(rawValue: 1 << 7)
    public static let operations = RBDFeatures(rawValue: 1 << 8)
    public static let migrating = RBDFeatures(rawValue: 1 << 9)
    public static let nonPrimary = RBDFeatures(rawValue: 1 << 10)

    /// What Pacific's `rbd create` enables by default (`rbd_default_features` = 61).
    public static let pacificDefault: RBDFeatures = [.layering, .exclusiveLock, .objectMap, .fastDiff, .deepFlatten]

    /// The names `rbd info` prints, in bit order.
    static let names: [(RBDFeatures, String)] = [
        (.layering, "layering"), (.stripingV2, "striping"), (.exclusiveLock, "exclusive-lock"),
        (.objectMap, "object-map"), (.fastDiff, "fast-diff"), (.deepFlatten, "deep-flatten"),
        (.journaling, "journaling"), (.dataPool, "data-pool"), (.operations, "operations"),
        (.migrating, "migrating"), (.nonPrimary, "non-primary"),
    ]

    /// Feature names as `rbd info` lists them.
    public var names: [String] { Self.names.filter { contains($0.0) }.map(\.1) }

    public var description: String { names.joined(separator: ", ") }
}

extension RBDFeatures {
    /// Every feature bit librbd knows (`RBD_FEATURES_ALL`).
    public static let all: RBDFeatures = [
        .layering, .stripingV2, .exclusiveLock, .objectMap, .fastDiff, .deepFlatten,
        .journaling, .dataPool, .operations, .migrating, .nonPrimary,
    ]

    /// Features a user may ask for when creating an image: not the internally controlled
    /// ones (`operations`, `migrating`, `non-primary`; `striping` and `data-pool` follow
    /// from the layout and the data pool). Source: `src/include/rbd/features.h`
    /// (`RBD_FEATURES_INTERNAL`, `RBD_FEATURES_IMPLICIT_ENABLE`).
    public static let userSettable: RBDFeatures = [.layering, .stripingV2, .exclusiveLock, .objectMap, .fastDiff, .deepFlatten, .journaling, .dataPool]

    /// Parses a feature list as `rbd_default_features` and `--image-feature` take it:
    /// a decimal bit mask ("61") or names separated by commas ("layering,exclusive-lock").
    /// Returns nil for an unknown name or a bit librbd does not know.
    /// Source: `src/librbd/Features.cc` (`rbd_features_from_string`).
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let bits = UInt64(trimmed) {
            guard bits & ~RBDFeatures.all.rawValue == 0 else { return nil }
            self.init(rawValue: bits)
            return
        }
        var features: RBDFeatures = []
        for part in trimmed.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { continue }
            guard let feature = RBDFeatures.names.first(where: { $0.1 == name })?.0 else { return nil }
            features.insert(feature)
        }
        self = features
    }
}
