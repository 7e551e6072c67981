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
/// know. When the OSD forgets the watch (this client was away longer than the watch
/// timeout) it watches again every second until it succeeds or is closed, and marks the
/// image for a refresh, since notifications may have been missed (librbd's rewatch and
/// `handle_rewatch_complete`).
final class HeaderWatcher: Sendable {
    /// Who hears about header updates: nobody yet (counting them) or the image.
    private enum Handler {
        case buffering(missed: Bool)
        case attached(@Sendable () -> Void)
    }

    private struct Registration {
        var watch: Watch?
        var isClosed = false
        var loop: Task<Void, Never>?
    }

    let io: IOContext
    let object: String
    private let handler = NIOLockedValueBox(Handler.buffering(missed: false))
    private let registration = NIOLockedValueBox(Registration())

    private init(io: IOContext, object: String) {
        self.io = io
        self.object = object
    }

    /// Watches `object` and starts answering its notifies.
    static func start(_ io: IOContext, object: String) async throws(RADOSError) -> HeaderWatcher {
        let watcher = HeaderWatcher(io: io, object: object)
        let watch = try await io.watch(object)
        let loop = Task { await watcher.run(watch) }
        watcher.registration.withLockedValue {
            $0.watch = watch
            $0.loop = loop
        }
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

    /// The current watch's cookie (it changes when the watch is re-established).
    var cookie: UInt64? { registration.withLockedValue { $0.watch?.cookie } }

    /// Removes the watch and stops answering. Closing twice does nothing.
    func close() async throws(RADOSError) {
        let (watch, loop) = registration.withLockedValue { registration -> (Watch?, Task<Void, Never>?) in
            guard !registration.isClosed else { return (nil, nil) }
            registration.isClosed = true
            defer { registration.watch = nil }
            return (registration.watch, registration.loop)
        }
        defer { loop?.cancel() }
        try await watch?.cancel()
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

    private func run(_ first: Watch) async {
        var watch = first
        while true {
            do {
                for try await notification in watch.notifications {
                    let reaction = ImageNotify.reaction(to: notification.payload)
                    if reaction.refreshRequired { headerChanged() }
                    // A failed ack only makes the notifier wait for its timeout.
                    try? await watch.acknowledge(notification, reply: reaction.reply)
                }
                // The stream ends without an error when the watch is cancelled (close)
                // or the client shuts down: nothing to watch any more.
                return
            } catch {
                // The OSD dropped the watch: watch again below.
            }
            guard let next = await rewatch() else { return }
            watch = next
            headerChanged()
        }
    }

    /// Watches again until it works; nil once closed (or cancelled).
    private func rewatch() async -> Watch? {
        while !Task.isCancelled {
            if registration.withLockedValue({ $0.isClosed }) { return nil }
            if let watch = try? await io.watch(object) {
                let kept = registration.withLockedValue { registration -> Bool in
                    guard !registration.isClosed else { return false }
                    registration.watch = watch
                    return true
                }
                guard kept else {
                    try? await watch.cancel()
                    return nil
                }
                return watch
            }
            try? await Task.sleep(nanoseconds: 1_000_000_000)
        }
        return nil
    }
}
