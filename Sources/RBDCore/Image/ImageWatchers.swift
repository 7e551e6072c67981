import NIOCore
import RADOSProto

/// Who has the image open: the watchers of its header object. librbd keeps a watch on
/// the header while an image is open and refreshes its view (size, snap context) when a
/// `HEADER_UPDATE` notify arrives (`src/librbd/ImageWatcher.cc`).
///
/// SwiftRBD does not send that notify yet, so a client with the image open would keep
/// writing with a stale snap context or size after we took a snapshot, resized or rolled
/// back. Those operations are therefore refused while anyone watches the header; `rbd
/// rm` refuses the same way (`src/librbd/image/RemoveRequest.cc`, `list_image_watchers`).
extension Image {
    /// The header's watchers.
    package func watchers() async throws(RADOSError) -> WatcherList {
        let output = try await metadataIO.operate(headerObject, [.listWatchers])
        do {
            return try WatcherList.decode(output.first ?? ByteBuffer())
        } catch {
            throw (error as? DencError)?.radosError ?? RADOSError(.malformedData, "the watcher list of \(headerObject) does not decode")
        }
    }

    /// Refuses `action` with EBUSY while another client has the image open.
    func checkNotInUse(_ action: String) async throws(RADOSError) {
        let list = try await watchers().watchers
        guard list.isEmpty else {
            let who = list.map { "\($0.entity)" }.joined(separator: ", ")
            throw RADOSError(.clusterError, "image \(name) is open by \(who); SwiftRBD cannot yet tell open clients to refresh, so it does not \(action) an image in use: close it first", errno: 16)
        }
    }
}
