extension Objecter {
    /// What the Objecter did to keep requests and watches going through map changes and
    /// lost sessions (for tests and diagnostics; counted only on those rare paths).
    package struct Statistics: Sendable, Equatable {
        /// Requests sent again (a map moved them, their session dropped, a backoff ended).
        package var resends: Int
        /// Watch re-registrations started.
        package var watchReconnects: Int
        /// Watch re-registrations sent and not answered yet.
        package var watchReconnectsInFlight: Int
        /// Notify ops sent again because their object's PG started a new interval before
        /// the notify completed.
        package var notifyResends: Int
        /// Watches reported lost to their owners (ENOTCONN and the like: watch again).
        package var watchesLost: Int
        /// Of ``watchesLost``, those whose last watch op failed in the client without an
        /// OSD's answer; the others an OSD declared gone (it answered a reconnect or ping
        /// with an error, or sent a disconnect).
        package var watchesLostUnanswered: Int
    }
}
