/// The three ways the image cache can treat writes, as QEMU's `cache=` modes name them.
public enum CacheMode: String, Sendable, Hashable, CaseIterable {
    /// Writes are acknowledged once in the cache; `flush` makes them durable.
    case writeback
    /// Reads may be served from the cache; every write goes to the OSDs before it is acknowledged.
    case writethrough
    /// No cache at all.
    case none
}

/// The cache settings of an image, with librbd's names, defaults and rules: which cache
/// an image opened with them gets, and how much it may hold.
///
/// Ceph's "QEMU and RBD" guide and `doc/rbd/rbd-config-ref.rst`: writeback is
/// `rbd_cache = true`; writethrough is `rbd_cache = true` with `rbd_cache_max_dirty = 0`;
/// none is `rbd_cache = false`. With `rbd_cache_writethrough_until_flush` (default true)
/// the cache behaves as writethrough until the first flush arrives, so a guest that never
/// flushes cannot lose acknowledged writes. `rbd_cache_policy` picks the cache itself
/// (`src/librbd/image/OpenRequest.cc`, `send_init_cache`, in Pacific): `writearound`
/// (the default) acknowledges writes while they are still in flight and never serves
/// reads; `writeback` and `writethrough` keep the image's bytes in an object cache
/// (librbd's `ObjectCacher`), writethrough with no dirty data at all.
public struct CachePolicy: Sendable, Hashable {
    /// `rbd_cache_policy`.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `WriteAroundObjectDispatch`: writes acknowledged while in flight, up to
        /// `rbd_cache_max_dirty` bytes of them; reads always go to the OSDs.
        case writearound
        /// `ObjectCacher` with dirty data: reads served from the cache, writes
        /// acknowledged once cached, written back on flush, by age and by volume.
        case writeback
        /// `ObjectCacher` without dirty data: reads served from the cache, writes
        /// acknowledged once on the OSDs.
        case writethrough
    }

    /// `rbd_cache`.
    public var enabled: Bool
    /// `rbd_cache_policy`.
    public var kind: Kind
    /// `rbd_cache_size`: the most bytes the object cache holds.
    public var sizeBytes: Int
    /// `rbd_cache_max_dirty`, in bytes: writers wait above it (0: writethrough).
    public var maxDirtyBytes: Int
    /// `rbd_cache_target_dirty`: background writeback starts above it.
    public var targetDirtyBytes: Int
    /// `rbd_cache_max_dirty_age`, in seconds: dirty data older than this is written back.
    public var maxDirtyAge: Double
    /// `rbd_cache_writethrough_until_flush`.
    public var writethroughUntilFlush: Bool
    /// `rbd_readahead_trigger_requests`: sequential reads before readahead starts (the
    /// object cache only, as in librbd).
    public var readaheadTriggerRequests: Int = 10
    /// `rbd_readahead_max_bytes` (0: no readahead).
    public var readaheadMaxBytes: UInt64 = 512 << 10
    /// `rbd_readahead_disable_after_bytes`: readahead stops once the image has read this
    /// much (a guest's own readahead takes over after boot); 0: never stops.
    public var readaheadDisableAfterBytes: UInt64 = 50 << 20

    public init(
        enabled: Bool = true, kind: Kind = .writearound, sizeBytes: Int = 32 << 20, maxDirtyBytes: Int = 24 << 20,
        targetDirtyBytes: Int = 16 << 20, maxDirtyAge: Double = 1, writethroughUntilFlush: Bool = true
    ) {
        self.enabled = enabled
        self.kind = kind
        self.sizeBytes = sizeBytes
        self.maxDirtyBytes = maxDirtyBytes
        self.targetDirtyBytes = targetDirtyBytes
        self.maxDirtyAge = maxDirtyAge
        self.writethroughUntilFlush = writethroughUntilFlush
    }

    /// No cache (`rbd_cache = false`).
    public static let disabled = CachePolicy(enabled: false)

    /// The dirty limit the cache works with: the writethrough policy allows none.
    public var effectiveMaxDirtyBytes: Int { kind == .writethrough ? 0 : max(0, maxDirtyBytes) }

    /// The mode in force, given whether the image has seen a flush yet.
    public func mode(afterFirstFlush flushed: Bool) -> CacheMode {
        guard enabled else { return .none }
        if effectiveMaxDirtyBytes == 0 { return .writethrough }
        if writethroughUntilFlush && !flushed { return .writethrough }
        return .writeback
    }
}
