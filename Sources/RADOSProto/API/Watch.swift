import NIOCore

/// A notification delivered to a watch (`rados_watchcb2_t`'s arguments).
public struct WatchNotification: Sendable {
    /// The notify's id; pass it back with ``Watch/acknowledge(_:reply:)``.
    public var notifyID: UInt64
    /// The cookie of the watch it was delivered to.
    public var cookie: UInt64
    /// Global id of the notifying client (`client.<gid>`).
    public var notifierGID: UInt64
    /// What the notifier sent.
    public var payload: ByteBuffer
}

/// The outcome of a notify: each watcher's reply, and the watchers that did not
/// acknowledge in time (librados reports ETIMEDOUT in that case; here it is data).
public struct NotifyResult: Sendable {
    public struct Ack: Sendable {
        public var gid: UInt64
        public var cookie: UInt64
        public var reply: ByteBuffer
    }

    public var acks: [Ack]
    /// (gid, cookie) of each watcher that missed the timeout.
    public var timedOut: [(gid: UInt64, cookie: UInt64)]
}

/// A watch on an object: the OSD sends it every notify on the object until it is
/// cancelled, like librados' `rados_watch2`.
///
/// It exists so that a client learns of changes other clients announce (RBD image
/// headers use it). The registration lives in the OSD as long as the client keeps its
/// session and the object's PG stays in one interval; after a reconnect, or a map
/// change that moves the PG's primary, acting or up set, the client re-registers it. A
/// notification the OSD sends again to the re-registered watch is delivered once. If
/// the OSD forgets it (the client was away longer than the watch
/// timeout), ``notifications`` ends with a ``RADOSError`` (`.connectionFailed`,
/// ENOTCONN): watch again.
///
/// ```swift
/// let watch = try await io.watch("header")
/// for try await note in watch.notifications {
///     try await watch.acknowledge(note, reply: ByteBuffer(string: "seen"))
/// }
/// ```
public struct Watch: Sendable {
    let io: IOContext
    /// The watched object.
    public let object: String
    /// The watch's cookie (what notifiers see in their ``NotifyResult``).
    public let cookie: UInt64
    /// Notifications in arrival order; each must be acknowledged, or the notifier
    /// waits until its timeout.
    public let notifications: AsyncThrowingStream<WatchNotification, any Error>

    /// Acknowledges `notification`, with an optional reply the notifier receives.
    public func acknowledge(_ notification: WatchNotification, reply: ByteBuffer = ByteBuffer()) async throws(RADOSError) {
        _ = try await io.operate(object, [.notifyAck(notifyID: notification.notifyID, cookie: notification.cookie, reply: reply)])
    }

    /// Removes the watch from the OSD and ends ``notifications``.
    public func cancel() async throws(RADOSError) {
        try await io.unwatch(object, cookie: cookie)
    }
}

extension IOContext {
    /// Watches `object` (which must exist: ENOENT otherwise).
    ///
    /// - Parameters:
    ///   - object: the object to watch.
    ///   - timeout: seconds the OSD keeps the watch after losing our session (0: the
    ///     OSD's `osd_client_watch_timeout`, 30 s).
    public func watch(_ object: String, timeout: UInt32 = 0) async throws(RADOSError) -> Watch {
        let (cookie, events) = await objecter.registerWatch(pool: poolID, namespace: namespace, object: object, timeout: timeout)
        try await register(cookie: cookie, on: object, timeout: timeout)
        let notifications = AsyncThrowingStream<WatchNotification, any Error> { continuation in
            let forward = Task {
                do {
                    for try await event in events {
                        continuation.yield(WatchNotification(notifyID: event.notifyID, cookie: event.cookie, notifierGID: event.notifierGID, payload: event.payload))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in forward.cancel() }
        }
        return Watch(io: self, object: object, cookie: cookie, notifications: notifications)
    }

    /// Watches `object` with its notifications answered on the client's event loop:
    /// `onNotify` runs there for each notification and returns the reply its ack carries
    /// (it must not block or wait), or nil to acknowledge later with
    /// ``acknowledgeNotify(_:notifyID:cookie:reply:)`` (a reply that is the result of
    /// some work); `onLost` runs there if the OSD drops the watch (watch again). For
    /// layers that must answer even while Swift's cooperative pool is busy, as an image's
    /// header watch must (a notifier gives up after its timeout). Returns the watch's
    /// cookie; end it with ``unwatch(_:cookie:)``.
    package func watch(
        _ object: String, timeout: UInt32 = 0,
        onNotify: @escaping @Sendable (WatchNotification) -> ByteBuffer?,
        onLost: @escaping @Sendable (RADOSError) -> Void
    ) async throws(RADOSError) -> UInt64 {
        let callbacks = Objecter.WatchCallbacks(
            notify: { event in
                onNotify(WatchNotification(notifyID: event.notifyID, cookie: event.cookie, notifierGID: event.notifierGID, payload: event.payload))
            },
            lost: onLost)
        let cookie = await objecter.registerWatch(pool: poolID, namespace: namespace, object: object, timeout: timeout, callbacks: callbacks)
        try await register(cookie: cookie, on: object, timeout: timeout)
        return cookie
    }

    /// Acknowledges notification `notifyID` to watch `cookie` on `object` with `reply`,
    /// for a watcher whose `onNotify` deferred its answer. From any thread; a failure is
    /// not reported (the notifier then counts this watcher as timed out).
    package func acknowledgeNotify(_ object: String, notifyID: UInt64, cookie: UInt64, reply: ByteBuffer) {
        operate(object, [.notifyAck(notifyID: notifyID, cookie: cookie, reply: reply)], snapID: MOSDOp.noSnap) { _ in }
    }

    /// Sends the watch op for a watch the Objecter tracks as `cookie`; forgets it if the
    /// OSD refuses.
    private func register(cookie: UInt64, on object: String, timeout: UInt32) async throws(RADOSError) {
        do {
            _ = try await operate(object, [.watch(cookie: cookie, .watch, timeout: timeout)])
        } catch {
            await objecter.removeWatch(cookie: cookie)
            throw error
        }
        await objecter.watchRegistered(cookie: cookie)
    }

    /// Removes watch `cookie` on `object` from the OSD and stops tracking it.
    package func unwatch(_ object: String, cookie: UInt64) async throws(RADOSError) {
        do {
            _ = try await operate(object, [.watch(cookie: cookie, .unwatch)])
        } catch {
            await objecter.removeWatch(cookie: cookie)
            throw error
        }
        await objecter.removeWatch(cookie: cookie)
    }

    /// Notifies every watcher of `object` with `payload` and waits until all have
    /// acknowledged or `timeout` seconds have passed (`rados_notify2`).
    ///
    /// If the object's PG starts a new interval before the notify completes, the OSD
    /// forgets the pending notify; it is sent again, like librados does, so watchers may
    /// see it twice (under two notify ids) and the result is the last run's.
    public func notify(_ object: String, payload: ByteBuffer = ByteBuffer(), timeout: UInt32 = 10) async throws(RADOSError) -> NotifyResult {
        let cookie = await objecter.registerNotify(pool: poolID, namespace: namespace, object: object, payload: payload, timeout: timeout)
        let notifyID: UInt64?
        do {
            let output = try await operate(object, [.notify(cookie: cookie, payload: payload, timeout: timeout)]).first
            notifyID = output.flatMap { try? NotifyID.decode($0) }
        } catch {
            await objecter.forgetNotify(cookie: cookie)
            throw error
        }
        let message: MWatchNotify
        let completion: NotifyCompletion
        do {
            message = try await objecter.notifyCompletion(cookie: cookie, notifyID: notifyID, seconds: Double(timeout) + 15)
            completion = try message.completion()
        } catch {
            throw error as? RADOSError ?? Self.decodeFailure(error)
        }
        if message.returnCode < 0, message.returnCode != -110 {
            throw Self.error(errno: -message.returnCode, object: object)
        }
        return NotifyResult(
            acks: completion.acks.map { NotifyResult.Ack(gid: $0.gid, cookie: $0.cookie, reply: $0.reply) },
            timedOut: completion.timedOut.map { ($0.gid, $0.cookie) })
    }
}

/// One watch registered on an object (`rados_list_watchers` output).
public struct WatcherInfo: Sendable, Hashable {
    /// The watching client's global id (`client.<gid>`).
    public var gid: UInt64
    public var cookie: UInt64
    /// Seconds the OSD keeps the watch after losing the client's session.
    public var timeoutSeconds: UInt32
    /// The client's address as Ceph prints it (`127.0.0.1:0/701298355`), "" if unknown.
    public var address: String
}

extension IOContext {
    /// The watches registered on `object` (`rados listwatchers`).
    public func watchers(_ object: String) async throws(RADOSError) -> [WatcherInfo] {
        let output = try await operate(object, [.listWatchers]).first ?? ByteBuffer()
        do {
            return try WatcherList.decode(output).watchers.map {
                WatcherInfo(gid: UInt64(bitPattern: $0.entity.number), cookie: $0.cookie, timeoutSeconds: $0.timeoutSeconds, address: $0.address?.description ?? "")
            }
        } catch {
            throw Self.decodeFailure(error)
        }
    }
}
