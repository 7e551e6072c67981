/// The three ways the image cache can treat writes, as QEMU's `cache=` modes name them.
public enum CacheMode: String, Sendable, Hashable, CaseIterable {
    /// Writes are acknowledged once in the cache; `flush` makes them durable.
    case writeback
    /// Reads may be served from the cache; every write goes to the OSDs before it is acknowledged.
    case writethrough
    /// No cache at all.
    case none
}

/// The cache settings that decide a ``CacheMode``, with librbd's rules.
///
/// Ceph's "QEMU and RBD" guide and `doc/rbd/rbd-config-ref.rst`: writeback is
/// `rbd_cache = true`; writethrough is `rbd_cache = true` with `rbd_cache_max_dirty = 0`;
/// none is `rbd_cache = false`. With `rbd_cache_writethrough_until_flush` (default true)
/// a writeback cache behaves as writethrough until the first flush arrives, so a guest
/// that never flushes cannot lose acknowledged writes (`src/librbd/io/ImageDispatcher.cc`
/// and `src/librbd/cache/WriteAroundObjectDispatch.cc` in Pacific).
public struct CachePolicy: Sendable, Hashable {
    /// `rbd_cache`.
    public var enabled: Bool
    /// `rbd_cache_max_dirty`, in bytes.
    public var maxDirtyBytes: Int
    /// `rbd_cache_writethrough_until_flush`.
    public var writethroughUntilFlush: Bool

    public init(enabled: Bool = true, maxDirtyBytes: Int = 24 << 20, writethroughUntilFlush: Bool = true) {
        self.enabled = enabled
        self.maxDirtyBytes = maxDirtyBytes
        self.writethroughUntilFlush = writethroughUntilFlush
    }

    /// The mode in force, given whether the image has seen a flush yet.
    public func mode(afterFirstFlush flushed: Bool) -> CacheMode {
        guard enabled else { return .none }
        if maxDirtyBytes <= 0 { return .writethrough }
        if writethroughUntilFlush && !flushed { return .writethrough }
        return .writeback
    }
}
