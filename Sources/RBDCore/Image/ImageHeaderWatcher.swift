import NIOConcurrencyHelpers
import NIOCore
import RADOSProto

/// The watch an image open for writing keeps on `rbd_header.<id>`, like librbd's
/// `ImageWatcher` (ceph/ceph `src/librbd/ImageWatcher.cc`, `src/librbd/Watcher.cc`).
///
/// It exists so that other clients' header changes reach the open image: every notify
/// is answered as a client that does not own the exclusive lock answers it
/// (``ImageNotify/reaction(to:)``), and a header update first marks the image as needing
/// a refresh, then is acknowledged, so the notifier's operation returns only once we
/// know. Notifications are answered on the client's event loop, synchronously (a
/// callback watch, ``IOContext/watch(_:timeout:onNotify:onLost:)``), so a busy Swift
/// cooperative pool cannot hold an ack back past the notifier's timeout. When the OSD
/// forgets the watch (this client was away longer than the watch timeout) it watches
/// again every second until it succeeds or is closed, and marks the image for a
/// refresh, since notifications may have been missed (librbd's rewatch and
/// `handle_rewatch_complete`).
final class HeaderWatcher: Sendable {
    /// Who hears about header updates: nobody yet (counting them) or the image.
    private enum Handler {
        case buffering(missed: Bool)
        case attached(@Sendable () -> Void)
    }

    private struct Registration {
        /// The current watch's cookie (nil while watching again, or once closed).
        var cookie: UInt64?
        var isClosed = false
        /// Watching again after a loss.
        var rewatch: Task<Void, Never>?
    }

    let io: IOContext
    let object: String
    private let handler = NIOLockedValueBox(Handler.buffering(missed: false))
    /// How the image answers a notify for the exclusive lock's sake.
    enum LockAnswer: Sendable {
        /// Acknowledge with this reply now.
        case reply(ByteBuffer)
        /// The image acknowledges later, through the responder it was given.
        case deferred
        /// Not the lock's business: answer as a client that does not own the lock.
        case asNonOwner
    }

    /// Acknowledges one deferred notify with a reply (from any thread, once).
    typealias Responder = @Sendable (ByteBuffer) -> Void

    /// Who answers lock messages (the image, when it uses the exclusive lock).
    private let lockHandler = NIOLockedValueBox<(@Sendable (ByteBuffer, @escaping Responder) -> LockAnswer)?>(nil)
    private let registration = NIOLockedValueBox(Registration())

    private init(io: IOContext, object: String) {
        self.io = io
        self.object = object
    }

    /// Watches `object` and starts answering its notifies.
    static func start(_ io: IOContext, object: String) async throws(RADOSError) -> HeaderWatcher {
        let watcher = HeaderWatcher(io: io, object: object)
        let cookie = try await watcher.watch()
        watcher.registration.withLockedValue { $0.cookie = cookie }
        return watcher
    }

    /// Hands header updates to `onUpdate` from now on; calls it at once if one arrived
    /// before (the header the image read may predate it).
    func attach(_ onUpdate: @escaping @Sendable () -> Void) {
        let missed = handler.withLockedValue { handler -> Bool in
            defer { handler = .attached(onUpdate) }
            if case .buffering(let missed) = handler { return missed }
            return false
        }
        if missed { onUpdate() }
    }

    /// Told (off the loop) when the watch was registered again under a new cookie.
    private let rewatchHandler = NIOLockedValueBox<(@Sendable (_ new: UInt64) async -> Void)?>(nil)

    func onRewatch(_ handler: @escaping @Sendable (_ new: UInt64) async -> Void) {
        rewatchHandler.withLockedValue { $0 = handler }
    }

    /// Hands every notify to `answer` first (the exclusive lock's messages, and requests
    /// meant for the lock owner), with a responder for an answer it gives later.
    func onLockMessage(_ answer: @escaping @Sendable (ByteBuffer, @escaping Responder) -> LockAnswer) {
        lockHandler.withLockedValue { $0 = answer }
    }

    /// The current watch's cookie (it changes when the watch is re-established).
    var cookie: UInt64? { registration.withLockedValue { $0.cookie } }

    /// Removes the watch and stops answering. Closing twice does nothing.
    func close() async throws(RADOSError) {
        let (cookie, rewatch) = registration.withLockedValue { registration -> (UInt64?, Task<Void, Never>?) in
            guard !registration.isClosed else { return (nil, nil) }
            registration.isClosed = true
            defer { registration.cookie = nil }
            return (registration.cookie, registration.rewatch)
        }
        rewatch?.cancel()
        if let cookie { try await io.unwatch(object, cookie: cookie) }
    }

    private func headerChanged() {
        let onUpdate = handler.withLockedValue { handler -> (@Sendable () -> Void)? in
            switch handler {
            case .buffering:
                handler = .buffering(missed: true)
                return nil
            case .attached(let onUpdate):
                return onUpdate
            }
        }
        onUpdate?()
    }

    /// One registration on the OSD, answered on the client's loop.
    private func watch() async throws(RADOSError) -> UInt64 {
        let io = self.io, object = self.object
        return try await io.watch(
            object,
            onNotify: { [weak self] notification in
                if let answer = self?.lockHandler.withLockedValue({ $0 }) {
                    let responder: Responder = { reply in
                        io.acknowledgeNotify(object, notifyID: notification.notifyID, cookie: notification.cookie, reply: reply)
                    }
                    switch answer(notification.payload, responder) {
                    case .reply(let reply): return reply
                    case .deferred: return nil
                    case .asNonOwner: break
                    }
                }
                let reaction = ImageNotify.reaction(to: notification.payload)
                if reaction.refreshRequired { self?.headerChanged() }
                return reaction.reply
            },
            onLost: { [weak self] _ in self?.lost() })
    }

    /// The watch was lost: watch again (off the loop; it may take a while).
    private func lost() {
        registration.withLockedValue { registration in
            guard !registration.isClosed, registration.rewatch == nil else { return }
            let old = registration.cookie
            registration.cookie = nil
            registration.rewatch = Task { await self.rewatch(replacing: old) }
        }
    }

    /// Watches again every second until it works or the watcher is closed; then marks
    /// the image for a refresh (notifications may have been missed meanwhile). The lost
    /// watch is removed first, as librbd's `Watcher::rewatch` does: when the loss was
    /// ours (a ping that failed in the client), the OSD may still hold it, disconnected,
    /// until its timeout, and `rbd rm` would see a watcher nobody answers for.
    private func rewatch(replacing old: UInt64?) async {
        if let old { try? await io.unwatch(object, cookie: old) }
        while !Task.isCancelled {
            if registration.withLockedValue({ $0.isClosed }) { return }
            if let cookie = try? await watch() {
                let kept = registration.withLockedValue { registration -> Bool in
                    registration.rewatch = nil
                    guard !registration.isClosed else { return false }
                    registration.cookie = cookie
                    return true
                }
                if kept {
                    await rewatchHandler.withLockedValue({ $0 })?(cookie)
                    headerChanged()
                } else {
                    try? await io.unwatch(object, cookie: cookie)
                }
                return
            }
            try? await Task.sleep(nanoseconds: 1_000_000_000)
        }
    }
}
