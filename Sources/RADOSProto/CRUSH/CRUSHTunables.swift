/// The map-wide knobs of the CRUSH mapper.
///
/// Source: ceph/ceph `src/crush/crush.h` (fields of `struct crush_map`) and
/// `CrushWrapper::set_tunables_legacy` in `src/crush/CrushWrapper.h`: a map whose
/// encoding stops before a tunable keeps the legacy ("argonaut") value, which is
/// what the defaults here are.
package struct CRUSHTunables: Sendable, Hashable {
    /// Local retries on a collision before retrying the descent (legacy 2).
    package var chooseLocalTries: UInt32 = 2
    /// Exhaustive local search attempts (legacy 5).
    package var chooseLocalFallbackTries: UInt32 = 5
    /// Retries of the whole descent; the mapper tries one more time than this (legacy 19).
    package var chooseTotalTries: UInt32 = 19
    /// chooseleaf recursion makes a single attempt (legacy 0).
    package var chooseleafDescendOnce: UInt32 = 0
    /// Pass `r >> (vary_r - 1)` into the chooseleaf recursion; 0 passes 0 (legacy 0).
    package var chooseleafVaryR: UInt8 = 0
    /// chooseleaf recursion starts at rank 0 for every replica (legacy 0).
    package var chooseleafStable: UInt8 = 0
    /// How straw lengths were computed when the map was built; informational here.
    package var strawCalcVersion: UInt8 = 0
    /// Bit mask of `1 << Algorithm` the cluster allows (legacy: uniform, list, straw).
    package var allowedBucketAlgorithms: UInt32 = (1 << 1) | (1 << 2) | (1 << 4)

    package init() {}
}
