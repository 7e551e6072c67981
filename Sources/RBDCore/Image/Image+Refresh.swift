import RADOSProto

/// Keeping an open image's view of its header current, like librbd's `ImageState`
/// (ceph/ceph `src/librbd/ImageState.cc`: `handle_update_notification`,
/// `is_refresh_required`, `refresh_if_required`).
///
/// A header-change notification only bumps a sequence number (``HeaderWatcher`` does it
/// before acknowledging, so the notifier's operation has not returned before we know).
/// The I/O path already copies the image's state under its lock once per request; the
/// same copy says whether a refresh is due, so a request pays nothing more until one is.
/// Then the requests that noticed share one reread of the header and snapshots.
extension Image {
    /// Whether another client changed the header since it was last read (a refresh is
    /// due before the next I/O or operation, which do it themselves).
    public var isRefreshRequired: Bool { state.withLockedValue { $0.updateSeq != $0.refreshedSeq } }

    /// Rereads the header and the snapshots (after another client changed the image, or
    /// after an operation of ours that changed it).
    public func refresh() async throws(RADOSError) {
        try checkOpen()
        let (ticket, seq) = state.withLockedValue { state in
            state.refreshesStarted &+= 1
            return (state.refreshesStarted, state.updateSeq)
        }
        let fresh = try await Self.loadState(metadataIO, name: name, id: id)
        state.withLockedValue { state in
            // A reread that started earlier but finished later is older: drop it.
            guard ticket > state.refreshApplied else { return }
            state.refreshApplied = ticket
            state.info = fresh.info
            state.layout = fresh.layout
            state.snapshots = fresh.snapshots
            state.refreshedSeq = seq
        }
    }

    /// Rereads the header if a notification said it changed (`refresh_if_required`);
    /// callers that find the same notification pending share one reread.
    public func refreshIfRequired() async throws(RADOSError) {
        let task = state.withLockedValue { state -> Task<Result<Void, RADOSError>, Never>? in
            guard state.updateSeq != state.refreshedSeq else { return nil }
            if let pending = state.pendingRefresh, pending.seq == state.updateSeq { return pending.task }
            let seq = state.updateSeq
            let task = Task { () -> Result<Void, RADOSError> in
                let result: Result<Void, RADOSError>
                do throws(RADOSError) {
                    try await self.refresh()
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                self.state.withLockedValue { if $0.pendingRefresh?.seq == seq { $0.pendingRefresh = nil } }
                return result
            }
            state.pendingRefresh = PendingRefresh(seq: seq, task: task)
            return task
        }
        guard let task else { return }
        try await task.value.get()
    }

    /// The slow path of a request whose state copy said ``State/needsAttention``: fails
    /// on a closed image, else refreshes.
    func prepareForIO() async throws(RADOSError) {
        try checkOpen()
        try await refreshIfRequired()
    }

    /// Fails (ESHUTDOWN) once ``close()`` was called.
    func checkOpen() throws(RADOSError) {
        if state.withLockedValue({ $0.isClosed }) {
            throw RADOSError(.invalidArgument, "image \(name) is closed: open it again to use it", errno: 108)
        }
    }
}
