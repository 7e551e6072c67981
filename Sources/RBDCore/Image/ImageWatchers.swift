import NIOCore
import RADOSProto

/// Who has the image open (the watchers of its header object), and telling them that
/// the header changed.
///
/// librbd keeps a watch on the header while an image is open for writing and rereads
/// the header when a `HEADER_UPDATE` notify arrives (`src/librbd/ImageWatcher.cc`); a
/// client that changed the header sends that notify (`Operations.cc`, `C_NotifyUpdate`
/// → `ImageCtx::notify_update`). `rbd rm` refuses an image that someone other than the
/// remover has open (`src/librbd/image/PreRemoveRequest.cc` with
/// `LIST_WATCHERS_FILTER_OUT_MY_INSTANCE`).
extension Image {
    /// How long a header-update notify waits for the watchers' acknowledgements
    /// (`watcher::Notifier::NOTIFY_TIMEOUT`, 5 s).
    static let notifyTimeoutSeconds: UInt32 = 5

    /// The header's watchers.
    package func watchers() async throws(RADOSError) -> WatcherList {
        let output = try await metadataIO.operate(headerObject, [.listWatchers])
        do {
            return try WatcherList.decode(output.first ?? ByteBuffer())
        } catch {
            throw (error as? DencError)?.radosError ?? RADOSError(.malformedData, "the watcher list of \(headerObject) does not decode")
        }
    }

    /// The header's watchers other than this image's own watch.
    package func otherWatchers() async throws(RADOSError) -> [WatcherList.Watcher] {
        let own = headerWatcher?.cookie
        let gid = metadataIO.instanceID
        return try await watchers().watchers.filter { UInt64(bitPattern: $0.entity.number) != gid || $0.cookie != own }
    }

    /// After an operation changed the header: tells every client with the image open
    /// (`HEADER_UPDATE`, answered within ``notifyTimeoutSeconds`` or not at all) and
    /// rereads it ourselves. Like librbd, a watcher that does not answer in time or a
    /// header that is gone do not fail the operation.
    func headerChanged() async throws(RADOSError) {
        var failure: RADOSError?
        do {
            _ = try await metadataIO.notify(headerObject, payload: ImageNotify.headerUpdate(), timeout: Self.notifyTimeoutSeconds)
        } catch where error.code == .notFound || error.errno == 110 {
        } catch {
            failure = error
        }
        try await refresh()
        if let failure { throw failure }
    }
}
