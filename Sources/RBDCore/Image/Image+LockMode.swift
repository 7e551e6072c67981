import RADOSProto

/// Taking the exclusive lock explicitly and keeping it, like librbd's `rbd_lock_acquire`
/// and `rbd_lock_release` (`src/librbd/internal.cc` `lock_acquire`/`lock_release`,
/// `src/librbd/exclusive_lock/StandardPolicy.cc`) and `rbd device map -o exclusive`.
///
/// By default the lock moves between clients on request (Image+ExclusiveLock.swift).
/// Once taken explicitly, other clients' requests are answered EROFS and the lock stays
/// until ``releaseExclusiveLock()`` or ``close()``; after a release, writes fail (EROFS)
/// instead of taking it back by themselves, as with librbd's standard policy.
extension Image {
    /// Takes the exclusive lock (asking its owner for it, or breaking a dead owner's, as
    /// writes do) and keeps it: requests from other clients are refused.
    ///
    /// - Throws: ``RADOSError`` `.invalidArgument` (EINVAL) when the image has no
    ///   exclusive-lock feature or is open read-only; EROFS when another client holds
    ///   the lock the same way.
    public func acquireExclusiveLock() async throws(RADOSError) {
        try checkOpen()
        guard usesExclusiveLock else {
            throw RADOSError(.invalidArgument, "image \(name) is open read-only or has no exclusive-lock feature: there is no exclusive lock to acquire", errno: 22)
        }
        state.withLockedValue { $0.lock.manual = true }
        try await holdLockForOperation(explicit: true)
        endLockedOperation()
    }

    /// Gives up a lock taken with ``acquireExclusiveLock()`` (writes in flight finish
    /// first, the cache is written back, the other clients are told).
    ///
    /// - Throws: ``RADOSError`` `.invalidArgument` (EINVAL) when this client does not
    ///   hold the lock.
    public func releaseExclusiveLock() async throws(RADOSError) {
        try checkOpen()
        enum Next { case now, later, notHeld }
        let next = state.withLockedValue { state -> Next in
            guard usesExclusiveLock, state.lock.isLocked else { return .notHeld }
            if state.lock.operations > 0 {
                state.lock.releaseRequested = true
                return .later
            }
            state.lock.phase = state.lock.phase.releasing
            return .now
        }
        switch next {
        case .notHeld: throw RADOSError(.invalidArgument, "image \(name): this client does not hold the exclusive lock", errno: 22)
        case .later: return
        case .now: await releaseLock(announce: true)
        }
    }
}
