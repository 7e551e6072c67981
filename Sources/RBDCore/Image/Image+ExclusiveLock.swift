import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RADOSProto

/// librbd's exclusive lock on an image opened for writing, so that this client and
/// librbd clients (QEMU, `rbd`, python3-rbd) can share an image with the
/// `exclusive-lock` feature: only the owner writes, and the lock moves between clients
/// on request (ceph/ceph `src/librbd/ExclusiveLock.cc`, `src/librbd/ManagedLock.cc`,
/// `src/librbd/managed_lock/{Acquire,Break,GetLocker}Request.cc`,
/// `src/librbd/exclusive_lock/{PostAcquire,PreRelease}Request.cc`,
/// `src/librbd/ImageWatcher.cc`).
///
/// - The lock is lock `rbd_lock` (exclusive, tag `internal`) on `rbd_header.<id>`, taken
///   with the cookie `auto <header watch handle>`, so others find the owner's watch.
/// - It is taken lazily: the first write finds writes blocked (``WriteTracker``; they
///   stay blocked while the lock is not held) and starts the acquisition; the writes
///   queued meanwhile go out in order once it is held.
/// - When the lock is held by a client whose header watch is alive, that client is
///   asked (`REQUEST_LOCK`) and the acquisition retries when it announces
///   `RELEASED_LOCK` (or after `client_notify_timeout`, 10 s). A holder whose watch is
///   gone is blocklisted through the monitor, then its lock is broken.
/// - Once held: the object map is locked and loaded (``ObjectMapBits``), and
///   `ACQUIRED_LOCK` is announced.
/// - A `REQUEST_LOCK` from another client is granted: new writes are held back, the ones
///   in flight drained, the object map and the lock released, `RELEASED_LOCK`
///   announced; writes that queued meanwhile ask for the lock again. Maintenance
///   operations (snapshots, resize, rollback) hold the lock for their whole run, and a
///   request arriving meanwhile is granted when they end.
///
/// The acquisition and release run on tasks (they wait on many round trips); the
/// answers to notifications are given synchronously on the client's event loop.
extension Image {
    /// The exclusive-lock part of the image's mutable state.
    struct LockState: Sendable {
        enum Phase: Sendable, Equatable {
            case unlocked
            case acquiring
            case locked(cookie: String)
            case releasing(cookie: String)

            /// The phase once a release of the held lock begins.
            var releasing: Phase {
                if case .locked(let cookie) = self { return .releasing(cookie: cookie) }
                return self
            }
        }

        var phase: Phase = .unlocked
        /// Another client asked for the lock while an operation held it.
        var releaseRequested = false
        /// The lock is taken and given up only on request of this client
        /// (``Image/acquireExclusiveLock()``, librbd's `StandardPolicy`): other clients'
        /// requests are refused (EROFS) and writes never take it by themselves.
        var manual = false
        /// Maintenance operations running under the lock.
        var operations = 0
        /// Why the last acquisition failed (queued writes fail with it).
        var failure: RADOSError?
        /// `RELEASED_LOCK` notifications seen, and the acquisition waiting for the next.
        var releasedNotifications: UInt64 = 0
        var releaseWaiter: (@Sendable () -> Void)?
        /// Operations waiting for the lock: resumed with nil once it is held (and counted
        /// as running), else with the failure.
        var operationWaiters: [@Sendable (RADOSError?) -> Void] = []

        var isLocked: Bool {
            if case .locked = phase { return true }
            return false
        }

        /// Whether writes may go out: the lock is held, or its release has not yet
        /// drained them.
        var mayWrite: Bool {
            switch phase {
            case .locked, .releasing: return true
            case .unlocked, .acquiring: return false
            }
        }
    }

    /// librbd's `client_notify_timeout`: how long a requester waits for the owner to
    /// announce the release before asking again.
    static let lockRequestRetry: TimeAmount = .seconds(10)
    /// librbd's image watcher notify timeout (5 s) for lock messages.
    static let lockNotifyTimeout: UInt32 = 5

    var objectMapObject: String { RBDObjectNames.objectMap(imageID: id) }

    /// Our identity in lock messages: the client's global id and the header watch handle.
    func lockClientID() -> ImageNotify.ClientID? {
        guard let cookie = headerWatcher?.cookie else { return nil }
        return ImageNotify.ClientID(globalID: metadataIO.instanceID, handle: cookie)
    }

    /// Called once at open for an image that uses the lock: writes stay blocked until
    /// the lock is held, and a write that queues starts the acquisition.
    func setUpExclusiveLock() {
        writes.block {}
        writes.onQueuedWrite { [weak self] in self?.lockWanted() }
        headerWatcher?.onLockMessage { [weak self] payload, later in self?.answerAsLockHolder(payload, later: later) ?? .asNonOwner }
        headerWatcher?.onRewatch { [weak self] handle in await self?.lockCookieChanged(handle: handle) }
    }

    /// The header watch was registered again: a held lock moves to the new cookie
    /// (`ExclusiveLock::reacquire_lock`, cls_lock `set_cookie`). If that fails the lock
    /// was lost (broken by a client that took us for dead): writes wait for it again.
    func lockCookieChanged(handle: UInt64) async {
        guard case .locked(let old) = state.withLockedValue({ $0.lock.phase }) else { return }
        let new = ImageNotify.lockCookie(handle: handle)
        do {
            _ = try await metadataIO.operate(headerObject, [ClsLock.setCookie(name: ImageNotify.lockName, type: .exclusive, cookie: old, tag: ImageNotify.lockTag, newCookie: new)])
            state.withLockedValue { if case .locked = $0.lock.phase { $0.lock.phase = .locked(cookie: new) } }
        } catch {
            let lost = state.withLockedValue { state -> Bool in
                guard case .locked = state.lock.phase else { return false }
                state.lock.phase = .unlocked
                state.objectMap = nil
                return true
            }
            if lost {
                writes.block {}
                if writes.hasQueuedWrites { lockWanted() }
            }
        }
    }

    /// Starts an acquisition unless one runs or the lock is held; in manual mode only
    /// when this client asks (`explicit`), else what waits for the lock fails (EROFS).
    func lockWanted(explicit: Bool = false) {
        enum Next { case none, start, refuse }
        let next = state.withLockedValue { state -> Next in
            guard !state.isClosed, state.lock.phase == .unlocked else { return .none }
            if state.lock.manual && !explicit { return .refuse }
            state.lock.phase = .acquiring
            state.lock.failure = nil
            return .start
        }
        switch next {
        case .none: break
        case .start: Task { await self.acquireLock() }
        case .refuse:
            failAcquire(RADOSError(.permissionDenied, "image \(name): this client released the exclusive lock it had acquired explicitly, so writes do not take it again by themselves: acquire it first", errno: 30))
        }
    }

    /// Whether this client holds the lock now.
    package var ownsExclusiveLock: Bool { state.withLockedValue { $0.lock.isLocked } }

    // MARK: notifications (on the client's loop)

    /// Operations librbd asks the lock owner to perform for it (`ImageWatcher`'s
    /// `handle_payload` for flatten, resize, snapshot create/rename/remove/(un)protect,
    /// object map rebuild, rename, feature update, migrate, sparsify, metadata update).
    static let ownerOperations: Set<ImageNotify.Op> = [
        .flatten, .resize, .snapCreate, .snapRemove, .rebuildObjectMap, .snapRename, .snapProtect,
        .snapUnprotect, .rename, .updateFeatures, .migrate, .sparsify, .metadataUpdate,
    ]

    /// Answers a notify on the header for the exclusive lock's sake (`later` acknowledges
    /// a notify whose answer is deferred).
    ///
    /// Lock messages go to ``handleLockMessage(_:)``; requests meant for the owner to
    /// ``answerOwnerRequest(_:later:)``; the owner's progress and completion messages for
    /// requests of ours to ``asyncUpdateArrived(_:)``.
    func answerAsLockHolder(_ payload: ByteBuffer, later: @escaping HeaderWatcher.Responder) -> HeaderWatcher.LockAnswer {
        guard let message = try? ImageNotify.decodeMessage(payload), let op = message.op else { return .asNonOwner }
        if let lockMessage = try? ImageNotify.decodeLockMessage(message) { return .reply(handleLockMessage(lockMessage)) }
        if let update = try? ImageNotify.decodeAsyncUpdate(message) {
            asyncUpdateArrived(update)
            return .reply(ByteBuffer())
        }
        guard Self.ownerOperations.contains(op) else { return .asNonOwner }
        return answerOwnerRequest(message, later: later)
    }

    /// Answers a lock message from the header's notify channel.
    func handleLockMessage(_ message: ImageNotify.LockMessage) -> ByteBuffer {
        let me = lockClientID()
        if let client = message.client, client == me { return ByteBuffer() }
        switch message.op {
        case .requestLock:
            let (reply, release) = state.withLockedValue { state -> (ByteBuffer, Bool) in
                guard state.lock.isLocked else { return (ByteBuffer(), false) }
                // Taken explicitly: kept (`StandardPolicy::lock_requested`).
                if state.lock.manual { return (ImageNotify.response(-30), false) }
                if state.lock.operations > 0 {
                    state.lock.releaseRequested = true
                    return (ImageNotify.response(0), false)
                }
                state.lock.phase = state.lock.phase.releasing
                return (ImageNotify.response(0), true)
            }
            if release { Task { await self.releaseLock(announce: true) } }
            return reply
        case .releasedLock:
            let waiter = state.withLockedValue { state -> (@Sendable () -> Void)? in
                state.lock.releasedNotifications &+= 1
                defer { state.lock.releaseWaiter = nil }
                return state.lock.releaseWaiter
            }
            waiter?()
            return ByteBuffer()
        default:
            return ByteBuffer()
        }
    }

    // MARK: acquiring

    /// Takes the lock, asking or breaking as librbd does, until it is held or cannot be.
    func acquireLock() async {
        do throws(RADOSError) {
            while true {
                try checkOpen()
                guard let me = lockClientID() else {
                    // The header watch is being registered again: its handle is the cookie.
                    try? await Task.sleep(nanoseconds: 100_000_000)
                    continue
                }
                let cookie = ImageNotify.lockCookie(handle: me.handle)
                do {
                    _ = try await metadataIO.operate(headerObject, [ClsLock.lock(
                        name: ImageNotify.lockName, type: .exclusive, cookie: cookie, tag: ImageNotify.lockTag,
                        description: "", duration: UTime(seconds: 0, nanoseconds: 0), flags: [])])
                } catch where error.errno == 17 {
                    // We hold it already under this cookie.
                } catch where error.errno == 16 {
                    try await lockIsBusy(me)
                    continue
                }
                try await postAcquire(cookie: cookie)
                return
            }
        } catch {
            failAcquire(error)
        }
    }

    /// Who holds the header's lock (librbd's `GetLockerRequest`) and whether its header
    /// watch is alive; nil when nobody does.
    ///
    /// - Throws: EBUSY when the lock is not librbd's exclusive lock (someone took it by
    ///   hand).
    func lockHolder() async throws(RADOSError) -> (locker: ClsLock.Locker, client: ImageNotify.ClientID, alive: Bool)? {
        let output = try await metadataIO.operate(headerObject, [ClsLock.getInfo(name: ImageNotify.lockName)]).first ?? ByteBuffer()
        let info: ClsLock.Info
        do { info = try ClsLock.decodeInfo(output) } catch {
            throw RADOSError(.malformedData, "\(headerObject): the lock information does not decode", details: "\(error)")
        }
        guard let locker = info.lockers.first else { return nil }
        guard info.type == .exclusive, info.tag == ImageNotify.lockTag, let handle = ImageNotify.handle(inLockCookie: locker.cookie) else {
            throw RADOSError(.clusterError, "image \(name) is locked by \(locker.entity) with cookie '\(locker.cookie)', which is not librbd's exclusive lock: remove that lock ('rbdctl lock rm') to write", errno: 16)
        }
        let client = ImageNotify.ClientID(globalID: UInt64(bitPattern: Int64(locker.entity.number)), handle: handle)
        let watchers = try await metadataIO.watchers(headerObject)
        let alive = watchers.contains { client.globalID == $0.gid && $0.cookie == handle }
        return (locker, client, alive)
    }

    /// The lock is held by someone else: ask its owner, or break it if the owner is gone.
    private func lockIsBusy(_ me: ImageNotify.ClientID) async throws(RADOSError) {
        guard let (locker, _, alive) = try await lockHolder() else { return }  // released meanwhile: try again
        if alive {
            try await requestLock(from: locker.entity, me: me)
        } else {
            // As librbd with its defaults (`rbd_blocklist_on_break_lock` true,
            // `rbd_blocklist_expire_seconds` 0: the monitor's expiry): a client that only
            // seemed dead must not write after us.
            try await metadataIO.blocklist(address: locker.address.legacyDescription)
            do {
                _ = try await metadataIO.operate(headerObject, [ClsLock.breakLock(name: ImageNotify.lockName, locker: locker.entity, cookie: locker.cookie)])
            } catch where error.errno == 2 {}  // Gone already.
        }
    }

    /// Sends `REQUEST_LOCK` and waits for the owner's `RELEASED_LOCK` (or the retry time).
    private func requestLock(from owner: NumericEntityName, me: ImageNotify.ClientID) async throws(RADOSError) {
        let seen = state.withLockedValue { $0.lock.releasedNotifications }
        let result = try await metadataIO.notify(headerObject, payload: ImageNotify.requestLock(me, force: false), timeout: Self.lockNotifyTimeout)
        var response: Int32?
        for ack in result.acks where ack.gid == UInt64(bitPattern: Int64(owner.number)) {
            response = (try? ImageNotify.decodeResponse(ack.reply)) ?? nil
        }
        if let response, response == -30 {
            throw RADOSError(.permissionDenied, "image \(name) is locked exclusively by \(owner), which does not give the lock up", errno: 30)
        }
        await waitForRelease(after: seen, timeout: response == nil ? .seconds(1) : Self.lockRequestRetry)
    }

    /// Returns once a `RELEASED_LOCK` newer than `seen` arrived, the image is closed, or
    /// `timeout` passed.
    private func waitForRelease(after seen: UInt64, timeout: TimeAmount) async {
        let loop = metadataIO.eventLoop
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceFlag()
            let resume: @Sendable () -> Void = { if once.claim() { continuation.resume() } }
            let now = state.withLockedValue { state -> Bool in
                if state.lock.releasedNotifications != seen || state.isClosed { return true }
                state.lock.releaseWaiter = resume
                return false
            }
            if now { return resume() }
            loop.scheduleTask(in: timeout) { resume() }
        }
    }

    /// After the header lock is held: the object map is locked and loaded, writes are let
    /// through, the operations waiting are resumed, the other clients are told.
    private func postAcquire(cookie: String) async throws(RADOSError) {
        var map: ObjectMapBits?
        if info.features.contains(.objectMap) {
            do throws(RADOSError) {
                map = try await openObjectMap()
            } catch {
                _ = try? await metadataIO.operate(headerObject, [ClsLock.unlock(name: ImageNotify.lockName, cookie: cookie)])
                throw error
            }
        }
        let waiters = state.withLockedValue { state -> [@Sendable (RADOSError?) -> Void] in
            state.lock.phase = .locked(cookie: cookie)
            state.objectMap = map
            state.lock.operations += state.lock.operationWaiters.count
            defer { state.lock.operationWaiters = [] }
            return state.lock.operationWaiters
        }
        writes.unblock()
        for waiter in waiters { waiter(nil) }
        if let me = lockClientID() {
            let io = metadataIO, object = headerObject
            Task { _ = try? await io.notify(object, payload: ImageNotify.acquiredLock(me), timeout: Self.lockNotifyTimeout) }
        }
    }

    /// The acquisition failed: the writes queued for it and the operations waiting fail
    /// with `error`; the next write tries again.
    func failAcquire(_ error: RADOSError) {
        let waiters = state.withLockedValue { state -> [@Sendable (RADOSError?) -> Void] in
            state.lock.phase = .unlocked
            state.lock.failure = error
            defer { state.lock.operationWaiters = [] }
            return state.lock.operationWaiters
        }
        for waiter in waiters { waiter(error) }
        // Let the queued writes through to fail on the missing lock, then block again.
        writes.unblock()
        writes.block {}
    }

    // MARK: releasing

    /// Gives the lock up: holds new writes back, drains the ones in flight, unlocks the
    /// object map and the header lock, tells the others (`announce`). Writes that queued
    /// meanwhile ask for the lock again.
    func releaseLock(announce: Bool) async {
        // This block stays as the one writes wait behind while the lock is not held.
        await writes.blockAndDrain()
        // The cache's dirty data goes out while the lock is still ours, and the cache
        // forgets what another owner may change (librbd's `PreReleaseRequest`).
        try? await flushCacheForMaintenance()
        try? await cache?.invalidate()
        let cookie = state.withLockedValue { state -> String? in
            switch state.lock.phase {
            case .locked(let cookie), .releasing(let cookie): return cookie
            default: return nil
            }
        }
        state.withLockedValue { $0.lock.phase = $0.lock.phase.releasing }
        if info.features.contains(.objectMap) {
            _ = try? await metadataIO.operate(objectMapObject, [ClsLock.unlock(name: ImageNotify.lockName, cookie: "")])
        }
        if let cookie {
            _ = try? await metadataIO.operate(headerObject, [ClsLock.unlock(name: ImageNotify.lockName, cookie: cookie)])
        }
        state.withLockedValue { state in
            state.lock.phase = .unlocked
            state.lock.releaseRequested = false
            state.objectMap = nil
        }
        if announce, let me = lockClientID() {
            _ = try? await metadataIO.notify(headerObject, payload: ImageNotify.releasedLock(me), timeout: Self.lockNotifyTimeout)
        }
        if writes.hasQueuedWrites { lockWanted() }
    }

    // MARK: maintenance operations

    /// Runs `body` holding the lock (taking it first if needed), as librbd's maintenance
    /// operations do; a request for the lock meanwhile is granted when it ends. Without
    /// the exclusive-lock feature it just runs `body`.
    func withExclusiveLock<T: Sendable>(_ body: () async throws(RADOSError) -> T) async throws(RADOSError) -> T {
        guard usesExclusiveLock else { return try await body() }
        try await holdLockForOperation()
        defer { endLockedOperation() }
        return try await body()
    }

    func holdLockForOperation(explicit: Bool = false) async throws(RADOSError) {
        let error: RADOSError? = await withCheckedContinuation { (continuation: CheckedContinuation<RADOSError?, Never>) in
            enum Next { case now, wait, start }
            let next = state.withLockedValue { state -> Next in
                if state.isClosed { return .now }
                if state.lock.isLocked {
                    state.lock.operations += 1
                    return .now
                }
                state.lock.operationWaiters.append { continuation.resume(returning: $0) }
                return state.lock.phase == .unlocked ? .start : .wait
            }
            switch next {
            case .now: continuation.resume(returning: nil)
            case .start: lockWanted(explicit: explicit)
            case .wait: break
            }
        }
        if let error { throw error }
        try checkOpen()
    }

    func endLockedOperation() {
        let release = state.withLockedValue { state -> Bool in
            state.lock.operations -= 1
            guard state.lock.operations == 0, state.lock.releaseRequested, state.lock.isLocked else { return false }
            state.lock.phase = state.lock.phase.releasing
            return true
        }
        if release { Task { await self.releaseLock(announce: true) } }
    }
}

/// A flag that one caller claims (resuming a continuation exactly once from racing
/// callbacks).
final class OnceFlag: Sendable {
    private let claimed = NIOLockedValueBox(false)

    /// True for the first caller only.
    func claim() -> Bool {
        claimed.withLockedValue { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}
