import NIOCore
import RADOSProto

/// `rbd feature enable|disable` (ceph/ceph `src/librbd/Operations.cc` `update_features`,
/// `src/librbd/operation/EnableFeaturesRequest.cc`, `DisableFeaturesRequest.cc`): only
/// exclusive-lock, object-map and fast-diff may be turned on, and those plus
/// deep-flatten turned off, in their dependency order; object-map and fast-diff go
/// together, as rbd 16.2 turns them on and off. An object map turned on starts
/// empty and flagged invalid (as librbd leaves it: `rbd object-map rebuild` fills it);
/// turned off, the maps of the head and every snapshot are removed.
extension Image {
    /// Features that can be enabled, and those that can be disabled.
    static let enableableFeatures: RBDFeatures = [.exclusiveLock, .objectMap, .fastDiff]
    static let disableableFeatures: RBDFeatures = [.exclusiveLock, .objectMap, .fastDiff, .deepFlatten]

    /// Turns `features` on (`enable`) or off. EINVAL for immutable features or a
    /// dependency not met (object-map needs exclusive-lock); EOPNOTSUPP for journaling, which this client does not write; EBUSY
    /// while another client holds the exclusive lock.
    public func updateFeatures(_ features: RBDFeatures, enable: Bool) async throws(RADOSError) {
        guard !isReadOnly else { throw RADOSError(.permissionDenied, "image \(name) is open read-only", errno: 30) }
        try await refresh()
        let current = info.features
        if features.contains(.journaling) {
            throw RADOSError(.unsupported, "journaling is not supported by SwiftRBD (it cannot write journaled images)", errno: 95)
        }
        guard features.isSubset(of: enable ? Self.enableableFeatures : Self.disableableFeatures) else {
            throw RADOSError(.invalidArgument, "cannot update immutable features", errno: 22)
        }
        // As librbd 16.2 does: object-map and fast-diff go on and off together.
        var features = features
        if !features.isDisjoint(with: [.objectMap, .fastDiff]) { features.formUnion([.objectMap, .fastDiff]) }
        // As librbd: every requested feature must change.
        let changing = features
        guard enable ? features.isDisjoint(with: current) : features.isSubset(of: current) else {
            throw RADOSError(.invalidArgument, "one or more requested features are already \(enable ? "enabled" : "disabled")", errno: 22)
        }
        let after = enable ? current.union(changing) : current.subtracting(changing)
        if after.contains(.objectMap), !after.contains(.exclusiveLock) {
            throw RADOSError(.invalidArgument, enable
                ? "cannot enable object-map. exclusive-lock must be enabled before enabling object-map."
                : "cannot disable exclusive-lock. object-map or journaling must be disabled before disabling exclusive-lock.", errno: 22)
        }
        if current.contains(.exclusiveLock) {
            let lockers = try await metadataIO.lockers(headerObject, name: ImageNotify.lockName)
            if let holder = lockers.holders.first {
                throw RADOSError(.clusterError, "image \(name) is in use: \(holder.client) holds its exclusive lock", errno: 16)
            }
        }
        var ops: [OSDOp] = []
        if enable {
            var flags: UInt64 = 0
            if changing.contains(.objectMap) {
                flags |= ClsRBD.flagObjectMapInvalid
                // Empty maps, head and snapshots, flagged invalid until rebuilt.
                for snapshot in snapshots {
                    _ = try await metadataIO.operate(RBDObjectNames.objectMap(imageID: id, snapID: snapshot.id), [
                        ClsRBD.objectMapResize(objectCount: Striper.objectCount(layout, imageSize: snapshot.size), defaultState: .nonexistent),
                    ])
                    _ = try await metadataIO.operate(headerObject, [ClsRBD.setFlags(ClsRBD.flagObjectMapInvalid | ClsRBD.flagFastDiffInvalid, mask: ClsRBD.flagObjectMapInvalid | ClsRBD.flagFastDiffInvalid, snapID: snapshot.id)])
                }
                _ = try await metadataIO.operate(RBDObjectNames.objectMap(imageID: id), [
                    ClsRBD.objectMapResize(objectCount: Striper.objectCount(layout, imageSize: info.size), defaultState: .nonexistent),
                ])
            }
            if after.contains(.fastDiff) { flags |= ClsRBD.flagFastDiffInvalid }
            if flags != 0 { ops.append(ClsRBD.setFlags(flags, mask: flags, snapID: MOSDOp.noSnap)) }
            ops.append(ClsRBD.setFeatures(changing.rawValue, mask: changing.rawValue))
        } else {
            ops.append(ClsRBD.setFeatures(0, mask: changing.rawValue))
            var cleared: UInt64 = 0
            if changing.contains(.objectMap) { cleared |= ClsRBD.flagObjectMapInvalid | ClsRBD.flagFastDiffInvalid }
            if changing.contains(.fastDiff) { cleared |= ClsRBD.flagFastDiffInvalid }
            if cleared != 0 { ops.append(ClsRBD.setFlags(0, mask: cleared, snapID: MOSDOp.noSnap)) }
        }
        _ = try await metadataIO.operate(headerObject, ops)
        if !enable, changing.contains(.objectMap) {
            for object in [RBDObjectNames.objectMap(imageID: id)] + snapshots.map({ RBDObjectNames.objectMap(imageID: id, snapID: $0.id) }) {
                do {
                    try await metadataIO.remove(object)
                } catch where error.code == .notFound {}
            }
        }
        try await headerChanged()
    }
}

extension ClsRBD {
    /// `set_features`: the bits of `mask` become those of `features`.
    package static func setFeatures(_ features: UInt64, mask: UInt64) -> OSDOp {
        call("set_features") {
            $0.writeDencU64(features)
            $0.writeDencU64(mask)
        }
    }
}
