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
